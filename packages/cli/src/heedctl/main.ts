import { status } from "@grpc/grpc-js";
import { HeedError, InvalidInputError } from "@heed/shared";
import { Command, Option } from "commander";
import { commanderExitCode } from "../commander-exit.js";
import { RpcError } from "./client.js";
import { crawlCommands } from "./commands/crawls.js";
import { hostCommands } from "./commands/hosts.js";
import { shardCommands } from "./commands/shards.js";
import { logLevelCommand, statsCommand } from "./commands/stats.js";
import { urlCommands } from "./commands/urls.js";
import { watchCommand } from "./commands/watch.js";
import { workerCommands } from "./commands/workers.js";
import { CTL_EXIT } from "./context.js";
import { printErr } from "./output.js";

/** gRPC codes by what the caller should do: fix the input (2), check the connection or token (3). */
const BAD_INPUT = new Set([
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.OUT_OF_RANGE,
]);
const UNREACHABLE = new Set([
  status.UNAVAILABLE,
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
  status.DEADLINE_EXCEEDED,
]);

export function exitCodeOf(err: unknown): number {
  if (err instanceof RpcError) {
    if (BAD_INPUT.has(err.grpcCode)) return CTL_EXIT.badInput;
    if (UNREACHABLE.has(err.grpcCode)) return CTL_EXIT.unreachable;
    return CTL_EXIT.failure;
  }
  if (err instanceof InvalidInputError) return CTL_EXIT.badInput;
  return CTL_EXIT.failure;
}

export function heedctlProgram(): Command {
  const program = new Command("heedctl")
    .description("Operate Heed crawls through a coordinator's admin API")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride()
    .option(
      "--server <host:port>",
      "the coordinator's gRPC address [env HEED_SERVER] (default 127.0.0.1:7400)",
    )
    .option("--token-file <file>", "file with the bearer token (or HEED_TOKEN)")
    .option("--tls", "use TLS, trusting the system's CAs")
    .option("--ca-file <file>", "use TLS, trusting this CA")
    .option("--cert-file <file>", "client certificate (coordinators that require mTLS)")
    .option("--key-file <file>", "client key (coordinators that require mTLS)")
    .addOption(new Option("--rpc-timeout-ms <ms>", "deadline of each call").hideHelp())
    .option(
      "--config <file>",
      "JSON file with server, tokenFile, caFile, certFile, keyFile, tls [env HEEDCTL_CONFIG]",
    )
    .option("--json", "machine-readable output on stdout")
    .addHelpText(
      "after",
      `
Exit codes: 0 ok, 1 failure, 2 bad input (including unknown crawls), 3 the
coordinator cannot be reached or refused the token.

Examples:
  export HEED_SERVER=coordinator.internal:7400 HEED_TOKEN=$(cat ~/.heed/operator-token)
  heedctl crawl create https://example.org/ --contact webarchive@example.org --id library-2026-11
  heedctl watch library-2026-11
  heedctl hosts block example.org --reason "owner asked, ticket 4711"
  heedctl export library-2026-11 > urls.ndjson
  heedctl workers drain --all`,
    );
  crawlCommands(program);
  hostCommands(program);
  urlCommands(program);
  watchCommand(program);
  statsCommand(program);
  workerCommands(program);
  shardCommands(program);
  logLevelCommand(program);
  return program;
}

/**
 * grpc-js sends an IP address target as the TLS server name, which Node flags
 * once per process (DEP0123) on stderr. The certificate is still checked
 * against the IP address; the warning only clutters heedctl's output.
 */
function quietIpServerNameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  const filtered = (...args: unknown[]) => {
    const [, second, third] = args;
    const code = typeof second === "object" && second !== null && "code" in second ? second.code : third;
    if (code !== "DEP0123") emit(...args);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
}

export async function main(argv: string[]): Promise<number> {
  quietIpServerNameWarning();
  try {
    await heedctlProgram().parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : CTL_EXIT.ok;
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): number {
  const usage = commanderExitCode(err, CTL_EXIT.badInput);
  if (usage !== undefined) return usage;
  if (err instanceof RpcError) {
    // The message carries the server's details: strip what a terminal would act on.
    printErr(`heedctl: ${err.message} (${status[err.grpcCode]})\n`);
  } else if (err instanceof HeedError) {
    printErr(`heedctl: ${err.message}\n`);
  } else {
    process.stderr.write(`heedctl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  return exitCodeOf(err);
}

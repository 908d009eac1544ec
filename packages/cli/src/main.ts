import { HeedError, InvalidInputError, SetupError } from "@heed/shared";
import { Command } from "commander";
import { commanderExitCode } from "./commander-exit.js";
import { crawlCommand } from "./commands/crawl.js";
import { exportCommand } from "./commands/export.js";
import { frontierCommand } from "./commands/frontier.js";
import { keysCommand } from "./commands/keys.js";
import { coordinatorCommand, workerCommand } from "./commands/services.js";

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failure: 1, badInput: 2, setup: 3, interrupted: 130 } as const;

export async function main(argv: string[]): Promise<number> {
  const program = new Command("heed")
    .description("Heed: a distributed, polite, auditable web-crawl coordinator")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  coordinatorCommand(program);
  workerCommand(program);
  crawlCommand(program);
  frontierCommand(program);
  keysCommand(program);
  exportCommand(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  const usage = commanderExitCode(err, EXIT.badInput);
  if (usage !== undefined) return usage;
  if (err instanceof InvalidInputError) {
    process.stderr.write(`heed: ${err.message}\n`);
    return EXIT.badInput;
  }
  if (err instanceof SetupError) {
    process.stderr.write(`heed: ${err.message}\n`);
    return EXIT.setup;
  }
  if (err instanceof HeedError) {
    process.stderr.write(`heed: ${err.message} (${err.code})\n`);
    return EXIT.failure;
  }
  process.stderr.write(`heed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.failure;
}

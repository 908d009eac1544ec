import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import {
  ConfigError,
  crawlSpecSchema,
  DIRECTORY_PATH,
  errorMessage,
  generateSigningKey,
  InvalidInputError,
  jsonFileLayer,
  loadSigningKeys,
  parseConfig,
  signatureAgentCard,
  signedDirectory,
} from "@heed/shared";
import type { Command } from "commander";

/** Creates the file for the private key with mode 0600 from the start, and never over an existing one. */
function writePrivateKey(path: string, pem: string): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (err) {
    throw new InvalidInputError("HEED_KEY_FILE", `cannot create ${path}: ${errorMessage(err)}`);
  }
  try {
    writeSync(fd, pem);
  } finally {
    closeSync(fd);
  }
}

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(",").filter((s) => s !== "")];

export function keysCommand(program: Command): Command {
  const keys = program.command("keys").description("Web Bot Auth signing keys: generate, publish");
  keys
    .command("generate")
    .description(
      "make an Ed25519 key pair; the private key goes to a new file (mode 0600), only public parts are printed",
    )
    .requiredOption("--output <file>", "where to write the private key (PKCS#8 PEM); must not exist")
    .action((opts: { output: string }) => {
      const { key, pem } = generateSigningKey();
      writePrivateKey(opts.output, pem);
      process.stdout.write(
        `${JSON.stringify({ keyid: key.keyid, file: opts.output, publicJwk: { ...key.publicJwk, kid: key.keyid } })}\n`,
      );
    });
  keys
    .command("directory")
    .description(
      `write the key directory (${DIRECTORY_PATH}) for your own website, signed for the host it is served from`,
    )
    .requiredOption(
      "--key <files>",
      "private key file(s) to publish, comma-separated or repeated (two while rotating)",
      list,
    )
    .requiredOption("--authority <host>", "the host (and :port if not default) that will serve the directory")
    .requiredOption("--output <file>", "where to write the JWK Set")
    .option("--valid-days <n>", "how long the directory's own signatures stay valid", "30")
    .option(
      "--card-output <file>",
      "also write the Signature Agent Card here (needs --signature-agent and --crawl-file)",
    )
    .option("--signature-agent <url>", "the https URL the directory will be published at")
    .option(
      "--crawl-file <file>",
      "crawl definition(s) the card describes, comma-separated or repeated",
      list,
    )
    .action(
      (opts: {
        key: string[];
        authority: string;
        output: string;
        validDays: string;
        cardOutput?: string;
        signatureAgent?: string;
        crawlFile?: string[];
      }) => {
        const days = Number(opts.validDays);
        if (!Number.isInteger(days) || days < 1 || days > 366)
          throw new ConfigError("valid-days", "1 to 366");
        const signing = loadSigningKeys(opts.key, "key");
        const { body, headers } = signedDirectory(signing, opts.authority, { validitySeconds: days * 86400 });
        writeFileSync(opts.output, body);
        // A static file cannot carry its response headers: the operator's web server must add these.
        const headerLines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
        writeFileSync(`${opts.output}.headers`, `${headerLines.join("\n")}\n`);
        process.stdout.write(
          `wrote ${opts.output} (${signing.length} key(s)) and ${opts.output}.headers (serve the directory with these headers)\n`,
        );
        if (opts.cardOutput !== undefined) {
          if (opts.signatureAgent === undefined || opts.crawlFile === undefined) {
            throw new ConfigError("card-output", "needs --signature-agent and --crawl-file");
          }
          const specs = opts.crawlFile.map((f) => parseConfig(crawlSpecSchema, jsonFileLayer(f), "crawl"));
          const card = signatureAgentCard(opts.signatureAgent, specs);
          writeFileSync(opts.cardOutput, `${JSON.stringify(card, null, 2)}\n`);
          process.stdout.write(`wrote ${opts.cardOutput}\n`);
        }
      },
    );
  return keys;
}

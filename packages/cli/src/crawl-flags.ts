import { crawlFields } from "@heed/shared";
import { type Command, Option } from "commander";

/**
 * The crawl definition's flags, one per field of the schema, for `heed crawl`
 * and `heedctl crawl create` alike: the schema says each flag's name, help,
 * environment variable and default.
 */

const SWITCH = /^--[a-z-]+$/;

function describe(help: string, fieldDefault: unknown, cliDefault?: string, env?: string): string {
  const shown =
    cliDefault ?? (fieldDefault === undefined || Array.isArray(fieldDefault) ? undefined : fieldDefault);
  return `${help}${shown !== undefined ? ` (default ${String(shown)})` : ""}${env !== undefined ? ` [env ${env}]` : ""}`;
}

/** Adds a flag for every field of the crawl definition (the seeds are the command's arguments). */
export function addCrawlFlags(cmd: Command): Command {
  for (const f of crawlFields()) {
    if (f.doc === undefined || !f.doc.flag.startsWith("--")) continue;
    const option = new Option(f.doc.flag, describe(f.doc.help, f.default, f.doc.cliDefault, f.doc.env));
    cmd.addOption(option);
    // A switch can be turned off again when a crawl file turned it on.
    if (SWITCH.test(f.doc.flag)) cmd.addOption(new Option(`--no-${f.doc.flag.slice(2)}`).hideHelp());
  }
  return cmd;
}

/** The crawl flags given on the command line, by field path (`politeness.minDelayMs`). */
export function crawlFlagValues(cmd: Command): Record<string, unknown> {
  const opts = cmd.opts();
  const out: Record<string, unknown> = {};
  for (const f of crawlFields()) {
    if (f.doc === undefined || !f.doc.flag.startsWith("--")) continue;
    const value = opts[new Option(f.doc.flag).attributeName()];
    if (value !== undefined) out[f.path] = value;
  }
  return out;
}

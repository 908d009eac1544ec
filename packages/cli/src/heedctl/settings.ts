import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError, jsonFileLayer, parseConfig, readFileSetting } from "@heed/shared";
import { z } from "zod";

/** Where heedctl finds its coordinator and credentials. */
export const ctlSettingsSchema = z
  .object({
    server: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, "host:port")
      .default("127.0.0.1:7400"),
    /** A file holding the bearer token (operator or read-only). */
    tokenFile: z.string().default(""),
    /** TLS: trust this CA (implies tls); a client certificate and key for mTLS. */
    caFile: z.string().default(""),
    certFile: z.string().default(""),
    keyFile: z.string().default(""),
    tls: z.boolean().default(false),
    timeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
  })
  .strict();
export type CtlSettings = z.output<typeof ctlSettingsSchema> & { token?: string };

/** Setting <- the flag that sets it (commander's camelCase option name). */
const FLAG_KEYS = {
  server: "server",
  tokenFile: "tokenFile",
  caFile: "caFile",
  certFile: "certFile",
  keyFile: "keyFile",
  tls: "tls",
  // Not --timeout-ms: `crawl create` has that flag for the crawl's fetch timeout.
  timeoutMs: "rpcTimeoutMs",
} as const;

function defaultConfigFile(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CONFIG_HOME ?? join(homedir(), ".config");
  const path = join(base, "heed", "heedctl.json");
  return existsSync(path) ? path : undefined;
}

/**
 * Settings from (lowest first) a config file (--config, $HEEDCTL_CONFIG or
 * ~/.config/heed/heedctl.json), the environment (HEED_SERVER, HEED_TOKEN) and
 * flags. The token itself only ever comes from a file or HEED_TOKEN: flags
 * show up in `ps` and in shell history.
 */
export function loadCtlSettings(
  opts: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): CtlSettings {
  const fromEnvFile =
    env.HEEDCTL_CONFIG !== undefined && env.HEEDCTL_CONFIG !== "" ? env.HEEDCTL_CONFIG : undefined;
  const file = typeof opts.config === "string" ? opts.config : (fromEnvFile ?? defaultConfigFile(env));
  const fromFile = jsonFileLayer(file);
  const fromEnv = env.HEED_SERVER !== undefined && env.HEED_SERVER !== "" ? { server: env.HEED_SERVER } : {};
  const fromFlags: Record<string, unknown> = {};
  for (const [key, flag] of Object.entries(FLAG_KEYS))
    if (opts[flag] !== undefined) fromFlags[key] = opts[flag];
  const settings = parseConfig(ctlSettingsSchema, { ...fromFile, ...fromEnv, ...fromFlags }, "heedctl");
  // A token file on the command line beats HEED_TOKEN, which beats one from the config file.
  const tokenFile = fromFlags.tokenFile !== undefined ? settings.tokenFile : "";
  const envToken = env.HEED_TOKEN !== undefined && env.HEED_TOKEN !== "" ? env.HEED_TOKEN : undefined;
  const token =
    tokenFile !== ""
      ? readToken(tokenFile)
      : (envToken ?? (settings.tokenFile !== "" ? readToken(settings.tokenFile) : undefined));
  return { ...settings, ...(token !== undefined ? { token } : {}) };
}

function readToken(path: string): string {
  const text = (readFileSetting(path, "tokenFile") as Buffer).toString("utf8").trim();
  if (text === "") throw new ConfigError("tokenFile", `${path} is empty`);
  return text;
}

import { readFileSync } from "node:fs";
import { ConfigError, errorMessage } from "./errors.js";

/**
 * Reads the file a setting names (a certificate, a key); `undefined` when the
 * setting is empty. An unreadable file is a ConfigError naming the setting.
 */
export function readFileSetting(path: string, key: string): Buffer | undefined {
  if (path === "") return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${errorMessage(err)}`);
  }
}

/**
 * A secret from the file a setting names, or else from an environment
 * variable. Never from a flag: command lines show in `ps` and shell history.
 * Setting both is refused rather than guessing which one was meant.
 */
export function readSecret(
  path: string,
  key: string,
  envName: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const fromEnv = env[envName];
  const hasEnv = fromEnv !== undefined && fromEnv !== "";
  if (path !== "" && hasEnv) throw new ConfigError(key, `set either ${key} or ${envName}, not both`);
  if (hasEnv) return fromEnv;
  const file = readFileSetting(path, key);
  if (file === undefined) return undefined;
  // Files written by `echo` end in a newline that is no part of the secret.
  const secret = file.toString("utf8").replace(/\r?\n$/, "");
  if (secret === "") throw new ConfigError(key, `${path} is empty`);
  if (/\s/.test(secret)) throw new ConfigError(key, `${path} holds whitespace inside the secret`);
  return secret;
}

/**
 * A URL fit for logs and error messages: user name, password or token inside
 * it replaced. Works on comma-separated server lists and on text that is not a
 * URL at all (nothing to hide there, but `user:pass@host` is still masked).
 */
export function redactUrl(url: string): string {
  return url.replace(/([a-z][a-z0-9+.-]*:\/\/)?[^\s/@,]+@/gi, (_m, scheme: string | undefined) => {
    return `${scheme ?? ""}[redacted]@`;
  });
}

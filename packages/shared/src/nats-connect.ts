import { type ConnectionOptions, credsAuthenticator, type NatsConnection } from "nats";
import { sleep } from "./backoff.js";
import type { NatsClientSettings } from "./config.js";
import { ConfigError } from "./errors.js";
import { readFileSetting, readSecret, redactUrl } from "./secrets.js";

export interface NatsConnect {
  options: ConnectionOptions;
  /** The server list with credentials masked: the only form of the URL that may be logged. */
  display: string;
}

interface UrlCredentials {
  token?: string;
  user?: string;
  pass?: string;
}

/**
 * Connection options for nats.js from Heed's settings. nats.js ignores
 * credentials inside a server URL, so a `nats://TOKEN@host` or
 * `nats://user:pass@host` URL is taken apart here: the servers go without
 * them and the credentials become options. Only one source of credentials
 * may be set (URL, token, user/password or creds file), so none is silently
 * ignored.
 */
export function natsConnectOptions(
  settings: NatsClientSettings,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): NatsConnect {
  const { servers, credentials, tls } = parseServers(settings.natsUrl);
  const token = readSecret(settings.natsTokenFile, "natsTokenFile", "HEED_NATS_TOKEN", env);
  const password = readSecret(settings.natsPasswordFile, "natsPasswordFile", "HEED_NATS_PASSWORD", env);
  const creds = readFileSetting(settings.natsCredsFile, "natsCredsFile");
  if (password !== undefined && settings.natsUser === "")
    throw new ConfigError("natsUser", "a NATS password needs a user name");
  if (settings.natsUser !== "" && password === undefined)
    throw new ConfigError("natsPasswordFile", "natsUser needs a password (file or HEED_NATS_PASSWORD)");
  const sources = [
    credentials !== undefined ? "natsUrl" : undefined,
    token !== undefined ? "natsTokenFile" : undefined,
    settings.natsUser !== "" ? "natsUser" : undefined,
    creds !== undefined ? "natsCredsFile" : undefined,
  ].filter((s) => s !== undefined);
  if (sources.length > 1)
    throw new ConfigError(sources[1] as string, `NATS credentials are set twice (${sources.join(", ")})`);

  const ca = readFileSetting(settings.natsCaFile, "natsCaFile");
  const cert = readFileSetting(settings.natsCertFile, "natsCertFile");
  const key = readFileSetting(settings.natsKeyFile, "natsKeyFile");
  if ((cert === undefined) !== (key === undefined))
    throw cert === undefined
      ? new ConfigError("natsCertFile", "needed with natsKeyFile")
      : new ConfigError("natsKeyFile", "needed with natsCertFile");
  const wantTls = tls || ca !== undefined || cert !== undefined;

  const options: ConnectionOptions = {
    servers,
    name,
    maxReconnectAttempts: -1,
    ...(credentials ?? {}),
    ...(token !== undefined ? { token } : {}),
    ...(password !== undefined ? { user: settings.natsUser, pass: password } : {}),
    ...(creds !== undefined ? { authenticator: credsAuthenticator(new Uint8Array(creds)) } : {}),
    ...(wantTls
      ? {
          tls: {
            ...(ca !== undefined ? { ca: ca.toString("utf8") } : {}),
            ...(cert !== undefined ? { cert: cert.toString("utf8") } : {}),
            ...(key !== undefined ? { key: key.toString("utf8") } : {}),
          },
        }
      : {}),
  };
  return { options, display: redactUrl(settings.natsUrl) };
}

function parseServers(natsUrl: string): {
  servers: string[];
  credentials: UrlCredentials | undefined;
  tls: boolean;
} {
  const servers: string[] = [];
  let credentials: UrlCredentials | undefined;
  let seen = false;
  let tls = false;
  for (const raw of natsUrl.split(",").map((s) => s.trim())) {
    if (raw === "") continue;
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `nats://${raw}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new ConfigError("natsUrl", `not a URL: ${redactUrl(raw)}`);
    }
    if (!["nats:", "tls:"].includes(url.protocol))
      throw new ConfigError("natsUrl", `use nats:// or tls://, not ${url.protocol}//`);
    if (url.protocol === "tls:") tls = true;
    const here = urlCredentials(url);
    if (seen && JSON.stringify(here) !== JSON.stringify(credentials))
      throw new ConfigError("natsUrl", "every server in the list must carry the same credentials");
    seen = true;
    credentials = here;
    servers.push(`${url.protocol}//${url.host}`);
  }
  if (servers.length === 0) throw new ConfigError("natsUrl", "no server");
  return { servers, credentials, tls };
}

function urlCredentials(url: URL): UrlCredentials | undefined {
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  if (user === "" && pass === "") return undefined;
  // nats://TOKEN@host is a token; nats://user:pass@host a user and password.
  return url.password === "" ? { token: user } : { user, pass };
}

/**
 * Drains a connection within `timeoutMs`, then closes it whatever the drain
 * did. With the server gone, nats.js resolves `drain()` without closing (the
 * flush it waits for is rejected by the next reconnect attempt and swallowed),
 * and a connection that reconnects for ever keeps the process alive for ever.
 * A paused server never answers the flush, hence the bound. Returns why the
 * drain did not finish, for the caller to log.
 */
export async function drainAndClose(nc: NatsConnection, timeoutMs: number): Promise<string | undefined> {
  let problem: string | undefined;
  if (!nc.isClosed()) {
    const bound = new AbortController();
    problem = await Promise.race([
      nc.drain().then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      ),
      sleep(timeoutMs, bound.signal).then(() => `drain took longer than ${timeoutMs} ms`),
    ]);
    bound.abort();
  }
  if (!nc.isClosed()) {
    problem ??= "the server went away before the drain";
    await nc.close();
  }
  return problem;
}

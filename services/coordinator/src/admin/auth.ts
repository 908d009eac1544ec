import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { type Metadata, status } from "@grpc/grpc-js";
import { ConfigError, type CoordinatorConfig, readSecret } from "@heed/shared";

/** Read-only calls change nothing; operator calls may change crawls, hosts or workers. */
export type Role = "read" | "operate";

export interface Refusal {
  code: status;
  details: string;
}

export interface Tokens {
  operator?: string;
  readOnly?: string;
  worker?: string;
}

export interface Auth {
  /** Why an admin call with this metadata may not do what `need` asks; undefined: it may. */
  admin(metadata: Metadata, need: Role): Refusal | undefined;
  /** Why a worker call (reports, renewals) is refused; undefined: it is not. */
  worker(metadata: Metadata): Refusal | undefined;
}

/** The tokens from their files or environment variables; a ConfigError names a bad one. */
export function loadTokens(config: CoordinatorConfig, env: NodeJS.ProcessEnv = process.env): Tokens {
  const operator = readSecret(config.adminTokenFile, "adminTokenFile", "HEED_ADMIN_TOKEN", env);
  const readOnly = readSecret(config.readOnlyTokenFile, "readOnlyTokenFile", "HEED_READ_ONLY_TOKEN", env);
  const worker = readSecret(config.workerTokenFile, "workerTokenFile", "HEED_WORKER_TOKEN", env);
  const tokens = [operator, readOnly, worker].filter((t) => t !== undefined);
  // One token for two roles would make the roles meaningless.
  if (new Set(tokens).size !== tokens.length)
    throw new ConfigError("adminTokenFile", "the operator, read-only and worker tokens must differ");
  for (const [key, t] of [
    ["adminTokenFile", operator],
    ["readOnlyTokenFile", readOnly],
    ["workerTokenFile", worker],
  ] as const) {
    if (t !== undefined && t.length < 16) throw new ConfigError(key, "a token needs at least 16 characters");
  }
  return {
    ...(operator !== undefined ? { operator } : {}),
    ...(readOnly !== undefined ? { readOnly } : {}),
    ...(worker !== undefined ? { worker } : {}),
  };
}

/** Whether a host:port listens on loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackListen(listen: string): boolean {
  const host = listen
    .slice(0, listen.lastIndexOf(":"))
    .replace(/^\[|\]$/g, "")
    .toLowerCase();
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/**
 * Without tokens, whoever reaches the gRPC port may create crawls and report
 * results. That is fine on loopback (the default) and nowhere else, unless
 * the operator says so with `insecure`: a non-loopback listen address needs
 * an admin token (operator or read-only) and the worker token.
 */
export function checkExposure(config: CoordinatorConfig, tokens: Tokens): void {
  if (config.insecure || isLoopbackListen(config.grpcListen)) return;
  const missing = [
    tokens.operator === undefined && tokens.readOnly === undefined ? "adminTokenFile" : undefined,
    tokens.worker === undefined ? "workerTokenFile" : undefined,
  ].filter((k) => k !== undefined);
  if (missing.length > 0) {
    throw new ConfigError(
      "grpcListen",
      `${config.grpcListen} is not loopback, so the gRPC port needs tokens (${missing.join(", ")}), ` +
        "or --insecure to open it without any",
    );
  }
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Equal-length digests, so the comparison takes the same time whatever was presented. */
function same(presented: Buffer, expected: Buffer | undefined): boolean {
  return expected !== undefined && timingSafeEqual(presented, expected);
}

function bearerOf(metadata: Metadata): string | undefined {
  const value = metadata.get("authorization")[0];
  if (typeof value !== "string") return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return m?.[1];
}

export function createAuth(tokens: Tokens): Auth {
  const operator = tokens.operator !== undefined ? digest(tokens.operator) : undefined;
  const readOnly = tokens.readOnly !== undefined ? digest(tokens.readOnly) : undefined;
  const worker = tokens.worker !== undefined ? digest(tokens.worker) : undefined;
  const adminOpen = operator === undefined && readOnly === undefined;
  const missing = (what: string): Refusal => ({
    code: status.UNAUTHENTICATED,
    details: `${what}: send "authorization: Bearer <token>"`,
  });
  return {
    admin(metadata, need) {
      if (adminOpen) return undefined;
      const token = bearerOf(metadata);
      if (token === undefined) return missing("the admin API needs a token");
      const d = digest(token);
      // Both comparisons always run: which token matched shows in no timing.
      const isOperator = same(d, operator);
      const isReader = same(d, readOnly);
      if (isOperator) return undefined;
      if (isReader) {
        return need === "read"
          ? undefined
          : { code: status.PERMISSION_DENIED, details: "the read-only token cannot change anything" };
      }
      return { code: status.UNAUTHENTICATED, details: "unknown token" };
    },
    worker(metadata) {
      if (worker === undefined) return undefined;
      const token = bearerOf(metadata);
      if (token === undefined) return missing("workers need the worker token");
      return same(digest(token), worker)
        ? undefined
        : { code: status.UNAUTHENTICATED, details: "unknown token" };
    },
  };
}

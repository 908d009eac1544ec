import { ConfigError, canonicalizeUrl, errorMessage, type proto } from "@heed/shared";
import { normalizePattern } from "../frontier/policies.js";

/**
 * Admin requests checked and turned into what the frontier takes. Every
 * problem is a ConfigError keyed by the request field in proto spelling
 * (`seeds[2]`; crawl definitions: crawlSpecFromProto in @heed/shared), which
 * the service answers as INVALID_ARGUMENT.
 */

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
const MAX_SLOW_DOWN_MS = 86_400_000;
const MAX_REASON = 500;

export function crawlId(id: string, field = "crawl_id"): string {
  if (id === "") throw new ConfigError(field, "required");
  if (id.length > 200) throw new ConfigError(field, "too long");
  return id;
}

/** Canonical seed URLs, each problem naming its index. */
export function seeds(list: string[]): string[] {
  if (list.length === 0) throw new ConfigError("seeds", "at least one");
  if (list.length > 10_000) throw new ConfigError("seeds", "at most 10000 per call");
  return list.map((s, i) => canonical(s, `seeds[${i}]`));
}

export function canonical(url: string, field = "url"): string {
  if (url === "") throw new ConfigError(field, "required");
  try {
    return canonicalizeUrl(url);
  } catch (err) {
    throw new ConfigError(field, errorMessage(err));
  }
}

export function hostPattern(pattern: string, field = "pattern"): string {
  if (pattern === "") throw new ConfigError(field, "required: a host name or a domain");
  const p = normalizePattern(pattern);
  if (p === undefined) throw new ConfigError(field, `not a host or domain: ${pattern}`);
  return p;
}

/** Policies are evidence: each one says why it exists. */
export function reason(text: string, field = "reason"): string {
  const r = text.trim();
  if (r === "") throw new ConfigError(field, "required: say why (kept as evidence)");
  if (r.length > MAX_REASON) throw new ConfigError(field, `at most ${MAX_REASON} characters`);
  return r;
}

export function slowDownMs(ms: number, field = "min_delay_ms"): number {
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_SLOW_DOWN_MS)
    throw new ConfigError(field, `a delay from 1 to ${MAX_SLOW_DOWN_MS} ms`);
  return ms;
}

export function pageLimit(limit: number, field = "limit"): number {
  if (limit === 0) return DEFAULT_PAGE;
  if (limit > MAX_PAGE) throw new ConfigError(field, `at most ${MAX_PAGE}`);
  return limit;
}

/** Page tokens are the last key of the previous page, base64url-encoded (opaque to callers). */
export function encodePageToken(key: string): string {
  return Buffer.from(`h:${key}`, "utf8").toString("base64url");
}

export function pageToken(token: string, field = "page_token"): string | undefined {
  if (token === "") return undefined;
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith("h:") || text.length < 3) throw new ConfigError(field, "not a token from ListHosts");
  return text.slice(2);
}

export function watchIntervalMs(ms: number, field = "interval_ms"): number {
  if (ms === 0) return 500;
  if (ms < 100 || ms > 60_000) throw new ConfigError(field, "from 100 to 60000 ms");
  return ms;
}

export function logLevel(level: string, field = "level"): LogLevel {
  const l = level.trim().toLowerCase();
  const found = LOG_LEVELS.find((x) => x === l);
  if (found === undefined) throw new ConfigError(field, `one of ${LOG_LEVELS.join(", ")}`);
  return found;
}

/** One worker or, explicitly, all: an empty id must not drain a fleet by accident. */
export function drainTarget(req: proto.DrainWorkersRequest): { all: true } | { workerId: string } {
  if (req.all && req.workerId !== "") throw new ConfigError("worker_id", "give a worker id or all, not both");
  if (req.all) return { all: true };
  if (req.workerId === "") throw new ConfigError("worker_id", "required (or set all)");
  return { workerId: req.workerId };
}

import { ConfigError, canonicalizeUrl, errorMessage, isPublicSuffix, type proto } from "@heed/shared";
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

/** The most seeds one CreateCrawl or AddSeeds request may carry; more go in further AddSeeds calls. */
export const MAX_SEEDS_PER_REQUEST = 10_000;
const TOO_MANY_SEEDS = `at most ${MAX_SEEDS_PER_REQUEST} per request; add the rest with AddSeeds (heedctl seeds add --file)`;

/** A CreateCrawl definition within the per-request seed limit (the definition itself: crawlSpecFromProto). */
export function definitionSize(def: proto.CrawlDefinition | undefined): proto.CrawlDefinition | undefined {
  if (def !== undefined && def.seeds.length > MAX_SEEDS_PER_REQUEST)
    throw new ConfigError("definition.seeds", TOO_MANY_SEEDS);
  return def;
}

/** Canonical seed URLs, each problem naming its index. */

export function seeds(list: string[]): string[] {
  if (list.length === 0) throw new ConfigError("seeds", "at least one");
  if (list.length > MAX_SEEDS_PER_REQUEST) throw new ConfigError("seeds", TOO_MANY_SEEDS);
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

/**
 * A block on a public suffix (com, co.uk, github.io) opts out every site under it: easy to type by
 * mistake, so it takes an explicit force.
 */
export function blockPattern(pattern: string, force: boolean, field = "pattern"): string {
  const p = hostPattern(pattern, field);
  if (isPublicSuffix(p) && !force)
    throw new ConfigError(
      field,
      `${p} is a public suffix: blocking it opts out every site under it (set force to mean it)`,
    );
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

/** Which list a page token belongs to: a token from one list is refused by another. */
const PAGE_KINDS = {
  hosts: "h",
  crawls: "c",
  seeds: "s",
  workers: "w",
  rules: "r",
  export: "x",
  // A sharded fleet's lists walk the shards in turn: the token names the shard and its own token.
  fleetHosts: "H",
  fleetExport: "X",
} as const;
export type PageKind = keyof typeof PAGE_KINDS;
const LIST_NAMES: Record<PageKind, string> = {
  hosts: "ListHosts",
  crawls: "ListCrawls",
  seeds: "ListSeeds",
  workers: "ListWorkers",
  rules: "ListHostRules",
  export: "ExportUrls",
  fleetHosts: "ListHosts",
  fleetExport: "ExportUrls",
};

/** Page tokens are the last key of the previous page, base64url-encoded (opaque to callers). */
export function encodePageToken(key: string, kind: PageKind = "hosts"): string {
  return Buffer.from(`${PAGE_KINDS[kind]}:${key}`, "utf8").toString("base64url");
}

export function pageToken(token: string, field = "page_token", kind: PageKind = "hosts"): string | undefined {
  if (token === "") return undefined;
  const text = Buffer.from(token, "base64url").toString("utf8");
  const prefix = `${PAGE_KINDS[kind]}:`;
  if (!text.startsWith(prefix) || text.length <= prefix.length)
    throw new ConfigError(field, `not a token from ${LIST_NAMES[kind]}`);
  return text.slice(prefix.length);
}

/** Export cursors name the discovery position of the last URL sent. */
export function encodeExportCursor(seq: number): string {
  return encodePageToken(String(seq), "export");
}

export function exportCursor(token: string, field = "after"): number | undefined {
  const text = pageToken(token, field, "export");
  if (text === undefined) return undefined;
  const seq = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(seq)) throw new ConfigError(field, "not a cursor from ExportUrls");
  return seq;
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

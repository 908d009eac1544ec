import { createHash } from "node:crypto";
import robotsParserModule from "robots-parser";

/** RFC 9309 §2.5: crawlers may limit parsing to the first 500 KiB. */
export const ROBOTS_MAX_BYTES = 500 * 1024;

/**
 * RFC 9309 terms: `parsed` (2xx), `unavailable` (4xx: allow all),
 * `unreachable` (5xx, 429 or no answer: disallow all, retry later).
 */
export type RobotsStatus = "parsed" | "unavailable" | "unreachable";

/** What the frontier keeps per origin: enough to decide, and to prove later what was decided. */
export interface RobotsPolicy {
  origin: string;
  status: RobotsStatus;
  httpStatus: number;
  fetchedAtMs: number;
  expiresAtMs: number;
  /** SHA-256 of the text that was parsed ("" when none). */
  digest: string;
  text: string;
  /** Consecutive unreachable answers; reset by any 2xx/4xx. */
  failures: number;
  error?: string;
}

export interface RobotsFetchOutcome {
  origin: string;
  httpStatus: number;
  body: string;
  /** Set when no HTTP answer came back (DNS, connect, timeout, too many redirects). */
  error?: string;
}

export function robotsPolicyFromFetch(
  outcome: RobotsFetchOutcome,
  nowMs: number,
  cacheMs: number,
  previous?: RobotsPolicy,
): RobotsPolicy {
  const base = { origin: outcome.origin, httpStatus: outcome.httpStatus, fetchedAtMs: nowMs };
  const s = outcome.httpStatus;
  if (outcome.error === undefined && s >= 200 && s < 300) {
    const text =
      outcome.body.length > ROBOTS_MAX_BYTES ? outcome.body.slice(0, ROBOTS_MAX_BYTES) : outcome.body;
    return {
      ...base,
      status: "parsed",
      expiresAtMs: nowMs + cacheMs,
      digest: sha256(text),
      text,
      failures: 0,
    };
  }
  // 4xx, and a redirect chain longer than the crawler follows (RFC 9309 §2.3.1.2), are "unavailable".
  if (outcome.error === undefined && s >= 300 && s < 500 && s !== 429) {
    return {
      ...base,
      status: "unavailable",
      expiresAtMs: nowMs + cacheMs,
      digest: "",
      text: "",
      failures: 0,
    };
  }
  const failures = (previous?.failures ?? 0) + 1;
  return {
    ...base,
    status: "unreachable",
    // Expiry of an unreachable policy is set by the caller's retry schedule.
    expiresAtMs: nowMs,
    digest: "",
    text: "",
    failures,
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
  };
}

export type RobotsReason =
  | "robots_allowed"
  | "robots_disallowed"
  | "robots_unavailable_allow_all"
  | "robots_unreachable"
  | "robots_txt_itself";

export interface RobotsVerdict {
  allowed: boolean;
  reason: RobotsReason;
  /** The line of robots.txt whose rule decided, when one did. */
  line?: number;
}

interface Parsed {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getMatchingLineNumber(url: string, ua?: string): number;
  getCrawlDelay(ua?: string): number | undefined;
  getSitemaps(): string[];
}

// robots-parser is CommonJS whose module.exports is the factory; its typings claim a default export.
const robotsParser = robotsParserModule as unknown as (url: string, text: string) => Parsed;

const parsedCache = new Map<string, Parsed>();
const PARSED_CACHE_MAX = 2000;

function parsedOf(policy: RobotsPolicy): Parsed {
  const key = `${policy.origin} ${policy.digest}`;
  let parsed = parsedCache.get(key);
  if (parsed === undefined) {
    parsed = robotsParser(`${policy.origin}/robots.txt`, policy.text);
    if (parsedCache.size >= PARSED_CACHE_MAX) {
      const oldest = parsedCache.keys().next().value;
      if (oldest !== undefined) parsedCache.delete(oldest);
    }
    parsedCache.set(key, parsed);
  }
  return parsed;
}

export function robotsVerdict(policy: RobotsPolicy, url: string, productToken: string): RobotsVerdict {
  if (new URL(url).pathname === "/robots.txt") return { allowed: true, reason: "robots_txt_itself" };
  switch (policy.status) {
    case "unavailable":
      return { allowed: true, reason: "robots_unavailable_allow_all" };
    case "unreachable":
      return { allowed: false, reason: "robots_unreachable" };
    case "parsed": {
      const parsed = parsedOf(policy);
      const allowed = parsed.isAllowed(url, productToken) !== false;
      const line = parsed.getMatchingLineNumber(url, productToken);
      return {
        allowed,
        reason: allowed ? "robots_allowed" : "robots_disallowed",
        ...(line > 0 ? { line } : {}),
      };
    }
  }
}

/** Crawl-delay for the product token in milliseconds (fractional seconds allowed), 0 when none. */
export function robotsCrawlDelayMs(policy: RobotsPolicy, productToken: string): number {
  if (policy.status !== "parsed") return 0;
  const delay = parsedOf(policy).getCrawlDelay(productToken);
  return delay !== undefined && Number.isFinite(delay) && delay > 0 ? Math.round(delay * 1000) : 0;
}

export function robotsSitemaps(policy: RobotsPolicy): string[] {
  return policy.status === "parsed" ? parsedOf(policy).getSitemaps() : [];
}

export function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

import { createHash } from "node:crypto";
import { type AgentRules, agentRules, decidePath } from "./robots/agent.js";
import { type ParsedRobots, parseRobotsTxt } from "./robots/parse.js";
import { matchablePath } from "./robots/pattern.js";

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
      Buffer.byteLength(outcome.body) > ROBOTS_MAX_BYTES
        ? Buffer.from(outcome.body).subarray(0, ROBOTS_MAX_BYTES).toString("utf8")
        : outcome.body;
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

/** A policy's text parsed once, and what each product token must obey, worked out once. */
interface Compiled {
  parsed: ParsedRobots;
  agents: Map<string, AgentRules>;
}

const compiledCache = new Map<string, Compiled>();
const COMPILED_CACHE_MAX = 2000;

// Policies are evaluated for every URL leased; parse once per origin and robots.txt digest.
function compiledOf(policy: RobotsPolicy): Compiled {
  const key = `${policy.origin} ${policy.digest}`;
  let compiled = compiledCache.get(key);
  if (compiled === undefined) {
    compiled = { parsed: parseRobotsTxt(policy.text), agents: new Map() };
    if (compiledCache.size >= COMPILED_CACHE_MAX) {
      const oldest = compiledCache.keys().next().value;
      if (oldest !== undefined) compiledCache.delete(oldest);
    }
    compiledCache.set(key, compiled);
  }
  return compiled;
}

function agentOf(policy: RobotsPolicy, productToken: string): AgentRules {
  const compiled = compiledOf(policy);
  let agent = compiled.agents.get(productToken);
  if (agent === undefined) {
    agent = agentRules(compiled.parsed, productToken);
    compiled.agents.set(productToken, agent);
  }
  return agent;
}

/**
 * `url` should be percent-encoded (Heed's canonical URLs are): like Google's reference
 * parser, rules are matched against the URL as given, without re-encoding it.
 */
export function robotsVerdict(policy: RobotsPolicy, url: string, productToken: string): RobotsVerdict {
  const path = matchablePath(url);
  if (path.split("?", 1)[0] === "/robots.txt") return { allowed: true, reason: "robots_txt_itself" };
  switch (policy.status) {
    case "unavailable":
      return { allowed: true, reason: "robots_unavailable_allow_all" };
    case "unreachable":
      return { allowed: false, reason: "robots_unreachable" };
    case "parsed": {
      const { allowed, line } = decidePath(agentOf(policy, productToken), path);
      return {
        allowed,
        reason: allowed ? "robots_allowed" : "robots_disallowed",
        ...(line !== undefined ? { line } : {}),
      };
    }
  }
}

/** Crawl-delay for the product token in milliseconds (fractional seconds allowed), 0 when none. */
export function robotsCrawlDelayMs(policy: RobotsPolicy, productToken: string): number {
  if (policy.status !== "parsed") return 0;
  const delay = agentOf(policy, productToken).crawlDelaySeconds;
  return delay !== undefined && Number.isFinite(delay) && delay > 0 ? Math.round(delay * 1000) : 0;
}

/** Sitemap lines anywhere in the file, in order, as written. */
export function robotsSitemaps(policy: RobotsPolicy): string[] {
  return policy.status === "parsed" ? [...compiledOf(policy).parsed.sitemaps] : [];
}

export function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

import { createHash } from "node:crypto";
import robotsParserModule from "robots-parser";
import { type AgentRules, agentRules, decidePath } from "./robots/agent.js";
import { type CompiledCacheStats, createCompiledCache } from "./robots/compiled-cache.js";
import { type ParsedRobots, parseRobotsTxt } from "./robots/parse.js";
import { matchablePath } from "./robots/pattern.js";
import { parseRobotsTxtStrictly, strictPath } from "./robots/rfc9309.js";

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

/**
 * The ways robots.txt is read. Site owners test their files with different tools,
 * and the tools disagree, so Heed reads each file several ways and does what fetches
 * less: a URL is allowed only if every reading allows it, and the longest Crawl-delay
 * any reading finds is obeyed.
 * - `google`: Google's reference parser (google/robotstxt), leniencies included;
 * - `rfc9309`: the text of RFC 9309, strictly (see robots/rfc9309.ts);
 * - `robots-parser`: the `robots-parser` package, as many Node crawlers read it.
 */
export const ROBOTS_READINGS = ["google", "rfc9309", "robots-parser"] as const;
export type RobotsReading = (typeof ROBOTS_READINGS)[number];

/** One reading's decision for a URL, and the line of robots.txt that decided it, if one did. */
export interface ReadingVerdict {
  reading: RobotsReading;
  allowed: boolean;
  line?: number;
}

export interface RobotsVerdict {
  allowed: boolean;
  reason: RobotsReason;
  /** The line of robots.txt whose rule decided, when one did: a disallowing reading's, if any. */
  line?: number;
  /** Each reading's verdict, when robots.txt was parsed. */
  readings?: ReadingVerdict[];
  /** Some reading allowed the URL and another did not. */
  disagreement?: boolean;
}

/** What Heed asks of a `robots-parser` instance. */
interface RobotsParserRobots {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getMatchingLineNumber(url: string, ua?: string): number;
  getCrawlDelay(ua?: string): number | undefined;
  /**
   * The lookup behind both of those in robots-parser 3.0 (the version pinned): the deciding rule,
   * null when none matches, undefined when the URL is not under this robots.txt.
   */
  _getRule?(url: string, ua?: string): { allow: boolean; lineNumber: number } | null | undefined;
}
// robots-parser is CommonJS: what its types call the default export is module.exports itself.
const robotsParser = robotsParserModule as unknown as (url: string, text: string) => RobotsParserRobots;

/** A policy's text parsed once per reading, and what each product token must obey, worked out once. */
interface Compiled {
  parsed: ParsedRobots;
  agents: Map<string, AgentRules>;
  strict?: ParsedRobots;
  strictAgents: Map<string, AgentRules>;
  parser?: RobotsParserRobots;
  /** Where each line of the text starts, for the evidence's rule text. */
  lineStarts?: Int32Array;
}

/** 256 MiB: about 3 600 hosts with 5 KB files, 14 000 with 1 KB ones, 40 000 with a few lines. */
export const PARSED_ROBOTS_DEFAULT_MIB = 256;
const compiledCache = createCompiledCache<Compiled>(PARSED_ROBOTS_DEFAULT_MIB * 2 ** 20);

/** How much heap (estimated) the parsed robots.txt files of this process may take. */
export function setParsedRobotsBudget(mib: number): void {
  compiledCache.setBudget(mib * 2 ** 20);
}

/** The parsed robots.txt files kept in this process (for metrics). */
export function parsedRobotsStats(): CompiledCacheStats {
  return compiledCache.stats();
}

// Policies are evaluated for every URL leased; parse once per origin and robots.txt digest.
function compiledOf(policy: RobotsPolicy): Compiled {
  const key = `${policy.origin} ${policy.digest}`;
  let compiled = compiledCache.get(key);
  if (compiled === undefined) {
    compiled = { parsed: parseRobotsTxt(policy.text), agents: new Map(), strictAgents: new Map() };
    compiledCache.set(key, compiled, policy.text.length);
  }
  return compiled;
}

// What a product token obeys in one reading of the file, worked out once per parse.
function agentIn(agents: Map<string, AgentRules>, parsed: ParsedRobots, productToken: string): AgentRules {
  let agent = agents.get(productToken);
  if (agent === undefined) {
    agent = agentRules(parsed, productToken);
    agents.set(productToken, agent);
  }
  return agent;
}

function strictAgentOf(compiled: Compiled, text: string, productToken: string): AgentRules {
  compiled.strict ??= parseRobotsTxtStrictly(text);
  return agentIn(compiled.strictAgents, compiled.strict, productToken);
}

function parserOf(compiled: Compiled, policy: RobotsPolicy): RobotsParserRobots {
  compiled.parser ??= robotsParser(`${policy.origin}/robots.txt`, policy.text);
  return compiled.parser;
}

/**
 * robots-parser's verdict and deciding line. Its isAllowed and getMatchingLineNumber each match
 * the URL against every rule (allocating as they go); its own lookup behind both does it once,
 * which halves the reading's cost on long files. Another version without it is asked both ways.
 */
function parserDecision(
  parser: RobotsParserRobots,
  url: string,
  productToken: string,
): { allowed: boolean; line: number } {
  if (typeof parser._getRule !== "function") {
    // undefined: it cannot place the URL under this robots.txt; a reading that cannot say yes says no.
    return {
      allowed: parser.isAllowed(url, productToken) === true,
      line: parser.getMatchingLineNumber(url, productToken),
    };
  }
  const rule = parser._getRule(url, productToken);
  return { allowed: rule === null || rule?.allow === true, line: rule ? rule.lineNumber : -1 };
}

function readingVerdict(
  reading: RobotsReading,
  compiled: Compiled,
  policy: RobotsPolicy,
  url: string,
  path: string,
  productToken: string,
): ReadingVerdict {
  switch (reading) {
    case "google": {
      const { allowed, line } = decidePath(agentIn(compiled.agents, compiled.parsed, productToken), path);
      return { reading, allowed, ...(line !== undefined ? { line } : {}) };
    }
    case "rfc9309": {
      const agent = strictAgentOf(compiled, policy.text, productToken);
      const { allowed, line } = decidePath(agent, strictPath(path));
      return { reading, allowed, ...(line !== undefined ? { line } : {}) };
    }
    case "robots-parser": {
      const { allowed, line } = parserDecision(parserOf(compiled, policy), url, productToken);
      return { reading, allowed, ...(line > 0 ? { line } : {}) };
    }
  }
}

/**
 * `url` should be percent-encoded (Heed's canonical URLs are): like Google's reference
 * parser, rules are matched against the URL as given, without re-encoding it. Every
 * reading in `readings` must allow the URL; the verdict lists what each one said.
 */
export function robotsVerdict(
  policy: RobotsPolicy,
  url: string,
  productToken: string,
  readings: readonly RobotsReading[] = ROBOTS_READINGS,
): RobotsVerdict {
  const path = matchablePath(url);
  if (path.split("?", 1)[0] === "/robots.txt") return { allowed: true, reason: "robots_txt_itself" };
  switch (policy.status) {
    case "unavailable":
      return { allowed: true, reason: "robots_unavailable_allow_all" };
    case "unreachable":
      return { allowed: false, reason: "robots_unreachable" };
    case "parsed": {
      // Looked up once for all readings: every leased URL is checked.
      const compiled = compiledOf(policy);
      const each = readings.map((r) => readingVerdict(r, compiled, policy, url, path, productToken));
      const denied = each.find((v) => !v.allowed);
      const decided = denied ?? each.find((v) => v.line !== undefined);
      const allowed = denied === undefined;
      return {
        allowed,
        reason: allowed ? "robots_allowed" : "robots_disallowed",
        ...(decided?.line !== undefined ? { line: decided.line } : {}),
        readings: each,
        disagreement: denied !== undefined && each.some((v) => v.allowed),
      };
    }
  }
}

/**
 * Crawl-delay for the product token in milliseconds (fractional seconds allowed), 0 when
 * none: the longest any of `readings` finds (strict RFC 9309 has no Crawl-delay).
 */
export function robotsCrawlDelayMs(
  policy: RobotsPolicy,
  productToken: string,
  readings: readonly RobotsReading[] = ROBOTS_READINGS,
): number {
  if (policy.status !== "parsed") return 0;
  const compiled = compiledOf(policy);
  const delays = readings.map((reading): number | undefined => {
    if (reading === "google")
      return agentIn(compiled.agents, compiled.parsed, productToken).crawlDelaySeconds;
    if (reading === "robots-parser") return parserOf(compiled, policy).getCrawlDelay(productToken);
    return undefined; // RFC 9309 has no Crawl-delay
  });
  const longest = Math.max(0, ...delays.map((d) => (d !== undefined && Number.isFinite(d) && d > 0 ? d : 0)));
  return Math.round(longest * 1000);
}

function lineStartsOf(text: string): Int32Array {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
    if (c === 10 || c === 13) starts.push(i + 1);
  }
  return Int32Array.from(starts);
}

/**
 * Line `line` (1-based, as verdicts number them) of a parsed robots.txt, trimmed: the rule a
 * verdict names, for the evidence. Every leased URL's evidence carries it, so the file is not
 * split into lines for each (a 20 KB file's split was most of a lease's evidence).
 */
export function robotsLineText(policy: RobotsPolicy, line: number): string {
  if (policy.status !== "parsed" || line < 1) return "";
  const compiled = compiledOf(policy);
  compiled.lineStarts ??= lineStartsOf(policy.text);
  const start = compiled.lineStarts[line - 1];
  if (start === undefined) return "";
  const end = compiled.lineStarts[line] ?? policy.text.length;
  return policy.text.slice(start, end).trim();
}

/** Sitemap lines anywhere in the file, in order, as written. */
export function robotsSitemaps(policy: RobotsPolicy): string[] {
  return policy.status === "parsed" ? [...compiledOf(policy).parsed.sitemaps] : [];
}

export function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

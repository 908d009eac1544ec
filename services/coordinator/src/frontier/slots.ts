import { isIP } from "node:net";
import { backoffMs, type CrawlSpec, type RobotsPolicy, robotsCrawlDelayMs } from "@heed/shared";
import { getDomain } from "tldts";
import type { FrontierObserver, KeyClass } from "./observer.js";
import { ownString } from "./own-string.js";
import { delayAfterFetch } from "./politeness.js";
import type { CrawlRecord, DelaySource, HostState } from "./records.js";
import type { Txn } from "./txn.js";

/**
 * The politeness slot ledger: the one place that knows which keys a request
 * counts against, takes a slot on each, releases it when the request ends,
 * spaces the next request and parks a host that keeps failing. A key has a
 * free slot while `inFlight` is below `maxConcurrency` and `nextAllowedAtMs`
 * has passed.
 */

/**
 * Politeness keys: besides its host, a request counts against its registrable
 * domain (when a crawl asks for domain politeness), against an operator's
 * host group (hosts that share one server) and against its IP address. Each
 * key has the state a host has (next-allowed time, in-flight count) and a
 * lease needs a slot on every one of them.
 */

/** Only host keys have a queue and are scheduled; the others only gate and space them. */
export function keyClassOf(key: string): KeyClass {
  if (key.startsWith("domain:")) return "domain";
  if (key.startsWith("ip:")) return "ip";
  if (key.startsWith("group:")) return "group";
  return "host";
}

// Public-suffix lookups are asked once per lease; hosts repeat, so remember the answers (bounded).
const domainKeys = new Map<string, string | undefined>();
const DOMAIN_CACHE_MAX = 100_000;

export function domainKeyOf(hostKey: string): string | undefined {
  if (domainKeys.has(hostKey)) return domainKeys.get(hostKey);
  const domain = getDomain(hostKey, { allowPrivateDomains: true });
  const key = domain === null || domain === hostKey ? undefined : ownString(`domain:${domain}`);
  if (domainKeys.size >= DOMAIN_CACHE_MAX) domainKeys.clear();
  domainKeys.set(ownString(hostKey), key);
  return key;
}

/** The keys other than the host itself that a request to `hostKey` counts against. */
export function extraKeysFor(
  hostGroups: ReadonlyMap<string, string>,
  txn: Txn,
  hostKey: string,
  spec: CrawlSpec,
): string[] {
  const keys: string[] = [];
  const group = hostGroups.get(hostKey);
  if (group !== undefined) keys.push(`group:${group}`);
  // An IP-literal host is its own address; a named host's address is known from its last fetch.
  const literal = hostKey.replace(/^\[|\]$/g, "");
  const ip = txn.host(hostKey).ip ?? (isIP(literal) !== 0 ? literal : undefined);
  if (ip !== undefined) {
    const ipKey = `ip:${ip}`;
    if (spec.politeness.key === "ip" || txn.hostExists(ipKey)) keys.push(ipKey);
  }
  const domain = domainKeyOf(hostKey);
  // Once any crawl spaces a domain, every crawl's requests to it count, so the promise holds fleet-wide.
  if (domain !== undefined && (spec.politeness.key === "domain" || txn.hostExists(domain))) keys.push(domain);
  return keys;
}

/** What the ledger reads besides the transaction: host groups and the observer. */
export interface LedgerContext {
  /** host -> operator host group. */
  hostGroups: ReadonlyMap<string, string>;
  observer: FrontierObserver;
}

export type Gate = { open: true; keys: HostState[]; startsAtMs: number } | { open: false; untilMs?: number };

/**
 * Whether every key lets a request start by `horizonMs` (and from when); if
 * not, until when (or until a slot frees, when `waiter` is woken: the host
 * whose queue asked).
 */
export function gate(
  ctx: LedgerContext,
  txn: Txn,
  hostKey: string,
  spec: CrawlSpec,
  waiter: string,
  horizonMs: number,
): Gate {
  const keys = extraKeysFor(ctx.hostGroups, txn, hostKey, spec).map((k) => {
    const st = txn.host(k);
    st.minDelayMs = Math.max(st.minDelayMs, spec.politeness.minDelayMs);
    st.maxConcurrency = Math.min(st.maxConcurrency, spec.politeness.maxConcurrencyPerHost);
    return st;
  });
  let untilMs = 0;
  for (const k of keys) {
    if (k.inFlight >= k.maxConcurrency) {
      // Woken when that key's slot is released.
      txn.waitFor(k.hostKey, waiter);
      return { open: false };
    }
    untilMs = Math.max(untilMs, k.nextAllowedAtMs);
  }
  return untilMs > horizonMs ? { open: false, untilMs } : { open: true, keys, startsAtMs: untilMs };
}

/** A request is leased to start at `startsAtMs`: one slot on the host and on each of its other keys. */
export function takeSlots(
  ctx: LedgerContext,
  txn: Txn,
  host: HostState,
  keys: HostState[],
  startsAtMs: number,
): void {
  for (const st of [host, ...keys]) {
    if (st.lastEndAtMs !== undefined) {
      ctx.observer.gap(keyClassOf(st.hostKey), startsAtMs - st.lastEndAtMs, st.delayMs);
    }
    st.inFlight++;
    // With more than one lease allowed in flight, starts are still spaced by the minimum delay.
    st.nextAllowedAtMs = Math.max(st.nextAllowedAtMs, startsAtMs + txn.minDelayMs(st));
  }
}

/**
 * A request ended (reported or expired) at `endedAtMs` (not after now): the
 * host's and its keys' slots are freed and their next request spaced by
 * `delayMs` from that end; hosts waiting on a key are woken.
 */
export function releaseSlots(
  txn: Txn,
  host: HostState,
  keys: string[] | undefined,
  delay: { delayMs: number; source?: DelaySource },
  endedAtMs = txn.now,
): void {
  host.inFlight = Math.max(0, host.inFlight - 1);
  host.delayMs = delay.delayMs;
  if (delay.source !== undefined) host.delaySource = delay.source;
  host.nextAllowedAtMs = Math.max(host.nextAllowedAtMs, endedAtMs + delay.delayMs);
  host.lastEndAtMs = endedAtMs;
  // Another host may be waiting for this one: its robots.txt redirected here.
  txn.keyFreed(host.hostKey);
  for (const key of keys ?? []) {
    const st = txn.host(key);
    st.inFlight = Math.max(0, st.inFlight - 1);
    st.delayMs = Math.max(delay.delayMs, txn.minDelayMs(st));
    st.nextAllowedAtMs = Math.max(st.nextAllowedAtMs, endedAtMs + st.delayMs);
    st.lastEndAtMs = endedAtMs;
    txn.keyFreed(key);
  }
}

/**
 * The gap before the host's next request after a fetch: the largest of the
 * operator's minimum, the site's Crawl-delay, the adaptive delay (a multiple
 * of how long this fetch took), Retry-After and the error back-off.
 */
export function spacingAfterFetch(
  txn: Txn,
  crawl: CrawlRecord,
  host: HostState,
  fetch: { robots: RobotsPolicy | undefined; retryAfterMs: number; fetchMs: number },
): { delayMs: number; source: DelaySource } {
  const p = crawl.spec.politeness;
  const fetchMs = Math.max(0, Math.min(crawl.spec.fetch.timeoutMs, fetch.fetchMs));
  host.lastFetchMs = fetchMs;
  const level = host.backoffLevel ?? 0;
  return delayAfterFetch({
    minDelayMs: txn.minDelayMs(host),
    crawlDelayMs: fetch.robots
      ? robotsCrawlDelayMs(fetch.robots, crawl.spec.userAgent.product, p.robotsReadings)
      : 0,
    adaptiveMs: Math.min(p.maxAdaptiveDelayMs, Math.round(p.delayFactor * fetchMs)),
    retryAfterMs: Math.min(fetch.retryAfterMs, p.retryAfterCeilingMs),
    // A Retry-After is the site's own answer to "when"; the back-off guesses only without one.
    errorBackoffMs:
      level > 0 && fetch.retryAfterMs === 0 ? backoffMs(level, p.errorBackoffBaseMs, p.errorBackoffMaxMs) : 0,
  });
}

/** A lease ran out: the fetch may have happened, so the delay counts from now, as if it just ended. */
export function spacingAfterExpiry(txn: Txn, host: HostState): { delayMs: number } {
  return { delayMs: Math.max(host.delayMs, txn.minDelayMs(host)) };
}

/** 429, 5xx and network errors: back off, and park the host when it keeps failing or asks for too long a wait. */
export function recordFailure(
  txn: Txn,
  crawl: CrawlRecord,
  host: HostState,
  retryAfterMs: number,
  what: string,
): void {
  const p = crawl.spec.politeness;
  host.consecutiveErrors++;
  host.backoffLevel = (host.backoffLevel ?? 0) + 1;
  if (retryAfterMs > p.retryAfterCeilingMs) {
    park(
      txn,
      host,
      Math.max(p.parkMs, retryAfterMs),
      `retry_after_above_ceiling: ${Math.round(retryAfterMs / 1000)} s asked, ceiling ${Math.round(p.retryAfterCeilingMs / 1000)} s`,
    );
  } else if (host.consecutiveErrors >= p.breakerThreshold) {
    park(
      txn,
      host,
      p.parkMs,
      `circuit_breaker: ${host.consecutiveErrors} consecutive failures, last ${what}`,
    );
  }
}

function park(txn: Txn, host: HostState, forMs: number, reason: string): void {
  host.parkedUntilMs = txn.now + forMs;
  host.parkedReason = reason;
}

/** Success resets the failure streak and halves the back-off, so a recovered host speeds up gradually. */
export function recordSuccess(host: HostState): void {
  host.consecutiveErrors = 0;
  host.backoffLevel = Math.floor((host.backoffLevel ?? 0) / 2);
}

/** Whether the host is already at least as strict as the crawl asks (adopting its politeness changes nothing). */
export function isAsStrict(host: HostState, spec: CrawlSpec): boolean {
  return (
    host.minDelayMs >= spec.politeness.minDelayMs &&
    host.maxConcurrency <= spec.politeness.maxConcurrencyPerHost
  );
}

/** Politeness is per host across crawls: a crawl that meets a host makes it at least as strict as it asks. */
export function adoptCrawlPoliteness(host: HostState, spec: CrawlSpec): void {
  host.minDelayMs = Math.max(host.minDelayMs, spec.politeness.minDelayMs);
  host.maxConcurrency = Math.min(host.maxConcurrency, spec.politeness.maxConcurrencyPerHost);
}

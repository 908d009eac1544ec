import {
  backoffMs,
  hostKeyOf,
  type RobotsPolicy,
  robotsCrawlDelayMs,
  robotsPolicyFromFetch,
} from "@heed/shared";
import type { FrontierContext } from "./context.js";
import type { CrawlRecord, FetchReport, HostState, LeaseRecord, RobotsRecord } from "./records.js";
import { chainSoFar, hopToFollow } from "./robots-redirects.js";
import { queueSitemaps } from "./sitemaps.js";
import type { Txn } from "./txn.js";

/** RFC 9309 §2.4 allows a cached copy past 24 h while robots.txt is unreachable; Heed stops at 24 h. */
const ROBOTS_MAX_STALE_MS = 24 * 3600_000;

/**
 * Folds a robots.txt fetch into the origin's policy: a redirect to follow (the
 * next hop is leased on its own), a new copy, a failure on the robots retry
 * schedule (not the host's page-error back-off), or a failed refresh that keeps
 * the last good copy. Returns the policy the host's next request is spaced by
 * (its Crawl-delay).
 */
export function applyRobotsFetch(
  ctx: FrontierContext,
  txn: Txn,
  crawl: CrawlRecord,
  lease: LeaseRecord,
  r: FetchReport,
  error: string | undefined,
  retryAfterMs: number,
): RobotsPolicy | undefined {
  const politeness = crawl.spec.politeness;
  const previous = txn.robots(lease.origin);
  if (r.error?.kind === "released") {
    askRobotsAgain(txn, lease.origin);
    return undefined;
  }
  // The origin's host waits for the chain's answer; the lease may have been on another host.
  const originHost = txn.host(hostKeyOf(lease.origin));
  const chain = chainSoFar(previous, lease.url);
  const hop = hopToFollow(txn, r, chain);
  if (hop !== undefined && previous !== undefined) {
    const { pendingLeaseId: _done, ...rest } = previous;
    txn.setRobots({ ...rest, following: { url: hop, chain } });
    ctx.observer.robotsRedirectHop();
    return undefined;
  }
  const policy = robotsPolicyFromFetch(
    { origin: lease.origin, httpStatus: r.statusCode, body: r.robotsBody, ...(error ? { error } : {}) },
    txn.now,
    politeness.robotsCacheMs,
    previous !== undefined && previous.fetchedAtMs > 0 ? previous : undefined,
  );
  ctx.observer.robots(policy.status);
  if (r.error?.kind === "blocked_address") {
    // Not the site being away: asking again would be refused again. The origin's queued pages are
    // skipped with the refusal (lease.ts), until the robots.txt is due again.
    txn.setRobots({
      ...policy,
      failures: Math.max(policy.failures, politeness.robotsMaxAttempts),
      nextAttemptAtMs: txn.now + politeness.robotsCacheMs,
      addressRefused: refusalDetail(r),
    });
    return policy;
  }
  const next = withRetry(policy, txn.now, crawl, retryAfterMs);
  const lastGood =
    previous !== undefined && previous.fetchedAtMs > 0 && previous.status !== "unreachable"
      ? previous
      : undefined;
  if (
    next.status === "unreachable" &&
    lastGood !== undefined &&
    txn.now < lastGood.fetchedAtMs + ROBOTS_MAX_STALE_MS
  ) {
    // A refresh failed: keep obeying the last good copy (never older than 24 h) and try again later.
    const { pendingLeaseId: _done, following: _chain, ...good } = lastGood;
    const expiresAtMs = Math.min(lastGood.fetchedAtMs + ROBOTS_MAX_STALE_MS, next.nextAttemptAtMs);
    txn.setRobots({
      ...good,
      failures: next.failures,
      expiresAtMs,
      nextAttemptAtMs: next.nextAttemptAtMs,
      ...(next.error ? { error: next.error } : {}),
    });
    return lastGood;
  }
  txn.setRobots(chain.length > 1 ? { ...next, redirects: chain } : next);
  if (policy.status === "parsed") queueSitemaps(txn, crawl, policy);
  if (originHost.hostKey !== lease.hostKey) spaceByCrawlDelay(txn, crawl, originHost, policy);
  return policy;
}

/** The worker's account of an address refusal, bounded: it is kept with the URL and the robots record. */
export function refusalDetail(r: FetchReport): string {
  return (r.error?.message ?? "").slice(0, 300);
}

/**
 * A chain that ended on another host: that host was spaced by the report; the
 * origin's own host still owes the robots.txt's Crawl-delay before its pages.
 */
function spaceByCrawlDelay(txn: Txn, crawl: CrawlRecord, host: HostState, policy: RobotsPolicy): void {
  const delayMs = robotsCrawlDelayMs(
    policy,
    crawl.spec.userAgent.product,
    crawl.spec.politeness.robotsReadings,
  );
  if (delayMs > 0)
    host.nextAllowedAtMs = Math.max(host.nextAllowedAtMs, (host.lastEndAtMs ?? txn.now) + delayMs);
}

/**
 * The robots.txt lease ended without an answer from the site (handed back by a
 * draining worker, or expired with a worker gone quiet): not the site's fault,
 * so no failure is counted; the next lease for the origin fetches it again (the
 * same hop, when it was following redirects).
 */
export function askRobotsAgain(txn: Txn, origin: string): void {
  const previous = txn.robots(origin);
  if (previous === undefined) return;
  // The lease may have been on another host (a redirect hop): the origin's host looks again.
  txn.host(hostKeyOf(origin));
  const { pendingLeaseId: _ended, ...rest } = previous;
  txn.setRobots({ ...rest, expiresAtMs: 0, nextAttemptAtMs: 0 });
}

function withRetry(
  policy: RobotsPolicy,
  now: number,
  crawl: CrawlRecord,
  retryAfterMs: number,
): RobotsRecord {
  if (policy.status !== "unreachable") return { ...policy, nextAttemptAtMs: 0 };
  const p = crawl.spec.politeness;
  const wait =
    policy.failures >= p.robotsMaxAttempts
      ? p.robotsCacheMs
      : Math.max(retryAfterMs, backoffMs(policy.failures, p.robotsRetryBaseMs, p.robotsRetryMaxMs));
  return { ...policy, nextAttemptAtMs: now + wait };
}

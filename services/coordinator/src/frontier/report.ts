import {
  backoffMs,
  parseRetryAfterMs,
  proto,
  type RobotsPolicy,
  robotsCrawlDelayMs,
  robotsPolicyFromFetch,
} from "@heed/shared";
import { countHostBytes } from "./budgets.js";
import { type FrontierContext, inTxn } from "./context.js";
import { releaseKeys } from "./keys.js";
import { delayAfterFetch } from "./politeness.js";
import type { CrawlRecord, FetchOutcome, HostState, LeaseRecord, RobotsRecord } from "./records.js";
import { queueFromSitemap, queueSitemaps } from "./sitemaps.js";
import { tdmRulesFromJson } from "./tdm.js";
import type { Txn } from "./txn.js";

const Outcome = proto.ReportOutcome;
const Kind = proto.FetchErrorKind;

/** Errors that say the URL itself can never be fetched as leased; retrying would only repeat them. */
const NOT_RETRYABLE = new Set<proto.FetchErrorKind>([
  Kind.FETCH_ERROR_KIND_BLOCKED_ADDRESS,
  Kind.FETCH_ERROR_KIND_INVALID_URL,
]);

/**
 * Folds a batch of fetch results into the frontier in one transaction. A
 * result for an unknown, expired or already-reported lease changes nothing and
 * its ack says why.
 */
export function reportWithin(
  ctx: FrontierContext,
  txn: Txn,
  workerId: string,
  results: proto.FetchResult[],
): proto.ReportAck[] {
  return results.map((r) => {
    const ack = applyOne(ctx, txn, workerId, r);
    ctx.observer.report(outcomeName(ack.outcome));
    return ack;
  });
}

function outcomeName(outcome: proto.ReportOutcome): string {
  return (proto.ReportOutcome[outcome] ?? "UNKNOWN").replace("REPORT_OUTCOME_", "").toLowerCase();
}

function applyOne(ctx: FrontierContext, txn: Txn, workerId: string, r: proto.FetchResult): proto.ReportAck {
  const ack = (outcome: proto.ReportOutcome, reason: string) => ({ leaseId: r.leaseId, outcome, reason });
  const lease = ctx.store.leases.get(r.leaseId);
  if (lease === undefined) return ack(Outcome.REPORT_OUTCOME_UNKNOWN_LEASE, "no such lease");
  if (lease.state === "reported")
    return ack(Outcome.REPORT_OUTCOME_DUPLICATE, "already reported; nothing changed");
  if (lease.state === "expired")
    return ack(Outcome.REPORT_OUTCOME_EXPIRED, "lease expired before this report");
  if (txn.now > lease.expiresAtMs) {
    expireLease(ctx, txn, lease);
    return ack(Outcome.REPORT_OUTCOME_EXPIRED, "lease expired before this report");
  }
  endLease(ctx, lease, "reported", txn.now);
  const crawl = txn.crawl(lease.crawlId);
  const host = txn.host(lease.hostKey);
  host.inFlight = Math.max(0, host.inFlight - 1);
  host.fetches++;
  if (r.remoteAddress !== "") host.ip = r.remoteAddress;
  host.bytes += r.bodyBytes;
  if (crawl === undefined) return ack(Outcome.REPORT_OUTCOME_ACCEPTED, "crawl no longer exists");
  const retryAfterMs = parseRetryAfterMs(r.retryAfter || undefined, txn.now) ?? 0;
  if (lease.kind === "robots") {
    applyRobots(ctx, txn, crawl, host, lease, r, retryAfterMs);
  } else {
    applyPage(ctx, txn, crawl, host, lease, r, workerId, retryAfterMs);
  }
  return ack(Outcome.REPORT_OUTCOME_ACCEPTED, "");
}

export function endLease(
  ctx: FrontierContext,
  lease: LeaseRecord,
  state: "reported" | "expired",
  now: number,
): void {
  lease.state = state;
  lease.endedAtMs = now;
  ctx.store.leases.putSync(lease.id, lease);
  ctx.store.activeLeases.removeSync(lease.id);
  ctx.active.delete(lease.id);
}

function errorText(r: proto.FetchResult): string | undefined {
  const kind = r.error?.kind ?? Kind.FETCH_ERROR_KIND_UNSPECIFIED;
  if (kind === Kind.FETCH_ERROR_KIND_UNSPECIFIED) return undefined;
  return `${proto.FetchErrorKind[kind] ?? kind}: ${r.error?.message ?? ""}`;
}

function applyRobots(
  ctx: FrontierContext,
  txn: Txn,
  crawl: CrawlRecord,
  host: HostState,
  lease: LeaseRecord,
  r: proto.FetchResult,
  retryAfterMs: number,
): void {
  const politeness = crawl.spec.politeness;
  const previous = txn.robots(lease.origin);
  if (r.error?.kind === Kind.FETCH_ERROR_KIND_RELEASED) {
    askRobotsAgain(txn, lease.origin);
    spaceNext(ctx, txn, crawl, host, lease, undefined, 0, r);
    return;
  }
  const error = errorText(r);
  const policy = robotsPolicyFromFetch(
    { origin: lease.origin, httpStatus: r.statusCode, body: r.robotsBody, ...(error ? { error } : {}) },
    txn.now,
    politeness.robotsCacheMs,
    previous !== undefined && previous.fetchedAtMs > 0 ? previous : undefined,
  );
  // Robots failures follow the robots retry schedule, not the host's page-error backoff.
  ctx.observer.robots(policy.status);
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
    const { pendingLeaseId: _done, ...good } = lastGood;
    const expiresAtMs = Math.min(lastGood.fetchedAtMs + ROBOTS_MAX_STALE_MS, next.nextAttemptAtMs);
    txn.setRobots({
      ...good,
      failures: next.failures,
      expiresAtMs,
      nextAttemptAtMs: next.nextAttemptAtMs,
      ...(next.error ? { error: next.error } : {}),
    });
    spaceNext(ctx, txn, crawl, host, lease, lastGood, retryAfterMs, r);
    return;
  }
  txn.setRobots(next);
  if (policy.status === "parsed") queueSitemaps(txn, crawl, policy);
  spaceNext(ctx, txn, crawl, host, lease, policy, retryAfterMs, r);
}

/** RFC 9309 §2.4 allows a cached copy past 24 h while robots.txt is unreachable; Heed stops at 24 h. */
const ROBOTS_MAX_STALE_MS = 24 * 3600_000;

/**
 * The robots.txt lease ended without an answer from the site (handed back by a
 * draining worker, or expired with a worker gone quiet): not the site's fault,
 * so no failure is counted; the next lease for the origin fetches it again.
 */
function askRobotsAgain(txn: Txn, origin: string): void {
  const previous = txn.robots(origin);
  if (previous === undefined) return;
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

function applyPage(
  ctx: FrontierContext,
  txn: Txn,
  crawl: CrawlRecord,
  host: HostState,
  lease: LeaseRecord,
  r: proto.FetchResult,
  workerId: string,
  retryAfterMs: number,
): void {
  const hash = lease.urlHash as string;
  const rec = txn.store.urls.get([crawl.id, hash]);
  // Fencing: only the URL's current lease may complete it.
  if (rec === undefined || rec.state !== "leased" || rec.leaseId !== lease.id) return;
  const errKind = r.error?.kind ?? Kind.FETCH_ERROR_KIND_UNSPECIFIED;
  const error = errorText(r);
  const outcome: FetchOutcome = {
    status: r.statusCode,
    bytes: r.bodyBytes,
    truncated: r.truncated,
    contentType: r.contentType,
    digest: r.digestSha256,
    startedAtMs: r.startedAtMs,
    finishedAtMs: r.finishedAtMs,
    outlinks: r.outlinks.length,
    workerId,
    ...(r.redirectLocation ? { redirect: r.redirectLocation } : {}),
    ...(error ? { errorKind: proto.FetchErrorKind[errKind], errorCode: r.error?.code ?? "", error } : {}),
    ...(r.noindex ? { noindex: true } : {}),
    ...(r.noarchive ? { noarchive: true } : {}),
    ...(r.nofollow ? { nofollow: true } : {}),
    ...(r.remoteAddress ? { remoteAddress: r.remoteAddress } : {}),
    ...(r.capture !== undefined && r.capture.file !== ""
      ? { capture: { file: r.capture.file, offset: r.capture.offset, length: r.capture.length } }
      : {}),
  };
  const fetch = crawl.spec.fetch;
  if (errKind === Kind.FETCH_ERROR_KIND_RELEASED) {
    // Handed back by a draining worker: the attempt does not count against the URL.
    rec.attempts = Math.max(0, rec.attempts - 1);
    txn.requeue(crawl, hash, rec, txn.now);
    spaceNext(ctx, txn, crawl, host, lease, txn.robots(lease.origin), 0, r);
    return;
  }
  rec.result = outcome;
  ctx.observer.fetched(
    error !== undefined ? "error" : `${Math.floor(r.statusCode / 100)}xx`,
    r.bodyBytes,
    Math.max(0, r.finishedAtMs - r.startedAtMs) / 1000,
  );
  const failedHttp = r.statusCode === 429 || r.statusCode >= 500;
  if (error !== undefined || failedHttp) {
    if (!NOT_RETRYABLE.has(errKind))
      recordFailure(txn, crawl, host, retryAfterMs, error ?? `HTTP ${r.statusCode}`);
    if (NOT_RETRYABLE.has(errKind)) {
      txn.fail(crawl, hash, rec, "not_retryable");
    } else if (rec.attempts < fetch.maxAttempts) {
      const wait = Math.max(retryAfterMs, backoffMs(rec.attempts, fetch.retryBaseMs, fetch.retryMaxMs));
      txn.requeue(crawl, hash, rec, txn.now + wait);
    } else {
      txn.fail(crawl, hash, rec, error !== undefined ? "fetch_error" : "http_error");
    }
  } else {
    recordSuccess(host);
    delete rec.leaseId;
    txn.moveUrl(crawl, rec, "done");
    txn.putUrl(hash, rec);
    if (r.tdmReserved && crawl.spec.honourTdmReservation) {
      // A page reserving its TDM rights is taken as the origin's answer: no more of it for this crawl.
      const tdm = txn.store.tdm.get(rec.origin) ?? { origin: rec.origin, fetchedAtMs: txn.now, rules: [] };
      txn.store.tdm.putSync(rec.origin, { ...tdm, headerReserved: true });
    }
    crawl.bytes += r.bodyBytes;
    countHostBytes(ctx, crawl, rec.hostKey, r.bodyBytes);
    const cls = String(r.statusCode);
    crawl.statusCounts[cls] = (crawl.statusCounts[cls] ?? 0) + 1;
    // Redirect targets go through scope, robots and politeness like any URL; they do not add depth.
    // A redirected tdmrep.json is read as absent rather than chased to another origin.
    if (r.redirectLocation && rec.kind !== "tdmrep") {
      txn.discover(crawl, r.redirectLocation, rec.depth, rec.url, rec.kind);
    }
    if (rec.kind === "tdmrep") {
      const ok = r.statusCode >= 200 && r.statusCode < 300;
      txn.store.tdm.putSync(rec.origin, {
        origin: rec.origin,
        fetchedAtMs: txn.now,
        rules: ok ? tdmRulesFromJson(r.wellKnownBody) : [],
        ...(txn.store.tdm.get(rec.origin)?.headerReserved ? { headerReserved: true } : {}),
      });
    } else if (rec.kind === "sitemap") {
      queueFromSitemap(txn, crawl, rec.url, r.outlinks, r.sitemapIndex);
    } else if (!r.nofollow) {
      const cap = Math.min(r.outlinks.length, fetch.maxOutlinks);
      for (let i = 0; i < cap; i++) txn.discover(crawl, r.outlinks[i] as string, rec.depth + 1, rec.url);
    }
  }
  spaceNext(ctx, txn, crawl, host, lease, txn.robots(lease.origin), retryAfterMs, r);
}

/**
 * Spaces the host's next request after this one: the largest of the operator's
 * minimum, the site's Crawl-delay, the adaptive delay (a multiple of how long
 * this fetch took), Retry-After and the error back-off. The host's extra
 * politeness keys (domain, group) are spaced the same.
 */
function spaceNext(
  ctx: FrontierContext,
  txn: Txn,
  crawl: CrawlRecord,
  host: HostState,
  lease: LeaseRecord,
  robots: RobotsPolicy | undefined,
  retryAfterMs: number,
  r: proto.FetchResult,
): void {
  const p = crawl.spec.politeness;
  const fetchMs = Math.max(0, Math.min(crawl.spec.fetch.timeoutMs, r.finishedAtMs - r.startedAtMs));
  host.lastFetchMs = fetchMs;
  const level = host.backoffLevel ?? 0;
  const { delayMs, source } = delayAfterFetch({
    minDelayMs: txn.minDelayMs(host),
    crawlDelayMs: robots ? robotsCrawlDelayMs(robots, crawl.spec.userAgent.product) : 0,
    adaptiveMs: Math.min(p.maxAdaptiveDelayMs, Math.round(p.delayFactor * fetchMs)),
    retryAfterMs: Math.min(retryAfterMs, p.retryAfterCeilingMs),
    // A Retry-After is the site's own answer to "when"; the back-off guesses only without one.
    errorBackoffMs:
      level > 0 && retryAfterMs === 0 ? backoffMs(level, p.errorBackoffBaseMs, p.errorBackoffMaxMs) : 0,
  });
  host.delayMs = delayMs;
  host.delaySource = source;
  host.nextAllowedAtMs = Math.max(host.nextAllowedAtMs, txn.now + delayMs);
  host.lastEndAtMs = txn.now;
  releaseKeys(ctx, txn, lease.keys, delayMs);
}

/** 429, 5xx and network errors: back off, and park the host when it keeps failing or asks for too long a wait. */
function recordFailure(
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
function recordSuccess(host: HostState): void {
  host.consecutiveErrors = 0;
  host.backoffLevel = Math.floor((host.backoffLevel ?? 0) / 2);
}

/** A lease that ran out: the host slot is freed, the URL retried with backoff or failed. */
export function expireLease(ctx: FrontierContext, txn: Txn, lease: LeaseRecord): void {
  endLease(ctx, lease, "expired", txn.now);
  const host = txn.host(lease.hostKey);
  host.inFlight = Math.max(0, host.inFlight - 1);
  // The fetch may have happened: count the delay from now, as if it just ended.
  host.delayMs = Math.max(host.delayMs, txn.minDelayMs(host));
  host.nextAllowedAtMs = Math.max(host.nextAllowedAtMs, txn.now + host.delayMs);
  host.lastEndAtMs = txn.now;
  releaseKeys(ctx, txn, lease.keys, host.delayMs);
  ctx.observer.leaseExpired(lease.kind === "robots" ? "robots" : "page");
  const crawl = txn.crawl(lease.crawlId);
  if (crawl === undefined) return;
  if (lease.kind === "robots") {
    askRobotsAgain(txn, lease.origin);
    return;
  }
  const hash = lease.urlHash as string;
  const rec = txn.store.urls.get([crawl.id, hash]);
  if (rec === undefined || rec.state !== "leased" || rec.leaseId !== lease.id) return;
  const fetch = crawl.spec.fetch;
  if (rec.attempts >= fetch.maxAttempts) {
    txn.fail(crawl, hash, rec, "lease_expired");
  } else {
    txn.requeue(crawl, hash, rec, txn.now + backoffMs(rec.attempts, fetch.retryBaseMs, fetch.retryMaxMs));
  }
}

/** Expires every active lease whose time is up; one transaction for all of them. */
export function expireDue(ctx: FrontierContext): number {
  const now = ctx.clock();
  const due: string[] = [];
  for (const [id, expiresAt] of ctx.active) if (expiresAt < now) due.push(id);
  if (due.length === 0) return 0;
  return inTxn(ctx, (txn) => {
    let n = 0;
    for (const id of due) {
      const lease = ctx.store.leases.get(id);
      if (lease === undefined || lease.state !== "active") {
        ctx.active.delete(id);
        continue;
      }
      expireLease(ctx, txn, lease);
      n++;
    }
    return n;
  });
}

import { backoffMs, parseRetryAfterMs, type RobotsPolicy } from "@heed/shared";
import { countCrawlFetch, countHostBytes } from "./budgets.js";
import type { FrontierContext } from "./context.js";
import { indexCapture } from "./digests.js";
import { expireLease } from "./expiry.js";
import { leaseStartsAtMs } from "./lease.js";
import { refusedAfterFetch } from "./preferences.js";
import type {
  CrawlRecord,
  EarlierCapture,
  FetchErrorKind,
  FetchOutcome,
  FetchReport,
  LeaseRecord,
  ReportAnswer,
  ReportOutcome,
  UrlRecord,
} from "./records.js";
import { applyRobotsFetch, refusalDetail } from "./robots-refresh.js";
import { queueFromSitemap } from "./sitemaps.js";
import { recordFailure, recordSuccess, releaseSlots, spacingAfterFetch } from "./slots.js";
import { tdmRulesFromJson } from "./tdm.js";
import type { Txn } from "./txn.js";

/** Errors that say the URL itself can never be fetched as leased; retrying would only repeat them. */
const NOT_RETRYABLE = new Set<FetchErrorKind | undefined>(["blocked_address", "invalid_url"]);

/**
 * Folds a batch of fetch results into the frontier in one transaction. A
 * result for an unknown, expired or already-reported lease changes nothing and
 * its ack says why. `arrivedAtMs`: when the report reached this coordinator.
 */
export function reportWithin(
  ctx: FrontierContext,
  txn: Txn,
  workerId: string,
  results: FetchReport[],
  arrivedAtMs = txn.now,
): ReportAnswer[] {
  return results.map((r) => {
    const ack = applyOne(ctx, txn, workerId, r, arrivedAtMs);
    // A request's end is counted apart, so "accepted" stays one per fetch, as before two phases.
    ctx.observer.report(r.requestEnded && ack.outcome === "accepted" ? "request_ended" : ack.outcome);
    return ack;
  });
}

function applyOne(
  ctx: FrontierContext,
  txn: Txn,
  workerId: string,
  r: FetchReport,
  arrivedAtMs: number,
): ReportAnswer {
  const ack = (outcome: ReportOutcome, reason: string) => ({ leaseId: r.leaseId, outcome, reason });
  const lease = ctx.store.leases.get(r.leaseId);
  if (lease === undefined) return ack("unknown_lease", "no such lease");
  if (lease.state === "reported") return ack("duplicate", "already reported; nothing changed");
  if (lease.state === "expired") return ack("expired", "lease expired before this report");
  if (txn.now > lease.expiresAtMs) {
    expireLease(ctx, txn, lease);
    return ack("expired", "lease expired before this report");
  }
  const endedAtMs = requestEndOf(txn, lease, r, arrivedAtMs);
  const retryAfterMs = retryAfterOf(r, endedAtMs);
  if (lease.kind === "robots") {
    // A robots.txt decides what comes next for its origin: it is applied whole, in one phase.
    if (r.requestEnded) return ack("accepted", "a robots.txt request ends with its full report");
    txn.endLease(lease, "reported");
    const crawl = endRequest(txn, lease, r, { endedAtMs, retryAfterMs }, (c) =>
      applyRobotsFetch(ctx, txn, c, lease, r, errorText(r), retryAfterMs),
    );
    return ack("accepted", crawl === undefined ? "crawl no longer exists" : "");
  }
  // Read once for both phases' work: the host's back-off and the URL's outcome.
  const url = leasedUrl(txn, lease);
  const pageRequest = (c: CrawlRecord) => {
    if (url !== undefined) countFailureOrSuccess(txn, c, lease, r, retryAfterMs);
    return txn.robots(lease.origin);
  };
  if (r.requestEnded) {
    // Phase one: the request is over, the capture not yet durable. The host's slots free now and
    // its delay runs from the request's end; the URL stays leased (fenced by this lease) until phase two.
    if (lease.requestEndedAtMs !== undefined) return ack("duplicate", "request end already reported");
    txn.endLeaseRequest(lease, endedAtMs);
    endRequest(txn, lease, r, { endedAtMs, retryAfterMs }, pageRequest);
    return ack("accepted", "");
  }
  const requestOpen = lease.requestEndedAtMs === undefined;
  txn.endLease(lease, "reported");
  const crawl = requestOpen
    ? endRequest(txn, lease, r, { endedAtMs, retryAfterMs }, pageRequest)
    : txn.crawl(lease.crawlId);
  if (crawl === undefined) return ack("accepted", "crawl no longer exists");
  if (url !== undefined) applyPage(ctx, txn, crawl, lease, url, r, workerId, errorText(r), retryAfterMs);
  return ack("accepted", "");
}

/**
 * When the request ended, at the latest: the report's arrival less the time the worker held the
 * result (its report batching, retries). The time on the wire is not subtracted, so this is never
 * before the request really ended; a worker's figure cannot put it before the fetch could start.
 */
function requestEndOf(txn: Txn, lease: LeaseRecord, r: FetchReport, arrivedAtMs: number): number {
  return Math.min(txn.now, Math.max(leaseStartsAtMs(lease), arrivedAtMs - (r.heldMs ?? 0)));
}

/**
 * A Retry-After to honour, as a delay from the request's end (an HTTP date is read against it):
 * none for a lease handed back by a draining worker (nothing was asked of the site).
 */
function retryAfterOf(r: FetchReport, endedAtMs: number): number {
  return r.error?.kind === "released" ? 0 : (parseRetryAfterMs(r.retryAfter || undefined, endedAtMs) ?? 0);
}

/**
 * A request is over: what the host learned from it is counted, its slots are
 * freed and its next request spaced from its end. `settle` applies what the
 * request means for its crawl and returns the robots policy to space by.
 * Returns the lease's crawl, if it still exists.
 */
function endRequest(
  txn: Txn,
  lease: LeaseRecord,
  r: FetchReport,
  { endedAtMs, retryAfterMs }: { endedAtMs: number; retryAfterMs: number },
  settle: (crawl: CrawlRecord) => RobotsPolicy | undefined,
): CrawlRecord | undefined {
  const crawl = txn.crawl(lease.crawlId);
  const host = txn.host(lease.hostKey);
  host.fetches++;
  if (r.remoteAddress !== "") host.ip = r.remoteAddress;
  host.bytes += r.bodyBytes;
  countCrawlFetch(txn, lease.crawlId, lease.hostKey, r.bodyBytes);
  if (crawl === undefined) {
    releaseSlots(txn, host, lease.keys, { delayMs: txn.minDelayMs(host) }, endedAtMs);
    return undefined;
  }
  const robots = settle(crawl);
  const spacing = spacingAfterFetch(txn, crawl, host, {
    robots,
    retryAfterMs,
    fetchMs: r.finishedAtMs - r.startedAtMs,
  });
  releaseSlots(txn, host, lease.keys, spacing, endedAtMs);
  return crawl;
}

/** 429, 5xx and network errors back the host off; a success eases it. A released lease asked nothing. */
function countFailureOrSuccess(
  txn: Txn,
  crawl: CrawlRecord,
  lease: LeaseRecord,
  r: FetchReport,
  retryAfterMs: number,
): void {
  if (r.error?.kind === "released") return;
  const host = txn.host(lease.hostKey);
  if (r.error !== undefined || failedHttp(r)) {
    if (!NOT_RETRYABLE.has(r.error?.kind))
      recordFailure(txn, crawl, host, retryAfterMs, errorText(r) ?? `HTTP ${r.statusCode}`);
  } else {
    recordSuccess(host);
  }
}

function failedHttp(r: FetchReport): boolean {
  return r.statusCode === 429 || r.statusCode >= 500;
}

/** Fencing: only the URL's current lease may complete it (or count its request against the host). */
function leasedUrl(txn: Txn, lease: LeaseRecord): UrlRecord | undefined {
  const rec = txn.store.urls.get([lease.crawlId, lease.urlHash as string]);
  return rec !== undefined && rec.state === "leased" && rec.leaseId === lease.id ? rec : undefined;
}

/** The spelling stored evidence has always used for an error kind (shown by the admin API and exports). */
function storedErrorKind(kind: FetchErrorKind): string {
  return `FETCH_ERROR_KIND_${kind.toUpperCase()}`;
}

function errorText(r: FetchReport): string | undefined {
  return r.error === undefined ? undefined : `${storedErrorKind(r.error.kind)}: ${r.error.message}`;
}

/** Folds a page (or sitemap, or tdmrep.json) result into its URL (phase two: its capture is durable). */
function applyPage(
  ctx: FrontierContext,
  txn: Txn,
  crawl: CrawlRecord,
  lease: LeaseRecord,
  rec: UrlRecord,
  r: FetchReport,
  workerId: string,
  error: string | undefined,
  retryAfterMs: number,
): void {
  const hash = lease.urlHash as string;
  const errKind = r.error?.kind;
  const fetch = crawl.spec.fetch;
  if (errKind === "released") {
    // The attempt does not count against the URL.
    rec.attempts = Math.max(0, rec.attempts - 1);
    txn.requeue(crawl, hash, rec, txn.now);
    return;
  }
  rec.result = outcomeOf(r, workerId, error, rec.earlier);
  ctx.observer.fetched(
    error !== undefined ? "error" : `${Math.floor(r.statusCode / 100)}xx`,
    r.bodyBytes,
    Math.max(0, r.finishedAtMs - r.startedAtMs) / 1000,
  );
  if (error !== undefined || failedHttp(r)) {
    if (errKind === "blocked_address") {
      rec.reasonDetail = refusalDetail(r);
      txn.fail(crawl, hash, rec, "address_refused");
    } else if (NOT_RETRYABLE.has(errKind)) {
      txn.fail(crawl, hash, rec, "not_retryable");
    } else {
      if (rec.attempts < fetch.maxAttempts) {
        const wait = Math.max(retryAfterMs, backoffMs(rec.attempts, fetch.retryBaseMs, fetch.retryMaxMs));
        txn.requeue(crawl, hash, rec, txn.now + wait);
      } else {
        txn.fail(crawl, hash, rec, error !== undefined ? "fetch_error" : "http_error");
      }
    }
    return;
  }
  delete rec.leaseId;
  // Refused for every purpose the crawl has: fetched, but not kept (its links are still followed).
  if (refusedAfterFetch(txn, ctx.observer, crawl, rec, r)) txn.skip(crawl, hash, rec, "content_usage");
  else {
    txn.moveUrl(crawl, rec, "done");
    txn.putUrl(hash, rec);
    // Durable and done: later identical payloads of this crawl (and of crawls naming it) may refer to it.
    indexCapture(txn, crawl, rec, r);
  }
  if (r.tdmReserved && crawl.spec.honourTdmReservation) {
    // A page reserving its TDM rights is taken as the origin's answer: no more of it for this crawl.
    const tdm = txn.tdm(rec.origin) ?? { origin: rec.origin, fetchedAtMs: txn.now, rules: [] };
    txn.putTdm({ ...tdm, headerReserved: true });
  }
  crawl.bytes += r.bodyBytes;
  countHostBytes(txn, crawl, rec.hostKey, r.bodyBytes);
  const cls = String(r.statusCode);
  crawl.statusCounts[cls] = (crawl.statusCounts[cls] ?? 0) + 1;
  // Redirect targets go through scope, robots and politeness like any URL; they do not add depth.
  // A redirected tdmrep.json is read as absent rather than chased to another origin.
  if (r.redirectLocation && rec.kind !== "tdmrep") {
    txn.discover(crawl, r.redirectLocation, rec.depth, rec.url, rec.kind);
  }
  if (rec.kind === "tdmrep") {
    const ok = r.statusCode >= 200 && r.statusCode < 300;
    txn.putTdm({
      origin: rec.origin,
      fetchedAtMs: txn.now,
      rules: ok ? tdmRulesFromJson(r.wellKnownBody) : [],
      ...(txn.tdm(rec.origin)?.headerReserved ? { headerReserved: true } : {}),
    });
  } else if (rec.kind === "sitemap") {
    queueFromSitemap(txn, crawl, rec.url, r.outlinks, r.sitemapIndex);
  } else if (!r.nofollow) {
    const links = r.outlinks.slice(0, fetch.maxOutlinks);
    if (rec.depth + 1 > crawl.spec.maxDepth) {
      // Kept for a shorter path found later; none is shorter than a seed's (a seed-list crawl keeps none).
      if (rec.depth > 0) txn.keepPastDepth(crawl, hash, links);
    } else for (const link of links) txn.discover(crawl, link, rec.depth + 1, rec.url);
  }
}

/**
 * The evidence kept with the URL. A recrawl's 304 keeps the earlier capture it
 * stands for, and its validators unless the 304 sent new ones, so the next
 * recrawl asks the same way and refers to the same record.
 */
function outcomeOf(
  r: FetchReport,
  workerId: string,
  error: string | undefined,
  earlier: EarlierCapture | undefined,
): FetchOutcome {
  const notModified = r.statusCode === 304 && earlier !== undefined && error === undefined;
  const etag = r.etag || (notModified ? earlier.etag : "");
  const lastModified = r.lastModified || (notModified ? earlier.lastModified : "");
  return {
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
    ...(r.error && error ? { errorKind: storedErrorKind(r.error.kind), errorCode: r.error.code, error } : {}),
    ...(r.noindex ? { noindex: true } : {}),
    ...(r.noarchive ? { noarchive: true } : {}),
    ...(r.nofollow ? { nofollow: true } : {}),
    ...(r.remoteAddress ? { remoteAddress: r.remoteAddress } : {}),
    ...(r.capture !== undefined ? { capture: r.capture } : {}),
    ...(etag !== "" ? { etag } : {}),
    ...(lastModified !== "" ? { lastModified } : {}),
    ...(notModified
      ? {
          notModified: {
            targetUri: earlier.targetUri,
            warcDate: earlier.warcDate,
            recordId: earlier.recordId,
          },
        }
      : {}),
  };
}

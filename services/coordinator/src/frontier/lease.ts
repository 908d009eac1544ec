import { randomBytes } from "node:crypto";
import {
  fromHeader,
  proto,
  ROBOTS_MAX_BYTES,
  robotsCrawlDelayMs,
  robotsUrlOf,
  robotsVerdict,
  userAgentHeader,
} from "@heed/shared";
import { budgetVerdict, countHostPage } from "./budgets.js";
import type { FrontierContext } from "./context.js";
import { gate } from "./keys.js";
import { keyClassOf } from "./observer.js";
import type { CrawlRecord, HostState, LeaseRecord, UrlRecord } from "./records.js";
import { tdmVerdict } from "./tdm.js";
import { MAX_DEPTH_KEY, type Txn } from "./txn.js";

/** Queue entries looked at per host per lease round; skipped entries (robots, budget) do not cost a request. */
const SCAN_LIMIT = 256;

export interface LeaseRound {
  leases: proto.Lease[];
  /** With no lease: how long until something may be due. */
  retryAfterMs: number;
}

/** Hands out up to `capacity` leases that are due now, within the caller's transaction. */
export function leaseWithin(
  ctx: FrontierContext,
  txn: Txn,
  workerId: string,
  capacity: number,
): proto.Lease[] {
  const out: proto.Lease[] = [];
  while (out.length < capacity) {
    const hostKey = ctx.schedule.takeDue(txn.now);
    if (hostKey === undefined) break;
    const lease = leaseFromHost(ctx, txn, hostKey, workerId);
    if (lease !== undefined) out.push(lease);
  }
  return out;
}

/** The answer to a lease request, with a hint of when to ask again when nothing was due. */
export function leaseRound(ctx: FrontierContext, leases: proto.Lease[]): LeaseRound {
  if (leases.length > 0) return { leases, retryAfterMs: 0 };
  const next = ctx.schedule.nextDueMs();
  const wait = next === undefined ? ctx.settings.maxWaitHintMs : next - ctx.clock();
  return { leases, retryAfterMs: Math.max(10, Math.min(ctx.settings.maxWaitHintMs, wait)) };
}

function leaseFromHost(
  ctx: FrontierContext,
  txn: Txn,
  hostKey: string,
  workerId: string,
): proto.Lease | undefined {
  const host = txn.host(hostKey);
  const now = txn.now;
  if (host.inFlight >= host.maxConcurrency) return undefined;
  // Entries that can be settled without a request (robots, budget) are settled even while the host
  // must wait; only a request waits for its next-allowed time.
  const mayRequest = host.nextAllowedAtMs <= now;
  let earliest = Number.POSITIVE_INFINITY;
  let sawPaused = false;
  const blocked = txn.policy(hostKey)?.mode === "block";
  const entries = [
    ...ctx.store.queue.getRange({ start: [hostKey], end: [hostKey, MAX_DEPTH_KEY], limit: SCAN_LIMIT }),
  ];
  for (const { key, value } of entries) {
    const [crawlId, hash] = value;
    const rec = ctx.store.urls.get([crawlId, hash]);
    const crawl = txn.crawl(crawlId);
    if (rec === undefined || crawl === undefined) {
      ctx.log.error({ crawlId, hash, hostKey }, "queue entry without URL record; dropping it");
      ctx.store.queue.removeSync(key);
      continue;
    }
    if (crawl.state === "cancelled") {
      txn.skip(crawl, hash, rec, "crawl_cancelled");
      continue;
    }
    if (crawl.state === "paused") {
      sawPaused = true;
      continue;
    }
    if (blocked) {
      // The site asked not to be crawled: settle its URLs without a request.
      txn.skip(crawl, hash, rec, "opt_out");
      continue;
    }
    if ((host.parkedUntilMs ?? 0) > now) {
      txn.skip(crawl, hash, rec, "host_parked");
      continue;
    }
    if (rec.notBeforeMs > now) {
      earliest = Math.min(earliest, rec.notBeforeMs);
      continue;
    }
    const robots = txn.robots(rec.origin);
    const robotsKnown =
      robots !== undefined &&
      robots.pendingLeaseId === undefined &&
      (robots.status === "unreachable" ? robots.nextAttemptAtMs > now : robots.expiresAtMs > now);
    if (!robotsKnown) {
      if (robots?.pendingLeaseId !== undefined) {
        // Another lease on this host is fetching the robots.txt; wait for its report.
        return undefined;
      }
      if (!mayRequest) return deferTo(txn, hostKey, host.nextAllowedAtMs);
      const g = gate(ctx, txn, hostKey, crawl.spec);
      if (!g.open) return deferTo(txn, hostKey, g.untilMs ?? now + WAIT_FOR_SLOT_MS);
      return issueRobotsLease(ctx, txn, crawl, host, g.keys, rec.origin, workerId);
    }
    if (robots.status === "unreachable" && robots.failures < crawl.spec.politeness.robotsMaxAttempts) {
      // RFC 9309 §2.3.1.4: unreachable means disallow all, for now; try again later.
      return deferTo(txn, hostKey, robots.nextAttemptAtMs);
    }
    const verdict = robotsVerdict(robots, rec.url, crawl.spec.userAgent.product);
    rec.robots = {
      digest: robots.digest,
      verdict: verdict.reason,
      ...(verdict.line ? { line: verdict.line } : {}),
    };
    if (!verdict.allowed) {
      txn.skip(
        crawl,
        hash,
        rec,
        verdict.reason === "robots_unreachable" ? "robots_unreachable" : "robots_disallowed",
      );
      continue;
    }
    if (robotsCrawlDelayMs(robots, crawl.spec.userAgent.product) > crawl.spec.politeness.maxCrawlDelayMs) {
      // Never crawl faster than the site asked: a Crawl-delay we will not wait for means not crawling.
      txn.skip(crawl, hash, rec, "crawl_delay_too_long");
      continue;
    }
    const tdm = tdmVerdict(txn, crawl, rec);
    if (tdm === "reserved") {
      txn.skip(crawl, hash, rec, "tdm_reserved");
      continue;
    }
    if (tdm === "wait") {
      earliest = Math.min(earliest, now + 500);
      continue;
    }
    const budget = rec.kind === "tdmrep" ? {} : budgetVerdict(ctx, crawl, rec, now);
    if (budget.skip !== undefined) {
      txn.skip(crawl, hash, rec, budget.skip);
      continue;
    }
    if (budget.waitUntilMs !== undefined) {
      earliest = Math.min(earliest, budget.waitUntilMs);
      continue;
    }
    if (!mayRequest) return deferTo(txn, hostKey, host.nextAllowedAtMs);
    const g = gate(ctx, txn, hostKey, crawl.spec);
    if (!g.open) return deferTo(txn, hostKey, g.untilMs ?? now + WAIT_FOR_SLOT_MS);
    return issuePageLease(ctx, txn, crawl, host, g.keys, hash, rec, workerId);
  }
  // Paused crawls' URLs wait in the queue; look again in a second rather than on every request.
  if (sawPaused) earliest = Math.min(earliest, now + 1000);
  if (entries.length === SCAN_LIMIT) txn.deferred.set(hostKey, now);
  else if (Number.isFinite(earliest)) txn.deferred.set(hostKey, earliest);
  return undefined;
}

const TDMREP_MAX_BYTES = 512 * 1024;

/** A host waiting on a busy shared key is woken when it frees; this is only the fallback. */
const WAIT_FOR_SLOT_MS = 5000;

function leaseTimes(
  ctx: FrontierContext,
  now: number,
  timeoutMs: number,
): { expiresAtMs: number; maxExpiresAtMs: number } {
  const margin = ctx.settings.leaseMarginMs;
  return {
    expiresAtMs: now + Math.min(timeoutMs, ctx.settings.leaseTtlMs) + margin,
    maxExpiresAtMs: now + timeoutMs + margin,
  };
}

/** Extends active leases of `workerId` by one TTL, never past their maximum. */
export function renewWithin(
  ctx: FrontierContext,
  txn: Txn,
  workerId: string,
  leaseIds: string[],
): proto.RenewAck[] {
  return leaseIds.map((leaseId) => {
    const no = (reason: string) => ({ leaseId, renewed: false, expiresAtMs: 0, reason });
    const lease = ctx.store.leases.get(leaseId);
    if (lease === undefined) return no("no such lease");
    if (lease.workerId !== workerId) return no("lease belongs to another worker");
    if (lease.state !== "active" || lease.expiresAtMs < txn.now)
      return no(`lease is ${lease.state === "active" ? "expired" : lease.state}`);
    const expiresAtMs = Math.min(
      lease.maxExpiresAtMs,
      txn.now + ctx.settings.leaseTtlMs + ctx.settings.leaseMarginMs,
    );
    if (expiresAtMs > lease.expiresAtMs) {
      lease.expiresAtMs = expiresAtMs;
      ctx.store.leases.putSync(lease.id, lease);
      ctx.store.activeLeases.putSync(lease.id, expiresAtMs);
      ctx.active.set(lease.id, expiresAtMs);
    }
    return { leaseId, renewed: true, expiresAtMs: lease.expiresAtMs, reason: "" };
  });
}

function deferTo(txn: Txn, hostKey: string, atMs: number): undefined {
  txn.deferred.set(hostKey, atMs);
  return undefined;
}

function newLeaseId(): string {
  return randomBytes(18).toString("base64url");
}

function recordLease(ctx: FrontierContext, rec: LeaseRecord): void {
  ctx.store.leases.putSync(rec.id, rec);
  ctx.store.activeLeases.putSync(rec.id, rec.expiresAtMs);
  ctx.active.set(rec.id, rec.expiresAtMs);
}

function wireLease(
  rec: LeaseRecord,
  crawl: CrawlRecord,
  limits: proto.FetchLimits,
  pageKind: proto.LeaseKind = proto.LeaseKind.LEASE_KIND_PAGE,
): proto.Lease {
  return {
    id: rec.id,
    crawlId: rec.crawlId,
    url: rec.url,
    hostKey: rec.hostKey,
    kind: rec.kind === "robots" ? proto.LeaseKind.LEASE_KIND_ROBOTS : pageKind,
    issuedAtMs: rec.issuedAtMs,
    notBeforeMs: rec.issuedAtMs,
    expiresAtMs: rec.expiresAtMs,
    attempt: rec.attempt,
    limits,
    userAgent: userAgentHeader(crawl.spec.userAgent),
    from: fromHeader(crawl.spec.userAgent),
    allowPrivateAddresses: crawl.spec.allowPrivateAddresses,
    signRequests: crawl.spec.signRequests ?? false,
  };
}

function takeSlot(ctx: FrontierContext, txn: Txn, host: HostState): void {
  if (host.lastEndAtMs !== undefined) {
    ctx.observer.gap(keyClassOf(host.hostKey), txn.now - host.lastEndAtMs, host.delayMs);
  }
  host.inFlight++;
  // With more than one lease allowed in flight, starts are still spaced by the minimum delay.
  host.nextAllowedAtMs = Math.max(host.nextAllowedAtMs, txn.now + txn.minDelayMs(host));
}

function issueRobotsLease(
  ctx: FrontierContext,
  txn: Txn,
  crawl: CrawlRecord,
  host: HostState,
  keys: HostState[],
  origin: string,
  workerId: string,
): proto.Lease {
  const now = txn.now;
  const fetch = crawl.spec.fetch;
  const previous = txn.robots(origin);
  const rec: LeaseRecord = {
    id: newLeaseId(),
    kind: "robots",
    crawlId: crawl.id,
    url: robotsUrlOf(origin),
    origin,
    hostKey: host.hostKey,
    workerId,
    issuedAtMs: now,
    ...leaseTimes(ctx, now, fetch.timeoutMs),
    attempt: (previous?.failures ?? 0) + 1,
    state: "active",
    ...(keys.length > 0 ? { keys: keys.map((k) => k.hostKey) } : {}),
  };
  recordLease(ctx, rec);
  ctx.observer.leaseIssued("robots");
  txn.setRobots({
    ...(previous ?? {
      origin,
      status: "unreachable",
      httpStatus: 0,
      fetchedAtMs: 0,
      expiresAtMs: 0,
      digest: "",
      text: "",
      failures: 0,
      nextAttemptAtMs: 0,
    }),
    pendingLeaseId: rec.id,
  });
  for (const st of [host, ...keys]) takeSlot(ctx, txn, st);
  return wireLease(rec, crawl, {
    timeoutMs: fetch.timeoutMs,
    maxBytes: ROBOTS_MAX_BYTES,
    maxRedirects: 5,
    maxOutlinks: 0,
  });
}

function issuePageLease(
  ctx: FrontierContext,
  txn: Txn,
  crawl: CrawlRecord,
  host: HostState,
  keys: HostState[],
  hash: string,
  url: UrlRecord,
  workerId: string,
): proto.Lease {
  const now = txn.now;
  const fetch = crawl.spec.fetch;
  if (url.attempts === 0) crawl.pagesLeased++;
  url.attempts++;
  const rec: LeaseRecord = {
    id: newLeaseId(),
    kind: "page",
    crawlId: crawl.id,
    url: url.url,
    urlHash: hash,
    origin: url.origin,
    hostKey: host.hostKey,
    workerId,
    issuedAtMs: now,
    ...leaseTimes(ctx, now, fetch.timeoutMs),
    attempt: url.attempts,
    state: "active",
    ...(keys.length > 0 ? { keys: keys.map((k) => k.hostKey) } : {}),
  };
  recordLease(ctx, rec);
  if (url.queueKey !== undefined) ctx.store.queue.removeSync(url.queueKey);
  delete url.queueKey;
  url.leaseId = rec.id;
  ctx.observer.leaseIssued(url.kind ?? "page");
  url.politeness = {
    delayMs: host.delayMs,
    source: host.delaySource,
    keys: [host.hostKey, ...keys.map((k) => k.hostKey)],
  };
  countHostPage(ctx, crawl, host.hostKey, now);
  txn.moveUrl(crawl, url, "leased");
  txn.putUrl(hash, url);
  for (const st of [host, ...keys]) takeSlot(ctx, txn, st);
  if (url.kind === "tdmrep") {
    return wireLease(
      rec,
      crawl,
      { timeoutMs: fetch.timeoutMs, maxBytes: TDMREP_MAX_BYTES, maxRedirects: 0, maxOutlinks: 0 },
      proto.LeaseKind.LEASE_KIND_TDMREP,
    );
  }
  if (url.kind === "sitemap") {
    const sm = crawl.spec.sitemaps;
    return wireLease(
      rec,
      crawl,
      {
        timeoutMs: fetch.timeoutMs,
        maxBytes: sm.maxBytes,
        maxRedirects: 0,
        maxOutlinks: sm.maxUrlsPerSitemap,
      },
      proto.LeaseKind.LEASE_KIND_SITEMAP,
    );
  }
  return wireLease(rec, crawl, {
    timeoutMs: fetch.timeoutMs,
    maxBytes: fetch.maxBytes,
    maxRedirects: 0,
    maxOutlinks: fetch.maxOutlinks,
  });
}

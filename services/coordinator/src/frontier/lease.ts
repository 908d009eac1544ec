import { randomBytes } from "node:crypto";
import {
  type CrawlSpec,
  hostKeyOf,
  leaseIdWithShard,
  ROBOTS_MAX_BYTES,
  robotsCrawlDelayMs,
  robotsLineText,
  robotsUrlOf,
  robotsVerdict,
} from "@heed/shared";
import { budgetVerdict, countHostPage } from "./budgets.js";
import { type FrontierContext, leaseHorizonMs } from "./context.js";
import { dedupsPayloads } from "./digests.js";
import { refusedBeforeFetch } from "./preferences.js";
import type {
  CrawlRecord,
  FetchLimits,
  GrantKind,
  HostState,
  LeaseEvidence,
  LeaseGrant,
  LeaseRecord,
  QueueKey,
  RenewAnswer,
  SkipReason,
  UrlRecord,
} from "./records.js";
import { robotsTarget } from "./robots-redirects.js";
import { settleQueued } from "./settle.js";
import { adoptCrawlPoliteness, gate, takeSlots } from "./slots.js";
import { tdmVerdict } from "./tdm.js";
import { MAX_DEPTH_KEY, type Txn } from "./txn.js";

/** Due hosts one lease round sets aside for the workers that fetched them last, at most: past it, it takes what is due. */
const MAX_SET_ASIDE = 1024;
const SET_ASIDE_PER_LEASE = 4;

/**
 * With leases issued ahead (leaseAheadMs), a lease starts no sooner than this after its host is due.
 * Its start is otherwise pinned to the delay's end within a few ms, where a lease issued once due
 * starts after its round and trip; and a site's own log (its clock, its event loop) has jitter of a
 * few ms: the gap it measures should never look shorter than the delay.
 */
const START_MARGIN_MS = 5;

/** Queue entries looked at per host per lease round; skipped entries (robots, budget) do not cost a request. */
const SCAN_LIMIT = 256;

export interface LeaseRound {
  leases: LeaseGrant[];
  /** With no lease: how long until something may be due. */
  retryAfterMs: number;
  /** With no lease: the request was held for its whole wait (the worker asks again at once). */
  waited?: boolean;
}

/** Hands out up to `capacity` leases that are due now, within the caller's transaction. */
export function leaseWithin(
  ctx: FrontierContext,
  txn: Txn,
  workerId: string,
  capacity: number,
): LeaseGrant[] {
  const out: LeaseGrant[] = [];
  const horizon = leaseHorizonMs(ctx, txn.now);
  const take = (hostKey: string) => {
    const lease = leaseFromHost(ctx, txn, hostKey, workerId, horizon);
    if (lease === undefined) return;
    out.push(lease);
    ctx.affinity.leased(hostKey, workerId, txn.now);
  };
  // Other workers' hosts (affinity.ts): left for them, or taken after this worker's own if room is left.
  // Each one set aside is a heap pop and push, so a round looks at a few times its capacity at most.
  const setAsideMax = Math.min(MAX_SET_ASIDE, capacity * SET_ASIDE_PER_LEASE);
  const left: [hostKey: string, dueMs: number][] = [];
  const spare: [hostKey: string, dueMs: number][] = [];
  while (out.length < capacity) {
    const dueMs = ctx.schedule.nextDueMs();
    const hostKey = ctx.schedule.takeDue(horizon);
    if (hostKey === undefined || dueMs === undefined) break;
    const claim =
      left.length + spare.length < setAsideMax
        ? ctx.affinity.claim(hostKey, workerId, dueMs, txn.now)
        : "take";
    if (claim === "take") take(hostKey);
    else (claim === "leave" ? left : spare).push([hostKey, dueMs]);
  }
  for (const [hostKey, dueMs] of spare) {
    if (out.length < capacity) take(hostKey);
    else left.push([hostKey, dueMs]);
  }
  // What was set aside goes back with the time it was due.
  for (const [hostKey, dueMs] of left) ctx.schedule.schedule(hostKey, dueMs);
  return out;
}

/** The answer to a lease request, with a hint of when to ask again when nothing was due. */
export function leaseRound(ctx: FrontierContext, leases: LeaseGrant[]): LeaseRound {
  if (leases.length > 0) return { leases, retryAfterMs: 0 };
  const next = ctx.schedule.nextDueMs();
  const wait = next === undefined ? ctx.settings.maxWaitHintMs : next - leaseHorizonMs(ctx, ctx.clock());
  return { leases, retryAfterMs: Math.max(10, Math.min(ctx.settings.maxWaitHintMs, wait)) };
}

/**
 * The leases granted to a worker's request that it never received (the reply
 * was lost on the way), answered again when the worker asks with the same
 * request id: the hosts are busy only as long as the reply is late, not until
 * the leases expire. Only leases still active are sent again, and only to the
 * worker they were granted to; the worker never fetches a lease twice.
 */
/** How a worker's lease request is known again when it is repeated; none without a request id. */
export function grantKey(workerId: string, requestId: string): string | undefined {
  return requestId === "" ? undefined : `${workerId}\u0000${requestId}`;
}

export function resendGrants(
  ctx: FrontierContext,
  workerId: string,
  requestId: string,
): LeaseGrant[] | undefined {
  const key = grantKey(workerId, requestId);
  const sent = key === undefined ? undefined : ctx.recentGrants.get(key);
  if (sent === undefined) return undefined;
  const again = sent.grants.filter((g) => ctx.active.has(g.id));
  ctx.observer.leasesResent(again.length);
  return again;
}

/** Remembers a request's grants (after the commit) until the last of them expires. */
export function rememberGrants(
  ctx: FrontierContext,
  workerId: string,
  requestId: string,
  grants: LeaseGrant[],
): void {
  const now = ctx.clock();
  for (const [key, sent] of ctx.recentGrants) {
    if (sent.untilMs >= now) break;
    ctx.recentGrants.delete(key);
  }
  const key = grantKey(workerId, requestId);
  if (key === undefined || grants.length === 0) return;
  const untilMs = Math.max(...grants.map((g) => g.expiresAtMs));
  ctx.recentGrants.set(key, { grants, untilMs });
}

/** What one queue entry asks for: nothing now (settled or waiting), the host to stop, or a request. */
type Step =
  | { do: "next" }
  | { do: "stop" }
  | { do: "robots"; crawl: CrawlRecord; origin: string; url: string }
  | { do: "page"; crawl: CrawlRecord; hash: string; rec: UrlRecord };

/** What a scan of one host's queue learned about when it is worth looking again. */
interface Scan {
  earliest: number;
  sawPaused: boolean;
}

/** The host a request goes to: a robots.txt redirect hop's host is spaced as strictly as the crawl asks of any. */
function requestHost(txn: Txn, host: HostState, url: string, spec: CrawlSpec): HostState {
  const key = hostKeyOf(url);
  if (key === host.hostKey) return host;
  const target = txn.host(key);
  adoptCrawlPoliteness(target, spec);
  return target;
}

function leaseFromHost(
  ctx: FrontierContext,
  txn: Txn,
  hostKey: string,
  workerId: string,
  horizon: number,
): LeaseGrant | undefined {
  const host = txn.host(hostKey);
  const now = txn.now;
  // Not this shard's to lease now (moved away, or its membership is not fresh): look again later.
  if (ctx.shard !== undefined && !ctx.shard.mayLease(hostKey))
    return deferTo(txn, hostKey, now + NOT_OWNED_RETRY_MS);
  if (host.inFlight >= host.maxConcurrency) return undefined;
  const scan: Scan = { earliest: Number.POSITIVE_INFINITY, sawPaused: false };
  let scanned = 0;
  for (const { key, value } of queueScan(ctx, hostKey)) {
    scanned++;
    const step = examine(ctx, txn, host, key, value, scan);
    if (step.do === "next") continue;
    if (step.do === "stop") return undefined;
    // A robots.txt redirect may lead to another host: the request counts against that host's keys.
    const target = step.do === "robots" ? requestHost(txn, host, step.url, step.crawl.spec) : host;
    if (target.inFlight >= target.maxConcurrency) {
      txn.waitFor(target.hostKey, hostKey);
      return deferTo(txn, hostKey, now + WAIT_FOR_SLOT_MS);
    }
    // Entries that can be settled without a request (robots, budget) are settled even while the host
    // must wait; only a request waits for its next-allowed time and a slot on every key. A lease may
    // go out shortly before that time (`horizon`: leaseAheadMs), saying when its fetch may start.
    const notBefore = Math.max(target.nextAllowedAtMs, target.parkedUntilMs ?? 0);
    if (notBefore > horizon) return deferTo(txn, hostKey, notBefore);
    const g = gate(ctx, txn, target.hostKey, step.crawl.spec, hostKey, horizon);
    if (!g.open) return deferTo(txn, hostKey, g.untilMs ?? now + WAIT_FOR_SLOT_MS);
    const margin = horizon > now ? START_MARGIN_MS : 0;
    const startsAtMs = Math.max(now, notBefore + margin, g.startsAtMs + margin);
    return step.do === "robots"
      ? issueRobotsLease(ctx, txn, step.crawl, target, g.keys, step.origin, step.url, workerId, startsAtMs)
      : issuePageLease(ctx, txn, step.crawl, host, g.keys, step.hash, step.rec, workerId, startsAtMs);
  }
  // Paused crawls' URLs wait in the queue; look again in a second rather than on every request.
  if (scan.sawPaused) scan.earliest = Math.min(scan.earliest, now + 1000);
  if (scanned === SCAN_LIMIT) txn.deferred.set(hostKey, now);
  else if (Number.isFinite(scan.earliest)) txn.deferred.set(hostKey, scan.earliest);
  return undefined;
}

/**
 * A host's queue entries in order, at most SCAN_LIMIT, read in growing chunks:
 * a lease usually takes the first entry, so reading (and decoding) the whole
 * scan window up front was a large share of its cost. Each chunk starts after the last
 * key seen, so entries settled meanwhile are neither skipped nor seen twice.
 */
function* queueScan(
  ctx: FrontierContext,
  hostKey: string,
): Generator<{ key: QueueKey; value: [string, string] }> {
  let start: [string] | QueueKey = [hostKey];
  let left = SCAN_LIMIT;
  let chunk = 4;
  while (left > 0) {
    const limit = Math.min(chunk, left);
    const entries: { key: QueueKey; value: [string, string] }[] = [
      ...ctx.store.queue.getRange({ start, end: [hostKey, MAX_DEPTH_KEY], limit }),
    ];
    yield* entries;
    left -= entries.length;
    const last = entries.at(-1);
    if (entries.length < limit || last === undefined) return;
    start = [hostKey, last.key[1], last.key[2] + 1];
    chunk *= 4;
  }
}

/**
 * One queue entry: settled without a request when the crawl, the operator,
 * robots.txt, TDMRep or a budget says so; left waiting when it is not due;
 * else the request it needs (its origin's robots.txt first).
 */
function examine(
  ctx: FrontierContext,
  txn: Txn,
  host: HostState,
  key: QueueKey,
  [crawlId, hash]: [string, string],
  scan: Scan,
): Step {
  const now = txn.now;
  const next: Step = { do: "next" };
  const rec = ctx.store.urls.get([crawlId, hash]);
  const crawl = txn.crawl(crawlId);
  if (rec === undefined || crawl === undefined) {
    ctx.log.error({ crawlId, hash, hostKey: host.hostKey }, "queue entry without URL record; dropping it");
    txn.dropQueueEntry(key);
    return next;
  }
  // Settled earlier in this transaction (a crawl that ran out of budget settles all its URLs at once).
  if (rec.state !== "queued") return next;
  if (crawl.state === "paused") {
    scan.sawPaused = true;
    return next;
  }
  const settled = settledBefore(txn, crawl, host);
  if (settled !== undefined) {
    txn.skip(crawl, hash, rec, settled);
    return next;
  }
  if (rec.notBeforeMs > now) {
    scan.earliest = Math.min(scan.earliest, rec.notBeforeMs);
    return next;
  }
  const robots = txn.robots(rec.origin);
  const robotsKnown =
    robots !== undefined &&
    robots.pendingLeaseId === undefined &&
    robots.following === undefined &&
    (robots.status === "unreachable" ? robots.nextAttemptAtMs > now : robots.expiresAtMs > now);
  if (!robotsKnown) {
    // Another lease is fetching the robots.txt (or one of its redirect hops): wait for its report.
    if (robots?.pendingLeaseId !== undefined) return { do: "stop" };
    return { do: "robots", crawl, origin: rec.origin, url: robotsTarget(robots, rec.origin) };
  }
  if (robots.status === "unreachable" && robots.addressRefused !== undefined) {
    rec.reasonDetail = robots.addressRefused;
    txn.skip(crawl, hash, rec, "address_refused");
    return next;
  }
  if (robots.status === "unreachable" && robots.failures < crawl.spec.politeness.robotsMaxAttempts) {
    // RFC 9309 §2.3.1.4: unreachable means disallow all, for now; try again later.
    deferTo(txn, host.hostKey, robots.nextAttemptAtMs);
    return { do: "stop" };
  }
  const readings = crawl.spec.politeness.robotsReadings;
  const verdict = robotsVerdict(robots, rec.url, crawl.spec.userAgent.product, readings);
  rec.robots = {
    digest: robots.digest,
    verdict: verdict.reason,
    ...(verdict.line ? { line: verdict.line } : {}),
    ...(verdict.readings !== undefined ? { readings: verdict.readings } : {}),
    ...(verdict.disagreement ? { disagreement: true } : {}),
  };
  if (verdict.disagreement)
    ctx.observer.robotsDisagreement((verdict.readings ?? []).filter((v) => !v.allowed).map((v) => v.reading));
  const refused = !verdict.allowed
    ? verdict.reason === "robots_unreachable"
      ? "robots_unreachable"
      : "robots_disallowed"
    : // Never crawl faster than the site asked: a Crawl-delay we will not wait for means not crawling.
      robotsCrawlDelayMs(robots, crawl.spec.userAgent.product, readings) >
        crawl.spec.politeness.maxCrawlDelayMs
      ? "crawl_delay_too_long"
      : undefined;
  if (refused !== undefined) {
    txn.skip(crawl, hash, rec, refused);
    return next;
  }
  const tdm = tdmVerdict(txn, crawl, rec);
  if (tdm === "reserved") {
    txn.skip(crawl, hash, rec, "tdm_reserved");
    return next;
  }
  if (tdm === "wait") {
    scan.earliest = Math.min(scan.earliest, now + 500);
    return next;
  }
  if (refusedBeforeFetch(txn, ctx.observer, crawl, hash, rec, robots)) return next;
  const budget = rec.kind === "tdmrep" ? {} : budgetVerdict(txn, crawl, rec, ctx.shard);
  if (budget.skip === "budget_max_pages" || budget.skip === "budget_max_bytes") {
    // The whole crawl is out of budget: settle all its first attempts now, not one scan at a time,
    // so hosts it shares with other crawls are free at once (retries keep their right to finish).
    // The queue scan reads on after the last key it saw, so it sees what is left.
    settleQueued(ctx, txn, crawl, budget.skip, (r) => r.attempts === 0);
    return next;
  }
  if (budget.skip !== undefined) {
    txn.skip(crawl, hash, rec, budget.skip);
    return next;
  }
  if (budget.waitUntilMs !== undefined) {
    scan.earliest = Math.min(scan.earliest, budget.waitUntilMs);
    return next;
  }
  return { do: "page", crawl, hash, rec };
}

/** Settled before anything is asked of the site: a cancelled crawl, an opt-out, a parked host. */
function settledBefore(txn: Txn, crawl: CrawlRecord, host: HostState): SkipReason | undefined {
  if (crawl.state === "cancelled") return "crawl_cancelled";
  // The site asked not to be crawled: settle its URLs without a request.
  if (txn.policy(host.hostKey)?.mode === "block") return "opt_out";
  if ((host.parkedUntilMs ?? 0) > txn.now) return "host_parked";
  return undefined;
}

const TDMREP_MAX_BYTES = 512 * 1024;

/** How soon a host this shard may not lease now is looked at again. */
const NOT_OWNED_RETRY_MS = 500;

/** A host waiting on a busy shared key is woken when it frees; this is only the fallback. */
const WAIT_FOR_SLOT_MS = 5000;

/** When a lease's fetch may start: its issue, unless it was issued ahead of its host's due time. */
export function leaseStartsAtMs(rec: LeaseRecord): number {
  return rec.startsAtMs ?? rec.issuedAtMs;
}

/** A lease's times: issued now, its fetch starting no sooner than `startsAtMs`, and expiring from then. */
function leaseTimes(
  ctx: FrontierContext,
  now: number,
  startsAtMs: number,
  timeoutMs: number,
): { issuedAtMs: number; startsAtMs?: number; expiresAtMs: number; maxExpiresAtMs: number } {
  const margin = ctx.settings.leaseMarginMs;
  return {
    issuedAtMs: now,
    ...(startsAtMs > now ? { startsAtMs } : {}),
    expiresAtMs: startsAtMs + Math.min(timeoutMs, ctx.settings.leaseTtlMs) + margin,
    maxExpiresAtMs: startsAtMs + timeoutMs + margin,
  };
}

/** Extends active leases of `workerId` by one TTL, never past their maximum. */
export function renewWithin(
  ctx: FrontierContext,
  txn: Txn,
  workerId: string,
  leaseIds: string[],
): RenewAnswer[] {
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
    if (expiresAtMs > lease.expiresAtMs) txn.extendLease(lease, expiresAtMs);
    return { leaseId, renewed: true, expiresAtMs: lease.expiresAtMs, reason: "" };
  });
}

function deferTo(txn: Txn, hostKey: string, atMs: number): undefined {
  txn.deferred.set(hostKey, atMs);
  return undefined;
}

const LEASE_ID_BYTES = 18;
// One call to the CSPRNG per 256 ids instead of one per lease: the bytes are as unguessable either way.
let idPool = Buffer.alloc(0);
let idOffset = 0;

/**
 * The issue time first (fixed-width hex, so ids sort by it), then the random
 * part: lease records are written, ended and looked up near the end of the
 * lease tables instead of all over them, so a commit touches few of their pages
 * however many leases the frontier has kept.
 */
function newLeaseId(ctx: FrontierContext, nowMs: number): string {
  const id = randomLeaseId(nowMs);
  // A sharded coordinator's lease ids name it, so a worker reports each result to the shard that issued it.
  return ctx.shard === undefined ? id : leaseIdWithShard(ctx.shard.id, id);
}

function randomLeaseId(nowMs: number): string {
  if (idOffset + LEASE_ID_BYTES > idPool.length) {
    idPool = randomBytes(LEASE_ID_BYTES * 256);
    idOffset = 0;
  }
  const id = idPool.toString("base64url", idOffset, idOffset + LEASE_ID_BYTES);
  idOffset += LEASE_ID_BYTES;
  return `${Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, "0")}${id}`;
}

function grant(
  rec: LeaseRecord,
  crawl: CrawlRecord,
  kind: GrantKind,
  limits: FetchLimits,
  evidence: LeaseEvidence,
): LeaseGrant {
  return {
    id: rec.id,
    crawlId: rec.crawlId,
    url: rec.url,
    hostKey: rec.hostKey,
    kind,
    issuedAtMs: rec.issuedAtMs,
    startsAtMs: leaseStartsAtMs(rec),
    expiresAtMs: rec.expiresAtMs,
    attempt: rec.attempt,
    limits,
    userAgent: crawl.spec.userAgent,
    allowPrivateAddresses: crawl.spec.allowPrivateAddresses,
    signRequests: crawl.spec.signRequests ?? false,
    // robots.txt is kept whole: it is the evidence each capture of its origin points to.
    dedupPayloads: kind !== "robots" && dedupsPayloads(crawl),
    evidence,
    purposes: crawl.spec.purposes ?? ["archive"],
  };
}

/** The evidence a worker writes beside the capture: what the frontier recorded when it leased. */
function leaseEvidence(
  txn: Txn,
  url: UrlRecord | undefined,
  host: HostState,
  keys: HostState[],
): LeaseEvidence {
  const robots = url !== undefined ? txn.robots(url.origin) : undefined;
  const line = url?.robots?.line ?? 0;
  return {
    robotsUrl: url !== undefined ? robotsUrlOf(url.origin) : "",
    robotsDigest: url?.robots?.digest ?? "",
    robotsVerdict: url?.robots?.verdict ?? "",
    robotsLine: line,
    robotsRule: robots !== undefined ? robotsLineText(robots, line) : "",
    delayMs: host.delayMs,
    delaySource: host.delaySource,
    politenessKeys: [host.hostKey, ...keys.map((k) => k.hostKey)],
  };
}

function issueRobotsLease(
  ctx: FrontierContext,
  txn: Txn,
  crawl: CrawlRecord,
  host: HostState,
  keys: HostState[],
  origin: string,
  url: string,
  workerId: string,
  startsAtMs: number,
): LeaseGrant {
  const now = txn.now;
  const fetch = crawl.spec.fetch;
  const previous = txn.robots(origin);
  const rec: LeaseRecord = {
    id: newLeaseId(ctx, now),
    kind: "robots",
    crawlId: crawl.id,
    // The origin's robots.txt or a hop of its redirects; `host` is that URL's host.
    url,
    origin,
    hostKey: host.hostKey,
    workerId,
    ...leaseTimes(ctx, now, startsAtMs, fetch.timeoutMs),
    attempt: (previous?.failures ?? 0) + 1,
    state: "active",
    ...(keys.length > 0 ? { keys: keys.map((k) => k.hostKey) } : {}),
  };
  txn.addLease(rec);
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
  const evidence = leaseEvidence(txn, undefined, host, keys);
  takeSlots(ctx, txn, host, keys, startsAtMs);
  return grant(
    rec,
    crawl,
    "robots",
    { timeoutMs: fetch.timeoutMs, maxBytes: ROBOTS_MAX_BYTES, maxRedirects: 0, maxOutlinks: 0 },
    evidence,
  );
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
  startsAtMs: number,
): LeaseGrant {
  const now = txn.now;
  const fetch = crawl.spec.fetch;
  if (url.attempts === 0) crawl.pagesLeased++;
  url.attempts++;
  const rec: LeaseRecord = {
    id: newLeaseId(ctx, now),
    kind: "page",
    crawlId: crawl.id,
    url: url.url,
    urlHash: hash,
    origin: url.origin,
    hostKey: host.hostKey,
    workerId,
    ...leaseTimes(ctx, now, startsAtMs, fetch.timeoutMs),
    attempt: url.attempts,
    state: "active",
    ...(keys.length > 0 ? { keys: keys.map((k) => k.hostKey) } : {}),
  };
  txn.addLease(rec);
  txn.unqueue(url);
  url.leaseId = rec.id;
  ctx.observer.leaseIssued(url.kind ?? "page");
  url.politeness = {
    delayMs: host.delayMs,
    source: host.delaySource,
    keys: [host.hostKey, ...keys.map((k) => k.hostKey)],
  };
  // Taken before the slot moves the host's delay on: the delay that spaced this very fetch.
  const evidence = leaseEvidence(txn, url, host, keys);
  countHostPage(txn, crawl, host.hostKey);
  txn.moveUrl(crawl, url, "leased");
  txn.putUrl(hash, url);
  takeSlots(ctx, txn, host, keys, startsAtMs);
  if (url.kind === "tdmrep") {
    return grant(
      rec,
      crawl,
      "tdmrep",
      {
        timeoutMs: fetch.timeoutMs,
        maxBytes: TDMREP_MAX_BYTES,
        maxRedirects: 0,
        maxOutlinks: 0,
      },
      evidence,
    );
  }
  if (url.kind === "sitemap") {
    const sm = crawl.spec.sitemaps;
    return grant(
      rec,
      crawl,
      "sitemap",
      {
        timeoutMs: fetch.timeoutMs,
        maxBytes: sm.maxBytes,
        maxRedirects: 0,
        maxOutlinks: sm.maxUrlsPerSitemap,
      },
      evidence,
    );
  }
  const page = grant(
    rec,
    crawl,
    "page",
    {
      timeoutMs: fetch.timeoutMs,
      maxBytes: fetch.maxBytes,
      maxRedirects: 0,
      maxOutlinks: fetch.maxOutlinks,
    },
    evidence,
  );
  return url.earlier !== undefined ? { ...page, earlier: url.earlier } : page;
}

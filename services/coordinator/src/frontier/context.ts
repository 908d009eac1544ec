import { errorMessage, HeedError, type Logger, UnavailableError } from "@heed/shared";
import type { HostAffinity } from "./affinity.js";
import { crawlMeetsHost } from "./new-host.js";
import type { FrontierObserver } from "./observer.js";
import type { CrawlRecord, HostPolicy, HostState, LeaseGrant, QueueKey } from "./records.js";
import type { HostSchedule } from "./schedule.js";
import { keyClassOf } from "./slots.js";
import type { FrontierStore } from "./store.js";
import { openTxn, type Sequence, type Txn, type TxnHooks } from "./txn.js";

export interface FrontierSettings {
  /** A lease lives for the fetch timeout plus this margin (report latency, clock skew). */
  leaseMarginMs: number;
  /** Longest a lease lives before the worker must renew it (long downloads); dead workers are noticed this fast. */
  leaseTtlMs: number;
  /** Longest a worker with nothing to do is told to wait before asking again. */
  maxWaitHintMs: number;
  /** Lease audit records kept per crawl once their lease ended: at most this many (0: no limit). */
  leaseRecordsKeep?: number;
  /** ... and none ended longer ago than this (0: no limit). */
  leaseRecordsMaxAgeMs?: number;
  /**
   * Held lease requests (long polls) are answered this long after a host comes due, so hosts coming
   * due close together go out in one commit (0: at once).
   */
  leaseLingerMs?: number;
  /**
   * A host's next lease may go out this long before the host is due, carrying when it may start;
   * the worker waits for that, so the fetch starts on time rather than after the lease round and the
   * lease's trip (0: only once due).
   */
  leaseAheadMs?: number;
  /** How long a due host waits for the worker that fetched it last, which may hold its connection (0: no affinity; affinity.ts). */
  hostAffinityGraceMs?: number;
}

/** What the frontier's operations share: the store, the rebuildable indexes and the clock. */
export interface FrontierContext {
  store: FrontierStore;
  observer: FrontierObserver;
  schedule: HostSchedule;
  /** leaseId -> expiry of every active lease (mirrors the `activeLeases` table). */
  active: Map<string, number>;
  seq: Sequence;
  /** Operator host policies (opt-outs, slow-downs), mirrored from the `hostPolicies` table. */
  policies: Map<string, HostPolicy>;
  /** host -> operator host group, from every crawl's `hostGroups` (fleet-wide, as servers are). */
  hostGroups: Map<string, string>;
  /** politeness key -> hosts waiting for one of its slots. */
  waiters: Map<string, Set<string>>;
  /** workerId + request id -> the leases granted to that request, until they expire (see resendGrants). */
  recentGrants: Map<string, { grants: LeaseGrant[]; untilMs: number }>;
  /** Which worker fetched each recently leased host, and which workers are asking. */
  affinity: HostAffinity;
  /** Whether the last commit went through; while not, nothing changes and callers are told why. */
  health: FrontierHealth;
  settings: FrontierSettings;
  clock: () => number;
  log: Logger;
  /** Set in a sharded frontier: which hosts are this shard's, and where the others' URLs go. */
  shard?: FrontierShard;
  /** Throws a coded error while there is too little room to write (see space.ts). */
  ensureSpace: () => void;
}

/** What a sharded frontier needs to know about the fleet; the fleet itself lives in shards/. */
export interface FrontierShard {
  id: string;
  /** The shard that owns a host's URLs, when it is not this one (undefined: this one). */
  routeOf(hostname: string): string | undefined;
  /** Whether this shard may lease for a host now: it owns the host's partition and its membership is fresh. */
  mayLease(hostKey: string): boolean;
  /** After a commit that put URLs in the outbox: publish them. */
  outboxFilled(): void;
  /** This shard's share of a crawl-wide budget (maxPages, maxBytes): read on the lease path, so cheap. */
  allowance?(crawl: CrawlRecord): ShardAllowance;
}

/** What a shard may use of a crawl's budget now, and whether the whole crawl's budget is spent. */
export interface ShardAllowance {
  pages: number;
  bytes: number;
  /** Past its share, a shard waits for more unless the crawl-wide budget is spent: then its URLs are settled. */
  pagesSpent: boolean;
  bytesSpent: boolean;
}

export interface FrontierHealth {
  writable: boolean;
  /** Why the last commit failed, while commits fail. */
  error?: string;
  /** Since when commits fail. */
  sinceMs?: number;
  lastFailureMs?: number;
}

/** How long commits must go through after the last failure before the frontier counts as writable again. */
const WRITABLE_AFTER_MS = 5000;

const HOOKS: TxnHooks = { crawlMeetsHost };
const shardHooks = new WeakMap<FrontierShard, TxnHooks>();

function hooksOf(ctx: FrontierContext): TxnHooks {
  const shard = ctx.shard;
  if (shard === undefined) return HOOKS;
  let hooks = shardHooks.get(shard);
  if (hooks === undefined) {
    hooks = { crawlMeetsHost, routeOf: (hostname) => shard.routeOf(hostname) };
    shardHooks.set(shard, hooks);
  }
  return hooks;
}

/**
 * Runs `body` in one LMDB write transaction with a fresh working set, commits,
 * then brings the in-memory indexes up to date (active leases, host policies,
 * waiting hosts, the hosts it touched) only after the commit succeeded. If it
 * fails, LMDB is unchanged and so is memory: hosts the body took from the
 * schedule are put back as LMDB has them. A failure to write (disk full, a
 * file-size limit) is an UnavailableError: try again later, nothing was lost.
 */
export function inTxn<T>(ctx: FrontierContext, body: (txn: Txn) => T): T {
  const now = ctx.clock();
  let txn: Txn | undefined;
  let result: T;
  try {
    ctx.ensureSpace();
    result = ctx.store.root.transactionSync(() => {
      txn = openTxn(ctx.store, now, ctx.seq, ctx.policies, hooksOf(ctx));
      const out = body(txn);
      txn.flush();
      return out;
    });
  } catch (err) {
    throw rolledBack(ctx, txn, now, err);
  }
  committed(ctx, txn as unknown as Txn, now);
  return result;
}

/** LMDB is unchanged: so is memory, and hosts the body took from the schedule go back as LMDB has them. */
function rolledBack(ctx: FrontierContext, txn: Txn | undefined, now: number, err: unknown): unknown {
  forgetChanges(ctx, txn, now);
  return commitFailed(ctx, err);
}

function forgetChanges(ctx: FrontierContext, txn: Txn | undefined, now: number): void {
  ctx.store.forgetUncommittedStructures();
  if (txn !== undefined) for (const key of txn.touchedHosts) reindexHost(ctx, key, now);
}

function committed(ctx: FrontierContext, done: Txn, now: number): void {
  // Held not writable for a while after the last failure: on a nearly full disk small commits pass
  // and large ones fail, and the signal should not flap with every commit.
  if (!ctx.health.writable && now - (ctx.health.lastFailureMs ?? 0) >= WRITABLE_AFTER_MS) {
    ctx.log.info({ failingForMs: now - (ctx.health.sinceMs ?? now) }, "the frontier commits again");
    ctx.health = { writable: true };
  }
  ctx.observer.commit(true);
  for (const [id, expiresAtMs] of done.activeChanges) {
    if (expiresAtMs === undefined) ctx.active.delete(id);
    else ctx.active.set(id, expiresAtMs);
  }
  for (const [pattern, policy] of done.policyChanges) {
    if (policy === undefined) ctx.policies.delete(pattern);
    else ctx.policies.set(pattern, policy);
  }
  const woken = applyWaiterChanges(ctx, done);
  // Memory learns commits in their order, so the transaction's own copy of a host is the latest.
  for (const key of new Set([...done.touchedHosts, ...woken]))
    reindexHost(ctx, key, now, done.deferred.get(key), done.loadedHost(key));
  if (done.outboxed > 0) ctx.shard?.outboxFilled();
}

/**
 * LMDB's own errors carry a numeric code (an errno such as EIO or ENOSPC, or
 * an MDB_ code); those mean the frontier could not be written. Heed's errors
 * (a missing crawl, a bad state) pass through as they are.
 */
function commitFailed(ctx: FrontierContext, err: unknown): unknown {
  if (err instanceof HeedError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "number") return err;
  ctx.observer.commit(false);
  const why = errorMessage(err);
  const now = ctx.clock();
  if (!ctx.health.writable) ctx.health = { ...ctx.health, error: why, lastFailureMs: now };
  else {
    ctx.log.error(
      { err: why, code },
      "the frontier cannot commit (disk full or a file-size limit?): changes that need space are refused until there is some; nothing is lost",
    );
    ctx.health = { writable: false, error: why, sinceMs: now, lastFailureMs: now };
  }
  return new UnavailableError(
    "HEED_FRONTIER_WRITE",
    `the frontier cannot commit (${why}): disk full or a file-size limit? Nothing was changed; try again once there is space`,
    { cause: err },
  );
}

/** Waits and frees, in order; returns the hosts woken by a freed key. */
function applyWaiterChanges(ctx: FrontierContext, txn: Txn): string[] {
  const woken: string[] = [];
  for (const change of txn.waiterChanges) {
    if ("wait" in change) {
      let waiting = ctx.waiters.get(change.wait);
      if (waiting === undefined) {
        waiting = new Set();
        ctx.waiters.set(change.wait, waiting);
      }
      waiting.add(change.hostKey);
    } else {
      const waiting = ctx.waiters.get(change.freed);
      if (waiting === undefined) continue;
      ctx.waiters.delete(change.freed);
      woken.push(...waiting);
    }
  }
  return woken;
}

/** Puts a host back in the schedule if it has queued work and room for another lease. */
export function reindexHost(
  ctx: FrontierContext,
  hostKey: string,
  now: number,
  notBeforeMs = 0,
  committed?: HostState,
): void {
  // Domain, group and IP keys have no queue of their own: only hosts are scheduled.
  if (keyClassOf(hostKey) !== "host") return;
  const host = committed ?? ctx.store.hosts.get(hostKey);
  const due = host === undefined ? undefined : dueMs(host, now, notBeforeMs);
  if (due === undefined || !hasQueued(ctx.store, hostKey)) ctx.schedule.unschedule(hostKey);
  else ctx.schedule.schedule(hostKey, due);
}

/** When a host with queued work may next be leased; undefined while it has no room for another lease. */
export function dueMs(host: HostState, now: number, notBeforeMs = 0): number | undefined {
  if (host.inFlight >= host.maxConcurrency) return undefined;
  // A parked host gets no requests; its queue is settled (skipped, with the reason) right away.
  const parked = (host.parkedUntilMs ?? 0) > now;
  return parked ? now : Math.max(now, host.nextAllowedAtMs, notBeforeMs);
}

/** The latest due time a lease round at `nowMs` may lease a host for (leases go out `leaseAheadMs` early). */
export function leaseHorizonMs(ctx: FrontierContext, nowMs: number): number {
  return nowMs + (ctx.settings.leaseAheadMs ?? 0);
}

/** The end of a host's queue: queue keys are [host, depth, seq], and depths stay far below this. */
const queueEnd = (hostKey: string): [string, number] => [hostKey, Number.MAX_SAFE_INTEGER];

function hasQueued(store: FrontierStore, hostKey: string): boolean {
  for (const _ of store.queue.getKeys({ start: [hostKey], end: queueEnd(hostKey), limit: 1 })) return true;
  return false;
}

/**
 * Every host with queued work, in key order: one seek per host, from the end of
 * one host's queue to the start of the next one's, so a host with many queued
 * URLs costs no more than one with a single URL and hosts with none cost nothing.
 *
 * lmdb-js reads a range's `start` each time the range is iterated again, so one
 * range whose start moves past each host found costs a cursor move per host,
 * where a new range per host costs a dozen objects (half a restart's CPU at a
 * million hosts, most of it garbage collection). Should a version read the
 * start only once (the same host found twice), a new range per seek takes over.
 */
export function* hostsWithQueued(store: FrontierStore): Generator<string> {
  const options: { start?: [string, number]; limit: number } = { limit: 1 };
  let moving: Iterable<QueueKey> | undefined = store.queue.getKeys(options);
  let last: string | undefined;
  for (;;) {
    let next: string | undefined;
    for (const key of moving ?? store.queue.getKeys({ ...options })) next = key[0];
    if (next !== undefined && next === last && moving !== undefined) {
      moving = undefined;
      continue;
    }
    if (next === undefined) return;
    yield next;
    last = next;
    options.start = queueEnd(next);
  }
}

export function sequenceFrom(start: number): Sequence {
  let n = start;
  return { next: () => ++n, current: () => n };
}

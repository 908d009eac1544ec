import type { Logger } from "@heed/shared";
import { crawlMeetsHost } from "./new-host.js";
import type { FrontierObserver } from "./observer.js";
import type { HostPolicy } from "./records.js";
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
  settings: FrontierSettings;
  clock: () => number;
  log: Logger;
}

const HOOKS: TxnHooks = { crawlMeetsHost };

/**
 * Runs `body` in one LMDB write transaction with a fresh working set, commits,
 * then brings the in-memory indexes up to date (active leases, host policies,
 * the hosts it touched) only after the commit succeeded.
 */
export function inTxn<T>(ctx: FrontierContext, body: (txn: Txn) => T): T {
  const now = ctx.clock();
  let txn: Txn | undefined;
  const result = ctx.store.root.transactionSync(() => {
    txn = openTxn(ctx.store, now, ctx.seq, ctx.policies, HOOKS);
    const out = body(txn);
    txn.flush();
    return out;
  });
  if (txn !== undefined) {
    for (const [id, expiresAtMs] of txn.activeChanges) {
      if (expiresAtMs === undefined) ctx.active.delete(id);
      else ctx.active.set(id, expiresAtMs);
    }
    for (const [pattern, policy] of txn.policyChanges) {
      if (policy === undefined) ctx.policies.delete(pattern);
      else ctx.policies.set(pattern, policy);
    }
    for (const key of txn.touchedHosts) reindexHost(ctx, key, now, txn.deferred.get(key));
  }
  return result;
}

/** Puts a host back in the schedule if it has queued work and room for another lease. */
export function reindexHost(ctx: FrontierContext, hostKey: string, now: number, notBeforeMs = 0): void {
  // Domain, group and IP keys have no queue of their own: only hosts are scheduled.
  if (keyClassOf(hostKey) !== "host") return;
  const host = ctx.store.hosts.get(hostKey);
  if (host === undefined || host.inFlight >= host.maxConcurrency || !hasQueued(ctx, hostKey)) {
    ctx.schedule.unschedule(hostKey);
    return;
  }
  // A parked host gets no requests; its queue is settled (skipped, with the reason) right away.
  const parked = (host.parkedUntilMs ?? 0) > now;
  ctx.schedule.schedule(hostKey, parked ? now : Math.max(now, host.nextAllowedAtMs, notBeforeMs));
}

function hasQueued(ctx: FrontierContext, hostKey: string): boolean {
  for (const _ of ctx.store.queue.getKeys({
    start: [hostKey],
    end: [hostKey, Number.MAX_SAFE_INTEGER],
    limit: 1,
  })) {
    return true;
  }
  return false;
}

export function sequenceFrom(start: number): Sequence {
  let n = start;
  return { next: () => ++n, current: () => n };
}

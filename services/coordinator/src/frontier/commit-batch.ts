import { UnavailableError } from "@heed/shared";
import { type FrontierContext, inTxn } from "./context.js";
import {
  grantKey,
  type LeaseRound,
  leaseRound,
  leaseWithin,
  rememberGrants,
  renewWithin,
  resendGrants,
} from "./lease.js";
import type { FetchReport, LeaseGrant, RenewAnswer, ReportAnswer } from "./records.js";
import { reportWithin } from "./report.js";

/** How often a frontier that cannot commit is tried again by the lease and report path. */
const UNWRITABLE_RETRY_MS = 1000;

type Op =
  | {
      kind: "report";
      workerId: string;
      results: FetchReport[];
      resolve(acks: ReportAnswer[]): void;
      reject(e: unknown): void;
    }
  | {
      kind: "lease";
      workerId: string;
      capacity: number;
      requestId: string;
      resolve(round: LeaseRound): void;
      reject(e: unknown): void;
    }
  | {
      kind: "renew";
      workerId: string;
      leaseIds: string[];
      resolve(acks: RenewAnswer[]): void;
      reject(e: unknown): void;
    };

type LeaseOp = Extract<Op, { kind: "lease" }>;

export interface CommitBatcher {
  /** A `requestId` seen before (the worker lost the reply) is answered with the same leases, still active. */
  lease(workerId: string, capacity: number, requestId?: string): Promise<LeaseRound>;
  report(workerId: string, results: FetchReport[]): Promise<ReportAnswer[]>;
  renew(workerId: string, leaseIds: string[]): Promise<RenewAnswer[]>;
  /** Commits whatever is waiting (before the store closes); settles once nothing is in flight. */
  drain(): Promise<void>;
}

/**
 * Batched commits: every lease request and report that arrives in one turn of
 * the event loop is applied in a single LMDB transaction, reports first (they
 * free host slots and queue outlinks), then leases. Callers get their answers
 * only after the commit is durable, so nothing is promised that is not. A
 * commit that fails fails exactly the operations in it.
 *
 * The commit is synchronous, on the event loop. Committing on lmdb-js's writer
 * thread (a child transaction of its asynchronous batch) took the commit's
 * page writes off the event loop, but the process once crashed merging such a
 * child transaction (SIGSEGV in mdb_txn_commit), in the same runs in which
 * other processes' read-only opens made LMDB lose commits (docs/design.md);
 * whether the one caused the other is not known, so the plain path stays.
 */
export function createCommitBatcher(ctx: FrontierContext): CommitBatcher {
  let pending: Op[] = [];
  let scheduled = false;
  let inFlight: Promise<void> | undefined;
  /** While commits fail for want of space, the next attempt waits until then (monotonic ms). */
  let retryAtMono = 0;

  function flush(force = false): void {
    scheduled = false;
    if (pending.length === 0 || inFlight !== undefined) return;
    // A full disk fails every commit that needs a page: trying once a second with all that arrived
    // meanwhile, rather than once per request, spares LMDB's failing write path (see
    // docs/operations.md) and answers the same callers the same way.
    const wait = retryAtMono - performance.now();
    if (!force && wait > 0 && !ctx.health.writable) {
      scheduled = true;
      setTimeout(flush, wait);
      return;
    }
    const ops = pending;
    pending = [];
    // Whatever goes wrong fails this batch's callers (a settled one stays settled), never the process.
    inFlight = commit(ops)
      .catch((err: unknown) => {
        if (err instanceof UnavailableError) retryAtMono = performance.now() + UNWRITABLE_RETRY_MS;
        for (const o of ops) o.reject(err);
      })
      .finally(() => {
        inFlight = undefined;
        if (pending.length > 0) schedule();
      });
  }

  async function commit(ops: Op[]): Promise<void> {
    const renewals = ops.filter((o) => o.kind === "renew");
    const reports = ops.filter((o) => o.kind === "report");
    const leases: LeaseOp[] = [];
    // A request asked again before its first answer was committed (the worker retried, and both
    // arrived together) shares the first one's leases.
    const repeats = new Map<LeaseOp, LeaseOp[]>();
    const firstOf = new Map<string, LeaseOp>();
    for (const o of ops) {
      if (o.kind !== "lease") continue;
      const again = resendGrants(ctx, o.workerId, o.requestId);
      if (again !== undefined) {
        o.resolve(leaseRound(ctx, again));
        continue;
      }
      const key = grantKey(o.workerId, o.requestId);
      const first = key === undefined ? undefined : firstOf.get(key);
      if (first !== undefined) {
        repeats.get(first)?.push(o);
        continue;
      }
      if (key !== undefined) firstOf.set(key, o);
      repeats.set(o, []);
      leases.push(o);
    }
    if (renewals.length + reports.length + leases.length === 0) return;
    if (renewals.length + reports.length === 0 && !ctx.schedule.hasDue(ctx.clock())) {
      // Workers ask again and again while every host waits out its delay: with nothing due, a lease
      // round would change nothing, so it is answered without a transaction (and its commit).
      for (const o of leases)
        for (const each of [o, ...(repeats.get(o) ?? [])]) each.resolve(leaseRound(ctx, []));
      return;
    }
    const answers = inTxn(ctx, (txn) => [
      ...renewals.map((o) => renewWithin(ctx, txn, o.workerId, o.leaseIds)),
      ...reports.map((o) => reportWithin(ctx, txn, o.workerId, o.results)),
      ...leases.map((o) => leaseWithin(ctx, txn, o.workerId, o.capacity)),
    ]);
    let i = 0;
    for (const o of renewals) o.resolve(answers[i++] as RenewAnswer[]);
    for (const o of reports) o.resolve(answers[i++] as ReportAnswer[]);
    for (const o of leases) {
      const grants = answers[i++] as LeaseGrant[];
      rememberGrants(ctx, o.workerId, o.requestId, grants);
      for (const each of [o, ...(repeats.get(o) ?? [])]) each.resolve(leaseRound(ctx, grants));
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  }

  function enqueue(op: Op): void {
    pending.push(op);
    schedule();
  }

  return {
    lease: (workerId, capacity, requestId = "") => {
      ctx.affinity.asked(workerId, ctx.clock());
      return new Promise((resolve, reject) =>
        enqueue({ kind: "lease", workerId, capacity, requestId, resolve, reject }),
      );
    },
    report: (workerId, results) =>
      new Promise((resolve, reject) => enqueue({ kind: "report", workerId, results, resolve, reject })),
    renew: (workerId, leaseIds) =>
      new Promise((resolve, reject) => enqueue({ kind: "renew", workerId, leaseIds, resolve, reject })),
    drain: async () => {
      while (inFlight !== undefined || pending.length > 0) {
        flush(true);
        await inFlight;
      }
    },
  };
}

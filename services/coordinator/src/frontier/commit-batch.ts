import { UnavailableError } from "@heed/shared";
import { type FrontierContext, inTxn, leaseHorizonMs } from "./context.js";
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
/** The longest a lease request is held, whatever the worker asks: a dead worker's request lingers no longer. */
const MAX_LEASE_WAIT_MS = 10_000;
/** Requests held at once, at most; past it, requests are answered at once as without a wait. */
const MAX_HELD = 10_000;
/**
 * While requests are held, the schedule is looked at at least this often: hosts come due through
 * paths other than this batcher's commits (a crawl created or resumed, leases expiring).
 */
const HELD_RECHECK_MS = 100;
/** A round that left held requests empty while hosts were due (kept for their last worker): the next one waits this long. */
const HELD_RETRY_MS = 10;
/**
 * Reports with nothing else to commit wait for the held requests' next round when it comes within
 * this long of the first report's arrival, and share its commit. At a low rate most commits carried
 * either reports or leases, and each commit has a fixed cost (its page writes and two disk syncs:
 * about 0.6 ms of CPU on a 2-core VM, a few pages' worth of lease work). A request's end is taken
 * from its report's arrival, so the wait moves no host's next request; it can only hold back a host
 * its report frees, by this much at most.
 */
const REPORT_WAIT_MS = 25;

type Op =
  | {
      kind: "report";
      workerId: string;
      results: FetchReport[];
      /** When the report arrived (clock ms): its requests ended before, however long it waits for a commit. */
      arrivedAtMs: number;
      resolve(acks: ReportAnswer[]): void;
      reject(e: unknown): void;
    }
  | {
      kind: "lease";
      workerId: string;
      capacity: number;
      requestId: string;
      /** Held until a lease is due or this time (clock ms); 0: answered at once. */
      waitUntilMs: number;
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
  /**
   * A `requestId` seen before (the worker lost the reply) is answered with the same leases, still
   * active. With `waitMs`, a request finding nothing due is held until something is (after the
   * `leaseLingerMs` setting, so hosts coming due together share a commit) or the wait ends.
   */
  lease(workerId: string, capacity: number, requestId?: string, waitMs?: number): Promise<LeaseRound>;
  report(workerId: string, results: FetchReport[]): Promise<ReportAnswer[]>;
  renew(workerId: string, leaseIds: string[]): Promise<RenewAnswer[]>;
  /** Answers a worker's held requests now, with no lease (it is stopping: it takes no new lease). */
  release(workerId: string): void;
  /** Answers every held request (empty) and commits whatever is waiting (before the store closes); settles once nothing is in flight. */
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
  const lingerMs = ctx.settings.leaseLingerMs ?? 0;
  const aheadMs = ctx.settings.leaseAheadMs ?? 0;
  let pending: Op[] = [];
  /** Lease requests held for a lease to come due (long polls), oldest first. */
  let held: LeaseOp[] = [];
  /**
   * The earliest end of a held request's wait (clock ms). Requests answered early leave it as it
   * was: the wake it brings finds nothing to do and looks again later.
   */
  let heldUntilMs = Number.POSITIVE_INFINITY;
  let heldTimer: NodeJS.Timeout | undefined;
  /** When `heldTimer` fires (clock ms). */
  let heldTimerAtMs = Number.POSITIVE_INFINITY;
  /** When held requests were last looked at and none got a lease though hosts were due (clock ms). */
  let emptyRoundAtMs = Number.NEGATIVE_INFINITY;
  let draining = false;
  let scheduled = false;
  let inFlight: Promise<void> | undefined;
  /** While commits fail for want of space, the next attempt waits until then (monotonic ms). */
  let retryAtMono = 0;

  function flush(force = false): void {
    scheduled = false;
    if (pending.length === 0 || inFlight !== undefined) return;
    // Committed by the held round's wake (or sooner, by any lease request arriving meanwhile).
    if (!force && reportsWaitForRound()) return;
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
        // A commit may have made hosts due (a report frees its host) or held new requests.
        armHeld();
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
    if (renewals.length + reports.length === 0 && !ctx.schedule.hasDue(leaseHorizonMs(ctx, ctx.clock()))) {
      // With nothing due a lease round would change nothing: held or answered without a transaction.
      for (const o of leases) answerEmpty(o, repeats.get(o) ?? []);
      return;
    }
    const answers = inTxn(ctx, (txn) => [
      ...renewals.map((o) => renewWithin(ctx, txn, o.workerId, o.leaseIds)),
      ...reports.map((o) => reportWithin(ctx, txn, o.workerId, o.results, o.arrivedAtMs)),
      ...leases.map((o) => leaseWithin(ctx, txn, o.workerId, o.capacity)),
    ]);
    let i = 0;
    for (const o of renewals) o.resolve(answers[i++] as RenewAnswer[]);
    for (const o of reports) o.resolve(answers[i++] as ReportAnswer[]);
    let emptyHeld = false;
    for (const o of leases) {
      const grants = answers[i++] as LeaseGrant[];
      if (grants.length === 0) {
        emptyHeld ||= o.waitUntilMs > 0;
        answerEmpty(o, repeats.get(o) ?? []);
        continue;
      }
      rememberGrants(ctx, o.workerId, o.requestId, grants);
      for (const each of [o, ...(repeats.get(o) ?? [])]) each.resolve(leaseRound(ctx, grants));
    }
    // Hosts due but kept for the workers that fetched them last (affinity.ts): asking again at once
    // would find the same; their grace is over soon.
    if (emptyHeld && ctx.schedule.hasDue(leaseHorizonMs(ctx, ctx.clock()))) emptyRoundAtMs = ctx.clock();
  }

  /** Whether what is pending is reports alone, and the held requests' next round comes soon enough to take them. */
  function reportsWaitForRound(): boolean {
    if (draining || held.length === 0 || heldTimer === undefined) return false;
    // Pending operations are in arrival order: the first report waited longest.
    const first = pending[0];
    return (
      first?.kind === "report" &&
      pending.every((o) => o.kind === "report") &&
      heldTimerAtMs <= first.arrivedAtMs + REPORT_WAIT_MS
    );
  }

  /** No lease for this request now: held while its wait lasts, else answered empty. */
  function answerEmpty(o: LeaseOp, repeats: LeaseOp[]): void {
    const now = ctx.clock();
    if (!draining && o.waitUntilMs > now && held.length < MAX_HELD) {
      // A repeat shares the first request's answer: holding the first holds them all.
      held.push(o, ...repeats);
      heldUntilMs = Math.min(heldUntilMs, o.waitUntilMs);
      return;
    }
    const waited = o.waitUntilMs > 0 && o.waitUntilMs <= now;
    for (const each of [o, ...repeats]) each.resolve({ ...leaseRound(ctx, []), waited });
  }

  /** Answers the held requests that `match` picks now, with no lease and without a round. */
  function answerHeld(match: (o: LeaseOp) => boolean): void {
    if (held.length === 0) return;
    const kept: LeaseOp[] = [];
    for (const o of held) {
      if (match(o)) o.resolve(leaseRound(ctx, []));
      else kept.push(o);
    }
    held = kept;
    if (held.length > 0) return;
    // Nothing held: no timer left to keep a closing process alive, and no stale wait end.
    heldUntilMs = Number.POSITIVE_INFINITY;
    if (heldTimer !== undefined) clearTimeout(heldTimer);
    heldTimer = undefined;
    heldTimerAtMs = Number.POSITIVE_INFINITY;
    // Reports waiting for a round that will not come now.
    if (pending.length > 0) schedule();
  }

  /**
   * When held requests next go into a round: a host due (its lease may go out `leaseAheadMs` early,
   * plus the linger), or the first wait's end.
   */
  function heldRoundAtMs(): number {
    const due = ctx.schedule.nextDueMs();
    const dueAt =
      due === undefined
        ? Number.POSITIVE_INFINITY
        : Math.max(due - aheadMs + lingerMs, emptyRoundAtMs + HELD_RETRY_MS);
    return Math.min(heldUntilMs, dueAt);
  }

  /** Held requests go back into the next commit once their round is due (answered there). */
  function wakeHeld(): void {
    heldTimer = undefined;
    heldTimerAtMs = Number.POSITIVE_INFINITY;
    // Reports that waited for this wake: committed with its round, or once their wait is over.
    if (pending.length > 0) schedule();
    if (held.length === 0) return;
    const now = ctx.clock();
    // The periodic look finding nothing due: no commit round, only the next look.
    if (heldRoundAtMs() > now) {
      armHeld();
      return;
    }
    const woken = held;
    held = [];
    heldUntilMs = Number.POSITIVE_INFINITY;
    // A held request's worker is still asking: its hosts stay its own (affinity.ts).
    for (const o of woken) ctx.affinity.asked(o.workerId, now);
    pending.push(...woken);
    schedule();
  }

  /**
   * Sets the timer for the held requests' next look: their round, or the recheck. Runs after every
   * commit, so a timer already set no later than needed is kept (one firing early looks and sets
   * the next).
   */
  function armHeld(): void {
    if (held.length === 0) return;
    const now = ctx.clock();
    const at = Math.min(now + HELD_RECHECK_MS, heldRoundAtMs());
    if (heldTimer !== undefined && heldTimerAtMs <= at) return;
    if (heldTimer !== undefined) clearTimeout(heldTimer);
    heldTimerAtMs = at;
    heldTimer = setTimeout(wakeHeld, Math.max(0, at - now));
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
    lease: (workerId, capacity, requestId = "", waitMs = 0) => {
      const now = ctx.clock();
      ctx.affinity.asked(workerId, now);
      // The worker asked again with the same id (its wait ran out before the answer came): the answer
      // to the held one would go to a reply subject nobody listens on any more.
      if (requestId !== "") answerHeld((o) => o.workerId === workerId && o.requestId === requestId);
      const waitUntilMs = waitMs > 0 ? now + Math.min(waitMs, MAX_LEASE_WAIT_MS) : 0;
      return new Promise((resolve, reject) =>
        enqueue({ kind: "lease", workerId, capacity, requestId, waitUntilMs, resolve, reject }),
      );
    },
    report: (workerId, results) => {
      const arrivedAtMs = ctx.clock();
      return new Promise((resolve, reject) =>
        enqueue({ kind: "report", workerId, results, arrivedAtMs, resolve, reject }),
      );
    },
    renew: (workerId, leaseIds) =>
      new Promise((resolve, reject) => enqueue({ kind: "renew", workerId, leaseIds, resolve, reject })),
    release: (workerId) => answerHeld((o) => o.workerId === workerId),
    drain: async () => {
      draining = true;
      // Answered empty, without a last round: a frontier about to close grants nothing more.
      answerHeld(() => true);
      while (inFlight !== undefined || pending.length > 0) {
        flush(true);
        await inFlight;
      }
      draining = false;
    },
  };
}

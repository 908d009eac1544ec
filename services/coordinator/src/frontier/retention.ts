import { type FrontierContext, inTxn } from "./context.js";
import type { EndedLeaseKey } from "./store.js";

/** Records deleted per pass at most, so one pass is one modest transaction; the next pass goes on. */
const PASS_LIMIT = 10_000;

/**
 * Lease audit retention: per crawl, the records of ended leases beyond the
 * newest `leaseRecordsKeep`, and those that ended more than
 * `leaseRecordsMaxAgeMs` ago, are deleted. Active leases are never touched,
 * and each URL keeps its own evidence (outcome, robots verdict, delay). A late
 * report of a forgotten lease is answered as an unknown lease: nothing changes.
 * Returns how many records were deleted.
 */
export function pruneLeaseRecords(ctx: FrontierContext): number {
  const keep = ctx.settings.leaseRecordsKeep ?? 0;
  const maxAgeMs = ctx.settings.leaseRecordsMaxAgeMs ?? 0;
  if (keep <= 0 && maxAgeMs <= 0) return 0;
  const now = ctx.clock();
  const doomed: EndedLeaseKey[] = [];
  for (const crawlId of [...ctx.store.crawls.getKeys()]) {
    const budget = PASS_LIMIT - doomed.length;
    if (budget <= 0) break;
    const range = { start: [crawlId], end: [crawlId, Number.MAX_SAFE_INTEGER] };
    let excess = 0;
    // A copy: lmdb marks the options it is given for counting.
    if (keep > 0) excess = ctx.store.endedLeases.getKeysCount({ ...range }) - keep;
    const cutoff = maxAgeMs > 0 ? now - maxAgeMs : Number.NEGATIVE_INFINITY;
    for (const key of ctx.store.endedLeases.getKeys({ ...range, limit: budget })) {
      if (excess <= 0 && key[1] >= cutoff) break;
      doomed.push(key);
      excess--;
    }
  }
  if (doomed.length === 0) return 0;
  inTxn(ctx, (txn) => {
    for (const key of doomed) txn.dropEndedLease(key);
  });
  return doomed.length;
}

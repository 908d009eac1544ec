import type { FrontierContext } from "./context.js";
import type { CrawlRecord, SkipReason, UrlRecord } from "./records.js";
import type { Txn } from "./txn.js";

/**
 * Settles every queued URL of a crawl at once (skipped, with `reason`), in the
 * caller's transaction. A crawl that will never fetch them again (cancelled,
 * or out of its whole budget) must not keep them in the queues of hosts it
 * shares with other crawls, where every lease scan would have to step over
 * them first. Returns how many were settled.
 */
export function settleQueued(
  ctx: FrontierContext,
  txn: Txn,
  crawl: CrawlRecord,
  reason: SkipReason,
  which: (rec: UrlRecord) => boolean = () => true,
): number {
  let settled = 0;
  if (crawl.counts.queued === 0) return 0;
  for (const { key, value: rec } of ctx.store.urls.getRange({
    start: [crawl.id],
    end: [crawl.id, "\uffff"],
  })) {
    if (rec.state !== "queued" || !which(rec)) continue;
    txn.skip(crawl, key[1], rec, reason);
    txn.host(rec.hostKey);
    settled++;
  }
  return settled;
}

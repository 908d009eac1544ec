import { backoffMs } from "@heed/shared";
import { type FrontierContext, inTxn } from "./context.js";
import type { LeaseRecord } from "./records.js";
import { askRobotsAgain } from "./robots-refresh.js";
import { releaseSlots, spacingAfterExpiry } from "./slots.js";
import type { Txn } from "./txn.js";

/** A lease that ran out: its slots are freed, the URL retried with backoff or failed. */
export function expireLease(ctx: FrontierContext, txn: Txn, lease: LeaseRecord): void {
  txn.endLease(lease, "expired");
  const host = txn.host(lease.hostKey);
  // A request reported over already freed its slots and spaced the host from its end.
  if (lease.requestEndedAtMs === undefined)
    releaseSlots(txn, host, lease.keys, spacingAfterExpiry(txn, host));
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
        txn.forgetActive(id);
        continue;
      }
      expireLease(ctx, txn, lease);
      n++;
    }
    return n;
  });
}

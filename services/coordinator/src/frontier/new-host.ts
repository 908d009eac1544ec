import type { CrawlRecord } from "./records.js";
import { queueSitemaps } from "./sitemaps.js";
import { queueTdmRep } from "./tdm.js";
import type { Txn } from "./txn.js";

/**
 * A crawl queued its first URL on a host: its tdmrep.json goes ahead of the
 * pages, and a crawl new to a host whose robots.txt another crawl already read
 * still gets that host's sitemaps.
 */
export function crawlMeetsHost(txn: Txn, crawl: CrawlRecord, origin: string): void {
  queueTdmRep(txn, crawl, origin);
  if (crawl.spec.sitemaps.enabled) {
    const robots = txn.robots(origin);
    if (robots?.status === "parsed") queueSitemaps(txn, crawl, robots);
  }
}

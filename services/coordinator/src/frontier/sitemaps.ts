import { type RobotsPolicy, robotsSitemaps } from "@heed/shared";
import type { CrawlRecord } from "./records.js";
import type { Txn } from "./txn.js";

/**
 * Sitemaps are an opt-in source of URLs: the ones robots.txt lists are queued
 * as sitemap documents (scope, robots and politeness apply as to any URL), at
 * most `maxPerHost` per host.
 */
export function queueSitemaps(txn: Txn, crawl: CrawlRecord, robots: RobotsPolicy): void {
  if (!crawl.spec.sitemaps.enabled) return;
  for (const url of robotsSitemaps(robots)) queueSitemap(txn, crawl, url, robots.origin);
}

export function queueSitemap(txn: Txn, crawl: CrawlRecord, url: string, via: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  const ch = txn.crawlHost(crawl.id, host);
  if ((ch?.sitemaps ?? 0) >= crawl.spec.sitemaps.maxPerHost) return false;
  if (!txn.discover(crawl, url, 0, via, "sitemap")) return false;
  const after = txn.crawlHost(crawl.id, host);
  if (after !== undefined)
    txn.putCrawlHost(crawl.id, host, { ...after, sitemaps: (after.sitemaps ?? 0) + 1 });
  return true;
}

/** What a fetched sitemap yields: child sitemaps for an index, else pages one level below the seeds. */
export function queueFromSitemap(
  txn: Txn,
  crawl: CrawlRecord,
  from: string,
  locs: string[],
  isIndex: boolean,
): void {
  const cap = Math.min(locs.length, crawl.spec.sitemaps.maxUrlsPerSitemap);
  for (let i = 0; i < cap; i++) {
    const loc = locs[i] as string;
    if (isIndex) queueSitemap(txn, crawl, loc, from);
    else txn.discover(crawl, loc, 1, from);
  }
}

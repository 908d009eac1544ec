import type { CrawlRecord, DigestEntry, FetchReport, UrlRecord } from "./records.js";
import type { FrontierStore } from "./store.js";
import type { Txn } from "./txn.js";

/**
 * The payload-digest index: for each crawl, the first durable capture of
 * each payload. A worker that fetched a payload asks here (lookupDigest)
 * before writing it; if the crawl, or an earlier crawl it names, holds it,
 * the worker writes a revisit record pointing at that capture instead.
 *
 * Only captures a worker reported durable are indexed, so a revisit never
 * points at a record that might not exist. Two workers fetching the same
 * payload at once both miss, both store it, and the first report wins the
 * index: the race costs one extra copy, never a dangling revisit.
 */

/** The first capture of a payload, and the crawl whose WARC files hold it. */
export interface DigestOriginal extends DigestEntry {
  crawlId: string;
}

/** Whether `crawl` dedups at all: against itself, or against earlier crawls. */
export function dedupsPayloads(crawl: CrawlRecord): boolean {
  const d = crawl.spec.dedup;
  // Definitions stored before dedup existed lack the field: the default (within the crawl) applies.
  return d === undefined || d.withinCrawl || d.fromCrawls.length > 0;
}

/** The capture `crawl` should refer to for this payload: its own first, then each named crawl in order. */
export function lookupDigest(
  store: FrontierStore,
  crawl: CrawlRecord,
  payloadDigest: string,
): DigestOriginal | undefined {
  const d = crawl.spec.dedup;
  const crawls = [...(d === undefined || d.withinCrawl ? [crawl.id] : []), ...(d?.fromCrawls ?? [])];
  for (const crawlId of crawls) {
    const entry = store.digests.get([crawlId, payloadDigest]);
    if (entry !== undefined) return { crawlId, ...entry };
  }
  return undefined;
}

/**
 * Indexes a page's response record once its report made the URL done.
 * Revisits are not indexed (they hold no payload); nor are captures without a
 * payload digest (the worker leaves it off truncated and empty payloads).
 */
export function indexCapture(txn: Txn, crawl: CrawlRecord, rec: UrlRecord, r: FetchReport): boolean {
  const c = r.capture;
  if (c?.payloadDigest === undefined || c.revisit !== undefined) return false;
  if (c.recordId === undefined || c.date === undefined) return false;
  return txn.indexDigest(crawl.id, c.payloadDigest, {
    url: rec.url,
    date: c.date,
    recordId: c.recordId,
    capture: { file: c.file, offset: c.offset, length: c.length },
  });
}

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
 * points at a record that might not exist. When two fetches of one payload
 * overlap, the first to ask claims it (in memory) and stores it; the second
 * waits a little for that capture to be reported (DigestClaims) and then
 * refers to it. If the claimant is slower than the wait, fails, or the
 * coordinator restarted in between, the second stores its own copy and the
 * first report wins the index: a race costs one extra copy, never a
 * dangling revisit.
 */

/** How long a lookup waits for another fetch of the same payload to be reported durable. */
export const CLAIM_WAIT_MS = 1500;
/** A claim older than this is stale (its fetch is long over): the next asker claims anew. */
const CLAIM_TTL_MS = 60_000;
const CLAIMS_MAX = 100_000;

/** Payloads being written by a fetch that asked first: `crawlId\0digest` -> its lease and when it asked. */
export type DigestClaims = Map<string, { leaseId: string; atMs: number }>;

/**
 * Claims a payload for `leaseId` unless another active fetch holds a fresh
 * claim on it; returns that other fetch's lease id, or undefined if the
 * caller now holds the claim (and should store the payload).
 */
export function claimDigest(
  claims: DigestClaims,
  crawlId: string,
  payloadDigest: string,
  leaseId: string,
  nowMs: number,
  isActive: (leaseId: string) => boolean,
): string | undefined {
  const key = `${crawlId}\u0000${payloadDigest}`;
  const held = claims.get(key);
  if (
    held !== undefined &&
    held.leaseId !== leaseId &&
    nowMs - held.atMs < CLAIM_TTL_MS &&
    isActive(held.leaseId)
  )
    return held.leaseId;
  if (claims.size >= CLAIMS_MAX) {
    for (const [k, c] of claims) if (nowMs - c.atMs >= CLAIM_TTL_MS || !isActive(c.leaseId)) claims.delete(k);
    // Still full of live claims: forget the oldest (a claim only saves a copy, it guards nothing).
    if (claims.size >= CLAIMS_MAX) claims.delete(claims.keys().next().value as string);
  }
  claims.set(key, { leaseId, atMs: nowMs });
  return undefined;
}

/** Whether `crawl` consults its own captures (claims matter only then). */
export function dedupsWithin(crawl: CrawlRecord): boolean {
  return crawl.spec.dedup === undefined || crawl.spec.dedup.withinCrawl;
}

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

import type { CrawlSpec } from "@heed/shared";
import type { FrontierShard } from "./context.js";
import type { CrawlRecord, SkipReason, UrlRecord } from "./records.js";
import type { Txn } from "./txn.js";

/**
 * Crawl and per-host budgets. Per-host counters live in `crawlHosts`; the
 * budget counters are kept only for crawls that set a per-host budget, so other
 * crawls pay no extra reads or writes for them on the lease path. Every crawl
 * counts its fetches per host when they are reported (countCrawlFetch).
 */

export function hostBudgetsOn(spec: CrawlSpec): boolean {
  const b = spec.budgets;
  return b.maxPagesPerHost > 0 || b.maxBytesPerHost > 0 || b.pagesPerWindow > 0;
}

/** How soon a shard past its share of a crawl-wide budget looks again (its claim for more is under way). */
const SHARE_WAIT_MS = 250;

/**
 * Past an absolute budget the URL is skipped with the budget as reason; past a window it waits.
 * In a sharded crawl the shard's allowance is its part of the crawl-wide budget: past it the URL
 * waits for more, unless the whole crawl's budget is spent.
 */
export function budgetVerdict(
  txn: Txn,
  crawl: CrawlRecord,
  rec: UrlRecord,
  shard?: Pick<FrontierShard, "allowance">,
): { skip?: SkipReason; waitUntilMs?: number } {
  const now = txn.now;
  if (rec.attempts > 0) return {};
  const b = crawl.spec.budgets;
  if (crawl.pagesLeased >= crawl.spec.maxPages) return { skip: "budget_max_pages" };
  if (b.maxBytes > 0 && crawl.bytes >= b.maxBytes) return { skip: "budget_max_bytes" };
  const s = shard?.allowance?.(crawl);
  if (s !== undefined) {
    if (crawl.pagesLeased >= s.pages)
      return s.pagesSpent ? { skip: "budget_max_pages" } : { waitUntilMs: now + SHARE_WAIT_MS };
    if (b.maxBytes > 0 && crawl.bytes >= s.bytes)
      return s.bytesSpent ? { skip: "budget_max_bytes" } : { waitUntilMs: now + SHARE_WAIT_MS };
  }
  if (!hostBudgetsOn(crawl.spec)) return {};
  const ch = txn.crawlHost(crawl.id, rec.hostKey);
  if (ch === undefined) return {};
  if (b.maxPagesPerHost > 0 && ch.pages >= b.maxPagesPerHost) return { skip: "budget_host_pages" };
  if (b.maxBytesPerHost > 0 && ch.bytes >= b.maxBytesPerHost) return { skip: "budget_host_bytes" };
  if (b.pagesPerWindow > 0 && now - ch.windowStartMs < b.windowMs && ch.windowPages >= b.pagesPerWindow) {
    return { waitUntilMs: ch.windowStartMs + b.windowMs };
  }
  return {};
}

/** A page lease was issued: count it against the host's page and window budgets. */
export function countHostPage(txn: Txn, crawl: CrawlRecord, hostKey: string): void {
  if (!hostBudgetsOn(crawl.spec)) return;
  const ch = txn.crawlHost(crawl.id, hostKey);
  if (ch === undefined) return;
  ch.pages++;
  if (txn.now - ch.windowStartMs >= crawl.spec.budgets.windowMs) {
    ch.windowStartMs = txn.now;
    ch.windowPages = 0;
  }
  ch.windowPages++;
  txn.putCrawlHost(crawl.id, hostKey, ch);
}

/** A page was fetched: count its body against the host's byte budget. */
export function countHostBytes(txn: Txn, crawl: CrawlRecord, hostKey: string, bytes: number): void {
  if (!hostBudgetsOn(crawl.spec)) return;
  const ch = txn.crawlHost(crawl.id, hostKey);
  if (ch === undefined) return;
  ch.bytes += bytes;
  txn.putCrawlHost(crawl.id, hostKey, ch);
}

/** A fetch ended (any lease kind): the crawl's own share of the host's fetches and bytes, for listings per crawl. */
export function countCrawlFetch(txn: Txn, crawlId: string, hostKey: string, bytes: number): void {
  const ch = txn.crawlHost(crawlId, hostKey);
  if (ch === undefined) return;
  ch.fetches = (ch.fetches ?? 0) + 1;
  ch.fetchedBytes = (ch.fetchedBytes ?? 0) + bytes;
  txn.putCrawlHost(crawlId, hostKey, ch);
}

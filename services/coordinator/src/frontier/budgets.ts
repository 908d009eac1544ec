import type { CrawlSpec } from "@heed/shared";
import type { FrontierShard } from "./context.js";
import type {
  CrawlFetches,
  CrawlHostState,
  CrawlRecord,
  HostState,
  SkipReason,
  UrlRecord,
} from "./records.js";
import type { Txn } from "./txn.js";

/**
 * Crawl and per-host budgets. Per-host counters live in `crawlHosts`; the
 * budget counters are kept only for crawls that set a per-host budget, so other
 * crawls pay no extra reads or writes for them on the lease path. Every crawl
 * counts its fetches per host when they are reported (countCrawlFetch), in the
 * host record the report writes anyway.
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

/**
 * A fetch ended (any lease kind): the crawl's own share of the host's fetches and bytes, for
 * listings per crawl. Counted in the host record while one crawl fetches the host; when another
 * does, the count so far moves to the first crawl's crawl-host record.
 */
export function countCrawlFetch(txn: Txn, crawlId: string, hostKey: string, bytes: number): void {
  const host = txn.host(hostKey);
  let tally = host.crawlFetches;
  if (tally?.crawlId !== crawlId) {
    // Only a host the crawl met is counted (a robots.txt redirect hop may lead elsewhere).
    if (!txn.crawlHostExists(crawlId, hostKey)) return;
    if (tally !== undefined) moveCrawlFetches(txn, hostKey, tally);
    tally = { crawlId, fetches: 0, bytes: 0 };
    host.crawlFetches = tally;
  }
  tally.fetches++;
  tally.bytes += bytes;
}

function moveCrawlFetches(txn: Txn, hostKey: string, tally: CrawlFetches): void {
  const ch = txn.crawlHost(tally.crawlId, hostKey);
  if (ch === undefined) return;
  ch.fetches = (ch.fetches ?? 0) + tally.fetches;
  ch.fetchedBytes = (ch.fetchedBytes ?? 0) + tally.bytes;
  txn.putCrawlHost(tally.crawlId, hostKey, ch);
}

/** A crawl's fetches of a host and their bytes: its crawl-host record's, and the host record's latest. */
export function crawlFetchesOf(
  ch: CrawlHostState | undefined,
  host: HostState | undefined,
  crawlId: string,
): { fetches: number; bytes: number } {
  const latest = host?.crawlFetches?.crawlId === crawlId ? host.crawlFetches : undefined;
  return {
    fetches: (ch?.fetches ?? 0) + (latest?.fetches ?? 0),
    bytes: (ch?.fetchedBytes ?? 0) + (latest?.bytes ?? 0),
  };
}

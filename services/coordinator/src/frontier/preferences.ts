import {
  decidePurposes,
  hasPreferencePurposes,
  type PurposeDecision,
  pageReadings,
  robotsContentUsage,
  type SignalReading,
  TDM_RESERVED,
} from "@heed/shared";
import type { FrontierObserver } from "./observer.js";
import type { CrawlRecord, FetchReport, RobotsRecord, UrlRecord } from "./records.js";
import { tdmReserved } from "./tdm.js";
import type { Txn } from "./txn.js";

/**
 * AI-use preferences (IETF AI Preferences) against a crawl's declared
 * purposes. Before a fetch, robots.txt Content-Usage and a known tdmrep.json
 * can refuse a purpose: the URL is then skipped, unfetched. After a fetch, the
 * Content-Usage header and the page's tdm-reservation join them: a refused
 * purpose is recorded, and a page refused for every purpose is not kept.
 */

function robotsReading(robots: RobotsRecord | undefined, crawl: CrawlRecord, url: string): SignalReading[] {
  if (robots?.status !== "parsed") return [];
  const usage = robotsContentUsage(robots.text, crawl.spec.userAgent.product, url, robots.digest);
  return Object.keys(usage.preferences).length > 0
    ? [{ signal: "robots-content-usage", preferences: usage.preferences, lines: usage.lines }]
    : [];
}

function tdmReading(txn: Txn, rec: UrlRecord): SignalReading[] {
  const tdm = txn.store.tdm.get(rec.origin);
  if (tdm === undefined || !tdmReserved(tdm, rec.url)) return [];
  return [
    { signal: tdm.headerReserved === true ? "tdm-reservation" : "tdmrep-json", preferences: TDM_RESERVED },
  ];
}

const applies = (crawl: CrawlRecord, rec: UrlRecord) =>
  rec.kind === undefined && hasPreferencePurposes(crawl.spec.purposes ?? ["archive"]);

function decide(crawl: CrawlRecord, rec: UrlRecord, readings: SignalReading[]): PurposeDecision[] {
  const decisions = decidePurposes(crawl.spec.purposes ?? ["archive"], readings);
  if (decisions.some((d) => d.decision !== "unknown")) rec.preferences = decisions;
  return decisions.filter((d) => d.decision === "disallowed");
}

function count(
  observer: FrontierObserver,
  refused: PurposeDecision[],
  stage: "before_fetch" | "after_fetch",
) {
  for (const d of refused) observer.preferenceRefused(d.purpose, d.signal ?? "", stage);
}

/** At lease time: true when the URL was skipped because its site refuses one of the crawl's purposes. */
export function refusedBeforeFetch(
  txn: Txn,
  observer: FrontierObserver,
  crawl: CrawlRecord,
  hash: string,
  rec: UrlRecord,
  robots: RobotsRecord | undefined,
): boolean {
  if (!applies(crawl, rec)) return false;
  const refused = decide(crawl, rec, [...robotsReading(robots, crawl, rec.url), ...tdmReading(txn, rec)]);
  if (refused.length === 0) return false;
  count(observer, refused, "before_fetch");
  txn.skip(crawl, hash, rec, "content_usage");
  return true;
}

/**
 * For a fetched page: records every purpose's decision. Returns true when the
 * page is refused for all the crawl's purposes, so it is not kept at all.
 */
export function refusedAfterFetch(
  txn: Txn,
  observer: FrontierObserver,
  crawl: CrawlRecord,
  rec: UrlRecord,
  result: FetchReport,
): boolean {
  if (!applies(crawl, rec)) return false;
  const readings: SignalReading[] = [
    ...pageReadings(result.contentUsage, result.tdmReserved),
    ...robotsReading(txn.robots(rec.origin), crawl, rec.url),
    ...tdmReading(txn, rec),
  ];
  const refused = decide(crawl, rec, readings);
  count(observer, refused, "after_fetch");
  const purposes = crawl.spec.purposes ?? ["archive"];
  return refused.length > 0 && refused.length === purposes.length;
}

import type { CrawlRecord, TdmRecord, UrlRecord } from "./records.js";
import { type Txn, urlHashOf } from "./txn.js";

/**
 * The W3C TDM Reservation Protocol, as an opt-out a crawl may choose to honour:
 * an origin's /.well-known/tdmrep.json is read before its pages, and what it
 * reserves for text and data mining is not fetched.
 */

export const TDMREP_PATH = "/.well-known/tdmrep.json";

/** Queues the origin's tdmrep.json ahead of its pages (depth -1 sorts first in the host queue). */
export function queueTdmRep(txn: Txn, crawl: CrawlRecord, origin: string): void {
  if (!crawl.spec.honourTdmReservation || txn.tdm(origin) !== undefined) return;
  txn.discover(crawl, `${origin}${TDMREP_PATH}`, -1, undefined, "tdmrep");
}

/** Rules of a tdmrep.json; anything unreadable counts as no reservation rather than failing the crawl. */
export function tdmRulesFromJson(text: string): TdmRecord["rules"] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const rules: TdmRecord["rules"] = [];
  for (const entry of parsed.slice(0, 1000)) {
    if (entry === null || typeof entry !== "object") continue;
    const location = (entry as Record<string, unknown>).location;
    const reservation = (entry as Record<string, unknown>)["tdm-reservation"];
    if (typeof location !== "string") continue;
    rules.push({ pattern: location, reserved: reservation === 1 || reservation === "1" });
  }
  return rules;
}

function patternMatches(pattern: string, path: string): boolean {
  const anchored = pattern.endsWith("$");
  const body = (anchored ? pattern.slice(0, -1) : pattern)
    .split("*")
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp(`^${body.join(".*")}${anchored ? "$" : ""}`);
  return re.test(path.startsWith("/") ? path : `/${path}`) || re.test(path);
}

/** Whether the URL's text-and-data-mining rights are reserved: the first matching rule decides. */
export function tdmReserved(record: TdmRecord, url: string): boolean {
  if (record.headerReserved === true) return true;
  const u = new URL(url);
  const path = `${u.pathname}${u.search}`;
  for (const rule of record.rules) if (patternMatches(rule.pattern, path)) return rule.reserved;
  return false;
}

/** For a page of a crawl that honours TDMRep: wait (tdmrep.json not read yet), skip, or go. */
export function tdmVerdict(txn: Txn, crawl: CrawlRecord, rec: UrlRecord): "wait" | "reserved" | "free" {
  if (!crawl.spec.honourTdmReservation || rec.kind === "tdmrep") return "free";
  const record = txn.tdm(rec.origin);
  if (record === undefined) {
    const pending = txn.store.urls.get([crawl.id, tdmHashOf(rec.origin)]);
    return pending !== undefined && (pending.state === "queued" || pending.state === "leased")
      ? "wait"
      : "free";
  }
  return tdmReserved(record, rec.url) ? "reserved" : "free";
}

function tdmHashOf(origin: string): string {
  return urlHashOf(`${origin}${TDMREP_PATH}`);
}

import {
  CRAWL_PURPOSES,
  type CrawlPurpose,
  decidePurposes,
  type PurposeDecision,
  pageReadings,
  proto,
} from "@heed/shared";

/** What a page's own response refuses of its crawl's purposes, and whether that leaves nothing to keep it for. */
export interface Refusal {
  /** The purposes refused, each with the signal that decided. */
  refused: PurposeDecision[];
  /** Every purpose of the crawl is refused: the page is not kept (no response record). */
  notKept: boolean;
}

const isPurpose = (p: string): p is CrawlPurpose => (CRAWL_PURPOSES as readonly string[]).includes(p);

/**
 * The AI-use preferences that arrived with a page (the Content-Usage header,
 * draft-ietf-aipref-attach-05, and a tdm-reservation) read against the
 * lease's purposes. A page is leased only when robots.txt and tdmrep.json
 * refused none of them, so these signals alone decide what the frontier
 * records for it; the rule (not kept when every purpose is refused) is the
 * frontier's own.
 */
export function refusalOf(lease: proto.Lease, result: proto.FetchResult): Refusal | undefined {
  if (lease.kind !== proto.LeaseKind.LEASE_KIND_PAGE || result.error !== undefined) return undefined;
  const purposes = lease.purposes.filter(isPurpose);
  const readings = pageReadings(result.contentUsage, result.tdmReserved);
  if (readings.length === 0) return undefined;
  const refused = decidePurposes(purposes, readings).filter((d) => d.decision === "disallowed");
  if (refused.length === 0) return undefined;
  return { refused, notKept: refused.length === purposes.length };
}

import type { UrlRecord, UrlState } from "../frontier/records.js";
import type { FrontierStore } from "../frontier/store.js";

/**
 * A crawl's URL records in batches, each batch read in its own short read
 * transaction: a slow client holds no LMDB snapshot open while the crawl
 * goes on (LMDB cannot reuse pages a long-lived reader still sees).
 */
export function* urlBatches(
  store: FrontierStore,
  crawlId: string,
  state: UrlState | undefined,
  batchSize = 500,
): Generator<UrlRecord[]> {
  let after: [string, string] | undefined;
  for (;;) {
    const entries = [
      ...store.urls.getRange({
        start: after ?? [crawlId],
        end: [`${crawlId}\u0000`],
        // One more than a batch: the first is the previous batch's last when resuming.
        limit: batchSize + 1,
      }),
    ];
    const fresh = after === undefined ? entries : entries.filter((e) => e.key[1] !== after?.[1]);
    const page = fresh.slice(0, batchSize);
    if (page.length === 0) return;
    const batch = page.map((e) => e.value).filter((u) => state === undefined || u.state === state);
    if (batch.length > 0) yield batch;
    after = (page[page.length - 1] as (typeof page)[number]).key;
  }
}

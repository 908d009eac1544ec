import type { UrlRecord } from "./records.js";
import type { FrontierStore } from "./store.js";
import type { Sequence } from "./txn.js";

const INDEXED = "discovery-indexed";

/**
 * Frontiers written before the discovery index existed get it once, at open:
 * each crawl's URLs in the order of their discovery time (ties by hash), each
 * with a fresh sequence number so later discoveries sort after them.
 */
export function indexDiscoveryOrder(store: FrontierStore, seq: Sequence): void {
  if (store.meta.get(INDEXED) === 1) return;
  store.root.transactionSync(() => {
    for (const crawlId of store.crawls.getKeys()) {
      const found: { at: number; hash: string }[] = [];
      for (const { key, value } of store.urls.getRange({ start: [crawlId], end: [`${crawlId}\u0000`] }))
        found.push({ at: value.discoveredAtMs, hash: key[1] });
      found.sort((a, b) => a.at - b.at || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
      for (const f of found) store.discovery.putSync([crawlId, seq.next()], f.hash);
    }
    store.meta.putSync("seq", seq.current());
    store.meta.putSync(INDEXED, 1);
  });
}

/** One batch of a crawl's URLs in discovery order, and the position of the last one looked at. */
export interface DiscoveryBatch {
  urls: UrlRecord[];
  last: number;
}

/**
 * A crawl's URL records in discovery order, after position `after`, in
 * batches: each read on its own, so a slow reader holds no LMDB snapshot open
 * while the crawl goes on (LMDB cannot reuse pages a long-lived reader sees).
 */
export function* discoveryBatches(
  store: FrontierStore,
  crawlId: string,
  filter: (u: UrlRecord) => boolean,
  after = -1,
  batchSize = 500,
): Generator<DiscoveryBatch> {
  let from = after + 1;
  for (;;) {
    const entries = [
      ...store.discovery.getRange({
        start: [crawlId, from],
        end: [crawlId, Number.MAX_SAFE_INTEGER],
        limit: batchSize,
      }),
    ];
    if (entries.length === 0) return;
    const urls: UrlRecord[] = [];
    for (const { value: hash } of entries) {
      const rec = store.urls.get([crawlId, hash]);
      if (rec !== undefined && filter(rec)) urls.push(rec);
    }
    const last = (entries[entries.length - 1] as (typeof entries)[number]).key[1];
    if (urls.length > 0) yield { urls, last };
    from = last + 1;
  }
}

import { checkFrontier, type FrontierCheck } from "./frontier/check.js";
import type { CrawlRecord, LeaseRecord, UrlRecord } from "./frontier/records.js";
import { loadCrawl, openFrontierStore } from "./frontier/store.js";

/**
 * A coordinator's frontier read from another process, read-only: LMDB lets
 * readers in beside the coordinator writing, so this is safe while it runs.
 */
export interface FrontierReader {
  /** False until the coordinator has created the frontier's tables. */
  ready: boolean;
  crawl(id: string): CrawlRecord | undefined;
  urls(crawlId: string): UrlRecord[];
  /** URLs a shard keeps for other shards until the URL stream has them. */
  outboxSize(): number;
  /** Every lease record kept (active and ended). */
  leases(): LeaseRecord[];
  /** Verifies the frontier's invariants (`heed frontier check`). */
  check(): FrontierCheck;
  close(): Promise<void>;
}

/** Opens the frontier in `dataDir` read-only; a SetupError when there is none. */
export function openFrontierReader(dataDir: string): FrontierReader {
  const store = openFrontierStore(dataDir, { readOnly: true });
  return {
    ready: store.crawls !== undefined && store.crawlSpecs !== undefined,
    crawl: (id) => loadCrawl(store, id),
    urls: (crawlId) =>
      [...store.urls.getRange({ start: [crawlId], end: [`${crawlId}\u0000`] })].map((e) => e.value),
    outboxSize: () => store.outbox?.getCount() ?? 0,
    leases: () => [...store.leases.getRange()].map((e) => e.value),
    check: () => checkFrontier(store),
    close: () => store.close(),
  };
}

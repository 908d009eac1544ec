import { checkFrontier, type FrontierCheck } from "./frontier/check.js";
import type { CrawlRecord, HostState, LeaseRecord, UrlRecord } from "./frontier/records.js";
import { loadCrawl, openFrontierStore } from "./frontier/store.js";

/**
 * A coordinator's frontier read from another process, read-only. LMDB lets
 * readers in beside the coordinator writing, but with lmdb 3.5.6 opening and
 * closing readers over and over beside a running coordinator has made it lose
 * its last commit: keep one reader open rather than one per look (see
 * docs/design.md).
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
  /** A politeness key's state (a host, domain, group or address key). */
  host(hostKey: string): HostState | undefined;
  /** Verifies the frontier's invariants (`heed frontier check`). */
  check(): FrontierCheck;
  close(): Promise<void>;
}

/** Opens the frontier in `dataDir` read-only; a SetupError when there is none. */
export function openFrontierReader(dataDir: string): FrontierReader {
  const store = openFrontierStore(dataDir, { readOnly: true });
  return {
    // A coordinator creates its tables one after the other: a reader opened in between sees only some.
    ready: Object.entries(store).every(([, table]) => table !== undefined),
    crawl: (id) => loadCrawl(store, id),
    urls: (crawlId) =>
      [...store.urls.getRange({ start: [crawlId], end: [`${crawlId}\u0000`] })].map((e) => e.value),
    outboxSize: () => store.outbox?.getCount() ?? 0,
    leases: () => [...store.leases.getRange()].map((e) => e.value),
    host: (hostKey) => store.hosts.get(hostKey),
    check: () => checkFrontier(store),
    close: () => store.close(),
  };
}

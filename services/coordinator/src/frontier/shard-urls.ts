import { type FrontierContext, inTxn } from "./context.js";
import type { OutboxEntry, UrlRecord } from "./records.js";

/** A URL another shard found for this one (see shards/url-inbox.ts). */
export interface InboundUrl {
  crawlId: string;
  url: string;
  depth: number;
  via?: string;
  kind?: UrlRecord["kind"];
  /** A seed added to the running crawl on another shard: every shard records it, its owner queues it. */
  seed?: true;
}

/** What became of one inbound batch: the positions whose crawl this shard does not know yet. */
export interface IngestResult {
  queued: number;
  unknownCrawl: number[];
}

/**
 * Queues a batch of URLs from other shards in one commit. Each passes the
 * same scope, depth and dedup as a local discovery; one whose host this shard
 * no longer owns goes to the outbox again. A crawl that had finished here runs
 * again when one of them is new.
 */
export function ingestUrls(ctx: FrontierContext, batch: InboundUrl[]): IngestResult {
  return inTxn(ctx, (txn) => {
    const unknownCrawl: number[] = [];
    let queued = 0;
    batch.forEach((u, i) => {
      const crawl = txn.crawl(u.crawlId);
      if (crawl === undefined) {
        unknownCrawl.push(i);
        return;
      }
      // A cancelled crawl takes nothing new; its URLs are settled already.
      if (crawl.state === "cancelled") return;
      if (u.seed === true) {
        // Its host joins the crawl's scope here too, so links to it found on this shard are kept.
        txn.addSeed(crawl, u.url);
        if (ctx.shard?.routeOf(new URL(u.url).hostname) !== undefined) return;
      }
      if (!txn.discover(crawl, u.url, u.depth, u.via, u.kind)) return;
      queued++;
      if (crawl.state === "finished") {
        crawl.state = "running";
        delete crawl.finishedAtMs;
      }
    });
    return { queued, unknownCrawl };
  });
}

/** The oldest outbox entries, at most `limit`. */
export function outboxBatch(ctx: FrontierContext, limit: number): { key: number; entry: OutboxEntry }[] {
  return [...ctx.store.outbox.getRange({ limit })].map((e) => ({ key: e.key, entry: e.value }));
}

/** Forgets outbox entries the URL stream acknowledged. */
export function dropOutbox(ctx: FrontierContext, keys: number[]): void {
  if (keys.length > 0) inTxn(ctx, (txn) => txn.dropOutbox(keys));
}

import type { CrawlSpec } from "@heed/shared";
import type { Database, Key } from "lmdb";
import type { RobotsRecord } from "./records.js";
import { type FrontierStore, msgpackTable, OLDER_TABLES } from "./store.js";

const APART = "large-values-apart";
/** Records per commit: a commit's cost grows with the pages it dirties. */
const CHUNK = 10_000;

/**
 * Frontiers written before large values were kept apart from msgpackr (see `plain` in store.ts)
 * move theirs once, at open: crawl definitions and links past the depth limit into their JSON
 * tables, robots.txt texts out of their records into their own table.
 */
export function keepLargeValuesApart(store: FrontierStore): void {
  if (store.meta.get(APART) === 1) return;
  moveAll(store, msgpackTable<CrawlSpec, string>(store.root, OLDER_TABLES.crawlSpecs), store.crawlSpecs);
  moveAll(
    store,
    msgpackTable<string[], [string, string]>(store.root, OLDER_TABLES.pastDepth),
    store.pastDepth,
  );
  splitRobotsTexts(store);
  store.meta.putSync(APART, 1);
}

function moveAll<V, K extends Key>(store: FrontierStore, from: Database<V, K>, to: Database<V, K>): void {
  for (;;) {
    const batch = [...from.getRange({ limit: CHUNK })];
    if (batch.length === 0) return;
    store.root.transactionSync(() => {
      for (const { key, value } of batch) {
        to.putSync(key, value);
        from.removeSync(key);
      }
    });
  }
}

function splitRobotsTexts(store: FrontierStore): void {
  let after: string | undefined;
  for (;;) {
    const batch = [
      ...store.robots.getRange({
        ...(after !== undefined ? { start: after, exclusiveStart: true } : {}),
        limit: CHUNK,
      }),
    ];
    if (batch.length === 0) return;
    store.root.transactionSync(() => {
      for (const { key, value } of batch) {
        const { text, ...rest } = value as Partial<RobotsRecord>;
        if (text === undefined) continue;
        store.robots.putSync(key, rest as typeof value);
        if (text !== "") store.robotsTexts.putSync(key, text);
      }
    });
    after = (batch[batch.length - 1] as (typeof batch)[number]).key;
  }
}

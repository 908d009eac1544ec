import type { CrawlRecord } from "./records.js";
import type { FrontierStore } from "./store.js";

/**
 * A crawl's seeds are the ones its definition was created with, then the ones
 * added later (their own table, so adding is linear in what is added). A
 * seed's position counts across both, in the order they came.
 */
export function seedCount(crawl: CrawlRecord): number {
  return crawl.spec.seeds.length + (crawl.addedSeeds ?? 0);
}

/** The seeds from position `from` on, read lazily (a page never loads the whole list). */
export function* seedsFrom(
  store: FrontierStore,
  crawl: CrawlRecord,
  from: number,
): Generator<{ url: string; position: number }> {
  const created = crawl.spec.seeds;
  for (let i = from; i < created.length; i++) yield { url: created[i] as string, position: i };
  const start = Math.max(0, from - created.length);
  for (const { key, value } of store.addedSeeds.getRange({
    start: [crawl.id, start],
    end: [crawl.id, Number.MAX_SAFE_INTEGER],
  }))
    yield { url: value, position: created.length + key[1] };
}

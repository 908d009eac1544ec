import type { CrawlSpec } from "@heed/shared";
import type { FrontierStore } from "./store.js";

/**
 * The scope of a recrawl is its earlier crawl's: the earlier seeds' hosts are
 * in it (with the recrawl's own seeds), and its domains and prefixes unless
 * the recrawl names its own. Followed back through recrawls of recrawls.
 */
export function recrawlScope(
  store: FrontierStore,
  spec: CrawlSpec,
): Pick<CrawlSpec, "seeds" | "scope"> & { crawls: string[] } {
  const seeds = [...spec.seeds];
  let scope = spec.scope;
  const seen = new Set<string>([spec.id]);
  let of = spec.recrawl?.of;
  while (of !== undefined && !seen.has(of)) {
    seen.add(of);
    const earlier = store.crawlSpecs.get(of);
    if (earlier === undefined) break;
    seeds.push(...earlier.seeds);
    if (scope.domains.length === 0 && scope.prefixes.length === 0) scope = earlier.scope;
    of = earlier.recrawl?.of;
  }
  // The crawl and the earlier ones whose seeds it shares, for the seeds added to them later.
  return { seeds, scope, crawls: [...seen] };
}

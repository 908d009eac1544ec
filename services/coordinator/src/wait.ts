import { sleep } from "@heed/shared";
import type { Frontier } from "./frontier/frontier.js";
import type { CrawlRecord } from "./frontier/records.js";

/** Resolves with the crawl once it is no longer running; polls the frontier, bounded by `timeoutMs`. */
export async function waitForCrawl(
  frontier: Frontier,
  crawlId: string,
  options: {
    timeoutMs?: number;
    signal?: AbortSignal;
    pollMs?: number;
    onTick?: (c: CrawlRecord) => void;
  } = {},
): Promise<CrawlRecord> {
  const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  for (;;) {
    const crawl = frontier.crawl(crawlId);
    if (crawl === undefined) throw new Error(`no crawl ${crawlId}`);
    options.onTick?.(crawl);
    if (crawl.state !== "running" || options.signal?.aborted) return crawl;
    if (Date.now() > deadline)
      throw new Error(`crawl ${crawlId} still running after ${options.timeoutMs} ms`);
    await sleep(options.pollMs ?? 100, options.signal);
  }
}

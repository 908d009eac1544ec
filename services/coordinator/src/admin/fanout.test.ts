import { proto } from "@heed/shared";
import { describe, expect, it } from "vitest";
import { mergeCrawlState, mergeCrawlStats, mergePages } from "./fanout.js";

const S = proto.CrawlState;

describe("fleet-wide pages from several shards' pages", () => {
  const keep = (same: string[]) => same[0] as string;
  const walk = (lists: string[][], limit: number, budget = limit): string[] => {
    // Pages each shard would give after `after`, as pageOf does; a scan budget may end one early.
    const out: string[] = [];
    let after = "";
    for (let n = 0; n < 50; n++) {
      const pages = lists.map((l) => {
        const rest = l.filter((k) => k > after);
        const n = Math.min(limit, budget);
        return { items: rest.slice(0, n), more: rest.length > n };
      });
      const { page, more } = mergePages(pages, (k) => k, limit, keep);
      out.push(...page);
      if (!more) return out;
      after = page[page.length - 1] as string;
    }
    throw new Error("did not end");
  };

  it("neither skips nor repeats a key, however the shards' keys interleave", () => {
    const a = ["a", "c", "e", "g", "i", "k", "m"];
    const b = ["b", "d", "f", "h"];
    const c = ["c", "x", "y", "z"];
    const all = [...new Set([...a, ...b, ...c])].sort();
    for (const limit of [1, 2, 3, 5, 100]) expect(walk([a, b, c], limit)).toEqual(all);
    // A shard that stops short of the limit (its scan budget) but has more.
    for (const limit of [3, 5, 100]) expect(walk([a, b, c], limit, 2)).toEqual(all);
  });
});

describe("one crawl over its shards", () => {
  it("runs while any shard runs, and is finished only when every shard is", () => {
    expect(mergeCrawlState([S.CRAWL_STATE_FINISHED, S.CRAWL_STATE_RUNNING])).toBe(S.CRAWL_STATE_RUNNING);
    expect(mergeCrawlState([S.CRAWL_STATE_FINISHED, S.CRAWL_STATE_FINISHED])).toBe(S.CRAWL_STATE_FINISHED);
    expect(mergeCrawlState([S.CRAWL_STATE_RUNNING, S.CRAWL_STATE_PAUSED])).toBe(S.CRAWL_STATE_PAUSED);
  });

  it("sums counts and rates, and keeps the longest elapsed time", () => {
    const part = (done: number, queued: number, elapsedMs: number): proto.CrawlStats => ({
      ...proto.CrawlStats.fromPartial({ crawlId: "c", state: S.CRAWL_STATE_RUNNING }),
      counts: { queued, leased: 0, done, failed: 0, skipped: 0 },
      statusCounts: { "200": done },
      pagesPerSecond: done / 10,
      elapsedMs,
    });
    const m = mergeCrawlStats([part(10, 5, 10_000), part(30, 1, 20_000)]);
    expect(m.counts).toEqual({ queued: 6, leased: 0, done: 40, failed: 0, skipped: 0 });
    expect(m.statusCounts).toEqual({ "200": 40 });
    expect(m.pagesPerSecond).toBe(4);
    expect(m.elapsedMs).toBe(20_000);
    expect(m.pagesPerSecondOverall).toBe(2);
  });
});

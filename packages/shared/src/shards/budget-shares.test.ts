import { describe, expect, it } from "vitest";
import {
  type CrawlBudget,
  chunkFor,
  claimShare,
  giveBackShare,
  heldOf,
  newCrawlBudget,
  shareOf,
  spentFor,
  unclaimedOf,
} from "./budget-shares.js";

const all = () => true;

describe("crawl-wide budget shares", () => {
  it("grants claims from what nobody holds, never past the limit", () => {
    let b = newCrawlBudget(10, 0);
    b = claimShare(b, "s0", { pages: 0, bytes: 0 }, { pages: 4, bytes: 0 });
    b = claimShare(b, "s1", { pages: 0, bytes: 0 }, { pages: 4, bytes: 0 });
    b = claimShare(b, "s2", { pages: 0, bytes: 0 }, { pages: 4, bytes: 0 });
    expect([shareOf(b, "s0").pages, shareOf(b, "s1").pages, shareOf(b, "s2").pages]).toEqual([4, 4, 2]);
    expect(unclaimedOf(b).pages).toBe(0);
    // A claim on top of a share adds to it; with nothing left it adds nothing.
    b = claimShare(b, "s0", { pages: 4, bytes: 0 }, { pages: 4, bytes: 0 });
    expect(shareOf(b, "s0")).toMatchObject({ pages: 4, pagesUsed: 4 });
    expect(heldOf(b).pages).toBe(10);
  });

  it("gives back what a share holds beyond its use, for others to claim", () => {
    let b = newCrawlBudget(10, 0);
    b = claimShare(b, "s0", { pages: 0, bytes: 0 }, { pages: 6, bytes: 0 });
    b = claimShare(b, "s1", { pages: 0, bytes: 0 }, { pages: 6, bytes: 0 });
    b = giveBackShare(b, "s0", { pages: 2, bytes: 0 });
    expect(shareOf(b, "s0")).toMatchObject({ pages: 2, pagesUsed: 2 });
    expect(unclaimedOf(b).pages).toBe(4);
    b = claimShare(b, "s1", { pages: 4, bytes: 0 }, { pages: 10, bytes: 0 });
    expect(shareOf(b, "s1").pages).toBe(8);
    expect(heldOf(b).pages).toBe(10);
  });

  it("counts bytes reported past a share against the budget (use above grant)", () => {
    let b = newCrawlBudget(100, 1000);
    b = claimShare(b, "s0", { pages: 0, bytes: 0 }, { pages: 5, bytes: 600 });
    b = claimShare(b, "s1", { pages: 0, bytes: 0 }, { pages: 5, bytes: 600 });
    expect(shareOf(b, "s1").bytes).toBe(400);
    // s0's fetches reported 700 bytes on its 600: the 100 over is held against the budget too.
    b = giveBackShare(b, "s0", { pages: 3, bytes: 700 });
    expect(heldOf(b).bytes).toBe(1100);
    expect(unclaimedOf(b).bytes).toBe(0);
    b = claimShare(b, "s1", { pages: 2, bytes: 300 }, { pages: 5, bytes: 500 });
    expect(shareOf(b, "s1").bytes).toBe(400);
    // Without a byte budget bytes are never short.
    expect(unclaimedOf(newCrawlBudget(5, 0)).bytes).toBe(Number.POSITIVE_INFINITY);
  });

  it("is spent only when nothing is unclaimed and no live shard holds unused pages; a gone shard's claim is lost", () => {
    let b = newCrawlBudget(6, 0);
    b = claimShare(b, "s0", { pages: 0, bytes: 0 }, { pages: 3, bytes: 0 });
    b = claimShare(b, "s1", { pages: 0, bytes: 0 }, { pages: 3, bytes: 0 });
    b = claimShare(b, "s0", { pages: 3, bytes: 0 }, { pages: 3, bytes: 0 });
    // s1 holds 3 it has not used: s0 waits for it to use them or give them back.
    expect(spentFor(b, "s0", all).pages).toBe(false);
    // ... unless s1 is gone: what it held is lost to the crawl, which ends.
    expect(spentFor(b, "s0", (id) => id !== "s1").pages).toBe(true);
    b = giveBackShare(b, "s1", { pages: 1, bytes: 0 });
    expect(spentFor(b, "s0", all).pages).toBe(false);
    b = claimShare(b, "s0", { pages: 3, bytes: 0 }, { pages: 3, bytes: 0 });
    expect(shareOf(b, "s0").pages).toBe(5);
    expect(spentFor(b, "s0", all).pages).toBe(true);
  });

  it("never grants more than the limit, however the shards interleave, and lets demand use all of it", () => {
    // Three shards with random demand claim, use and give back in random order (a seeded walk).
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let run = 0; run < 30; run++) {
      const max = 20 + rand(80);
      let b: CrawlBudget = newCrawlBudget(max, 0);
      const ids = ["s0", "s1", "s2"];
      const used = new Map(ids.map((id) => [id, 0]));
      const demand = new Map(ids.map((id) => [id, rand(max)]));
      let over = 0;
      for (let step = 0; step < 1500; step++) {
        const id = ids[rand(3)] as string;
        const u = used.get(id) ?? 0;
        const share = shareOf(b, id);
        if (u < share.pages && u < (demand.get(id) ?? 0)) used.set(id, u + 1);
        else if (u >= (demand.get(id) ?? 0)) b = giveBackShare(b, id, { pages: u, bytes: 0 });
        else
          b = claimShare(
            b,
            id,
            { pages: u, bytes: 0 },
            chunkFor({
              pagesPerSecond: rand(10),
              queued: (demand.get(id) ?? 0) - u,
              used: { pages: u, bytes: 0 },
              left: unclaimedOf(b),
              liveShards: 3,
            }),
          );
        const total = (used.get("s0") ?? 0) + (used.get("s1") ?? 0) + (used.get("s2") ?? 0);
        over = Math.max(over, total - max, heldOf(b).pages - max);
      }
      expect(over).toBe(0);
      const total = [...used.values()].reduce((a, n) => a + n, 0);
      const wanted = [...demand.values()].reduce((a, n) => a + n, 0);
      expect(total).toBe(Math.min(max, wanted));
    }
  });

  it("sizes a chunk to what the shard can use soon, within an even part of what is left", () => {
    const base = { used: { pages: 0, bytes: 0 }, left: { pages: 1000, bytes: Infinity }, liveShards: 3 };
    expect(chunkFor({ ...base, pagesPerSecond: 0, queued: 100 }).pages).toBe(16);
    expect(chunkFor({ ...base, pagesPerSecond: 20, queued: 500 }).pages).toBe(100);
    expect(chunkFor({ ...base, pagesPerSecond: 20, queued: 7 }).pages).toBe(16);
    expect(chunkFor({ ...base, pagesPerSecond: 20, queued: 40 }).pages).toBe(40);
    expect(chunkFor({ ...base, pagesPerSecond: 1000, queued: 10_000 }).pages).toBe(334);
    expect(
      chunkFor({ ...base, left: { pages: 2, bytes: Infinity }, pagesPerSecond: 20, queued: 50 }).pages,
    ).toBe(1);
    // Bytes by the shard's own bytes per page so far.
    expect(
      chunkFor({ ...base, used: { pages: 10, bytes: 50_000 }, pagesPerSecond: 0, queued: 100 }).bytes,
    ).toBe(80_000);
  });
});

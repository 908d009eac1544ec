import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { crawlBudgetSchema, evenMap, heldOf, ownerOf, partitionOfHost } from "@heed/shared";
import { connect } from "nats";
import { afterEach, describe, expect, it } from "vitest";
import { gapViolations, overlaps } from "./harness/audit.js";
import { crawlSpec } from "./harness/cluster.js";
import { type ShardFleetHandle, startShardFleet } from "./harness/shard-fleet.js";

/**
 * A crawl's budget holds for the whole crawl however many shards serve it:
 * three shards as separate processes share one maxPages through the
 * `heed-budgets` bucket, and the site counts the pages it served.
 */
const SHARDS = ["s0", "s1", "s2"];
const HOSTS = 40;
const PAGES_PER_HOST = 3;
const MAX_PAGES = 50;
const MAP = evenMap(SHARDS);
const shardOf = (host: string) => ownerOf(MAP, partitionOfHost(host));

describe("a crawl-wide page budget over 3 shards", () => {
  let site: LoopbackSite | undefined;
  let fleet: ShardFleetHandle | undefined;
  afterEach(async () => {
    await fleet?.stop();
    await site?.close();
    fleet = undefined;
    site = undefined;
  });

  it("fetches exactly maxPages pages in all, from hosts on every shard, and the crawl ends", async () => {
    site = await startLoopbackSite({
      hosts: defaultPlan(HOSTS, PAGES_PER_HOST, 0),
      pageLatencyMs: 5,
      firstOctet: 2,
    });
    expect(site.expectedPages(100).size).toBeGreaterThan(2 * MAX_PAGES);
    fleet = await startShardFleet(SHARDS, {
      ...crawlSpec(
        site.hosts.map((h) => `${h.origin}/`),
        { maxPages: MAX_PAGES, maxDepth: 100, politeness: { minDelayMs: 100 } },
      ),
      id: "budget",
    });
    for (const s of SHARDS) await fleet.startShard(s);
    const t0 = Date.now();
    fleet.startWorkers(4);
    const crawl = await fleet.waitFinished(60_000);
    const tEnd = Date.now();
    expect(crawl.state).toBe("finished");

    // Counted at the site, independently of the coordinators: distinct pages asked for (robots.txt aside).
    const pages = new Set(site.log.filter((r) => r.path !== "/robots.txt").map((r) => `${r.host}${r.path}`));
    expect(pages.size).toBe(MAX_PAGES);
    const hosts = new Set(site.log.filter((r) => r.path !== "/robots.txt").map((r) => r.host));
    for (const s of SHARDS) expect([...hosts].filter((h) => shardOf(h) === s).length).toBeGreaterThan(0);
    expect(crawl.pagesLeased).toBe(MAX_PAGES);
    expect(crawl.skipCounts.budget_max_pages ?? 0).toBeGreaterThan(0);
    expect(gapViolations(site.log, () => 100)).toEqual([]);
    expect(overlaps(site.log, (h) => h)).toEqual([]);

    // The record: every share given back down to its use once each part ran dry; nothing held unused.
    const nc = await connect({ servers: fleet.nats.url });
    try {
      const kv = await (await nc.jetstream()).views.kv("heed-budgets", { bindOnly: true });
      const e = await kv.get("budget");
      const budget = crawlBudgetSchema.parse(e?.json());
      expect(heldOf(budget).pages).toBe(MAX_PAGES);
      const perShard = SHARDS.map((s) => fleet?.crawl(s)?.pagesLeased ?? 0);
      expect(SHARDS.map((s) => budget.shares[s]?.pagesUsed ?? 0)).toEqual(perShard);
      const pageTimes = site.log.filter((r) => r.path !== "/robots.txt").map((r) => r.startMs - t0);
      console.log(
        `first page ${Math.min(...pageTimes)} ms, last page ${Math.max(...pageTimes)} ms, finished ${tEnd - t0} ms`,
      );
      console.log(
        `crawl-wide budget ${MAX_PAGES}: pages per shard ${perShard.join("/")}, shares ${JSON.stringify(budget.shares)}`,
      );
    } finally {
      await nc.close();
    }
    for (const s of SHARDS) expect(fleet.check(s).problems).toEqual([]);
  }, 90_000);
});

import { type CrawlSpecInput, proto, silentLogger } from "@heed/shared";
import { afterEach, describe, expect, it } from "vitest";
import type { FrontierShard } from "../frontier/context.js";
import { type Frontier, openFrontier } from "../frontier/frontier.js";
import type { RangeDrop, RangeItem } from "../frontier/range-move.js";
import type { UrlState } from "../frontier/records.js";
import { closeTestFrontier, testFrontierDir } from "../frontier/testing/test-frontier.js";
import { reportFromProto } from "../grpc/report-wire.js";
import { leaseToProto } from "../leases/responder.js";
import { exportRange, movedRecords } from "./range-export.js";

const ua = { product: "HeedBot", contact: "ops@example.org" };
const spec = (seeds: string[]): CrawlSpecInput => ({
  id: "c1",
  seeds,
  userAgent: ua,
  scope: { domains: ["alpha.org", "beta.org"] },
  politeness: { minDelayMs: 2000 },
});
const SEEDS = ["http://www.alpha.org/", "http://www.beta.org/", "http://shop.beta.org/"];
/** Every page links to four more on its own host, so a few rounds leave fetched, failed and queued URLs. */
const linksOf = (url: string) => {
  const u = new URL(url);
  const n = Number(u.pathname.slice(3) || "0");
  return n >= 12 ? [] : [1, 2, 3, 4].map((i) => `${u.origin}/p/${n * 4 + i}`);
};
/** The moving range: every key of beta.org (both hosts and the domain). */
const beta = (key: string) => key.endsWith("beta.org");

let now = 1_000_000;
const opened: { frontier: Frontier; dir: string }[] = [];
afterEach(async () => {
  for (const { frontier, dir } of opened.splice(0)) await closeTestFrontier(frontier, dir);
});

function openShard(id: string, mayLease: (hostKey: string) => boolean): Frontier {
  const dir = testFrontierDir(`move-${id}`);
  const shard: FrontierShard = { id, routeOf: () => undefined, mayLease, outboxFilled: () => {} };
  const frontier = openFrontier({
    dataDir: dir,
    settings: { leaseMarginMs: 1000, leaseTtlMs: 60_000, maxWaitHintMs: 250 },
    log: silentLogger(),
    clock: () => now,
    shard,
  });
  opened.push({ frontier, dir });
  return frontier;
}

/** A few rounds of leasing and reporting: pages /p/3 fail with 500, the rest are fetched. */
async function crawlRounds(frontier: Frontier, rounds: number): Promise<string[]> {
  const fetched: string[] = [];
  for (let round = 0; round < rounds; round++) {
    now += 2500;
    const leases = (await frontier.lease("w1", 100)).leases.map((g) => leaseToProto(g));
    const results = leases.map((l) => {
      const robots = l.kind === proto.LeaseKind.LEASE_KIND_ROBOTS;
      if (!robots) fetched.push(l.url);
      return proto.FetchResult.fromPartial({
        leaseId: l.id,
        statusCode: l.url.endsWith("/p/3") ? 500 : 200,
        startedAtMs: now,
        finishedAtMs: now,
        bodyBytes: 100,
        remoteAddress: "10.1.2.3",
        ...(robots ? { robotsBody: "User-agent: *\nAllow: /\n" } : { outlinks: linksOf(l.url) }),
      });
    });
    await frontier.report("w1", results.map(reportFromProto));
  }
  return fetched;
}

const byUrl = (urls: Iterable<{ url: string; state: UrlState; depth: number; attempts: number }>) =>
  new Map([...urls].map((u) => [u.url, { state: u.state, depth: u.depth, attempts: u.attempts }]));

describe("moving a partition range's frontier state between shards", () => {
  it("exports, imports (twice, idempotently) and deletes at the source: same URLs, counts and politeness", async () => {
    const source = openShard("a", () => true);
    source.createCrawl(spec(SEEDS));
    await crawlRounds(source, 4);
    const before = source.crawl("c1");
    const movedBefore = byUrl([...source.urls("c1")].filter((u) => beta(u.hostKey)));
    expect([...movedBefore.values()].map((u) => u.state).sort()).toContain("queued");
    expect([...movedBefore.values()].map((u) => u.state)).toContain("done");
    const hostBefore = source.host("www.beta.org");
    expect(hostBefore?.nextAllowedAtMs).toBeGreaterThan(now);

    // Nobody may lease the range while it moves; the target knows the crawl (the crawls bucket told it).
    let handedOver = false;
    const target = openShard("b", (hostKey) => beta(hostKey) && handedOver);
    target.createCrawl(spec(SEEDS), { discoverSeeds: false });
    // A URL other shards sent while the range moved: queued here, replaced by the moved record.
    target.ingest([{ crawlId: "c1", url: "http://www.beta.org/", depth: 0 }]);

    const items: RangeItem[] = JSON.parse(JSON.stringify([...exportRange(source.store, beta)]));
    expect(items.filter((i) => i.t === "url").length).toBe(movedBefore.size);
    const notBeforeMs = now + 30_000;
    for (let attempt = 0; attempt < 2; attempt++) {
      for (let i = 0; i < items.length; i += 7)
        target.importRange(items.slice(i, i + 7), { notBeforeMs, progress: { key: "move-in:t", value: i } });
    }
    expect(byUrl(target.urls("c1"))).toEqual(movedBefore);
    expect(target.robots("http://www.beta.org")?.status).toBe(source.robots("http://www.beta.org")?.status);
    expect(target.host("www.beta.org")?.nextAllowedAtMs).toBe(
      Math.max(notBeforeMs, hostBefore?.nextAllowedAtMs ?? 0),
    );
    expect(target.check().problems).toEqual([]);

    const drops: RangeDrop[] = [...movedRecords(source.store, beta)];
    for (let i = 0; i < drops.length; i += 5) source.dropRange(drops.slice(i, i + 5));
    expect([...source.urls("c1")].filter((u) => beta(u.hostKey))).toEqual([]);
    expect(source.host("www.beta.org")).toBeUndefined();
    expect(source.robots("http://www.beta.org")).toBeUndefined();
    expect(source.check().problems).toEqual([]);

    // The fleet's counters are what they were, split over the two shards.
    const a = source.crawl("c1");
    const b = target.crawl("c1");
    for (const s of ["queued", "done", "failed", "skipped"] as const)
      expect((a?.counts[s] ?? 0) + (b?.counts[s] ?? 0)).toBe(before?.counts[s]);
    expect((a?.bytes ?? 0) + (b?.bytes ?? 0)).toBe(before?.bytes);
    expect((a?.hosts ?? 0) + (b?.hosts ?? 0)).toBe(before?.hosts);

    // Handed over: the target leases the moved hosts' queued pages (no robots.txt again), never before notBeforeMs.
    handedOver = true;
    now += 1000;
    expect((await target.lease("w1", 100)).leases).toEqual([]);
    now = notBeforeMs;
    const leases = (await target.lease("w1", 100)).leases;
    expect(leases.length).toBeGreaterThan(0);
    expect(leases.every((l) => l.kind === "page" && beta(l.hostKey))).toBe(true);
  });
});

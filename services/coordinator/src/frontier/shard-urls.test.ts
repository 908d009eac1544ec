import { type CrawlSpecInput, proto, silentLogger } from "@heed/shared";
import { afterEach, describe, expect, it } from "vitest";
import { reportFromProto } from "../grpc/report-wire.js";
import { leaseToProto } from "../leases/responder.js";
import type { FrontierShard } from "./context.js";
import { type Frontier, openFrontier } from "./frontier.js";
import { closeTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

const ua = { product: "HeedBot", contact: "ops@example.org" };
const spec = (seeds: string[]): CrawlSpecInput => ({
  id: "c1",
  seeds,
  userAgent: ua,
  scope: { domains: ["alpha.org", "beta.org"] },
  politeness: { minDelayMs: 0 },
});

let now = 1_000_000;
const opened: { frontier: Frontier; dir: string }[] = [];
afterEach(async () => {
  for (const { frontier, dir } of opened.splice(0)) await closeTestFrontier(frontier, dir);
});

/** Hosts on alpha.org are shard a's, on beta.org shard b's. */
function shardOf(hostname: string): string {
  return hostname.endsWith("beta.org") ? "b" : "a";
}

function openShard(id: string, options: { leasing?: () => boolean } = {}): Frontier {
  const dir = testFrontierDir(`shard-${id}`);
  const shard: FrontierShard = {
    id,
    routeOf: (hostname) => (shardOf(hostname) === id ? undefined : shardOf(hostname)),
    mayLease: (hostKey) => shardOf(hostKey) === id && (options.leasing?.() ?? true),
    outboxFilled: () => {},
  };
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

async function fetchAll(
  frontier: Frontier,
  outlinks: Record<string, string[]> = {},
  leaseIds: string[] = [],
): Promise<string[]> {
  const fetched: string[] = [];
  for (let round = 0; round < 10; round++) {
    now += 1000;
    const leases = (await frontier.lease("w1", 100)).leases.map((g) => leaseToProto(g));
    if (leases.length === 0) break;
    const results = leases.map((l) => {
      leaseIds.push(l.id);
      if (l.kind !== proto.LeaseKind.LEASE_KIND_ROBOTS) fetched.push(l.url);
      return proto.FetchResult.fromPartial({
        leaseId: l.id,
        statusCode: 200,
        startedAtMs: now,
        finishedAtMs: now,
        remoteAddress: "10.1.2.3",
        ...(l.kind === proto.LeaseKind.LEASE_KIND_ROBOTS ? { robotsBody: "User-agent: *\nAllow: /\n" } : {}),
        outlinks: outlinks[l.url] ?? [],
      });
    });
    await frontier.report("w1", results.map(reportFromProto));
  }
  return fetched.sort();
}

describe("a sharded frontier", () => {
  it("keeps its own hosts' URLs and puts the others' in the outbox, in the same commit", async () => {
    const a = openShard("a");
    a.createCrawl(spec(["http://www.alpha.org/", "http://www.beta.org/"]));
    expect([...a.urls("c1")].map((u) => u.url)).toEqual(["http://www.alpha.org/"]);
    expect(a.outbox(10).map((o) => o.entry)).toEqual([
      { shard: "b", crawlId: "c1", url: "http://www.beta.org/", depth: 0 },
    ]);
    // Outlinks found on a's page for b go the same way, with their depth and where they were found.
    expect(
      await fetchAll(a, { "http://www.alpha.org/": ["http://x.beta.org/p", "http://www.alpha.org/q"] }),
    ).toEqual(["http://www.alpha.org/", "http://www.alpha.org/q"]);
    expect(a.outbox(10).map((o) => [o.entry.url, o.entry.depth, o.entry.via])).toEqual([
      ["http://www.beta.org/", 0, undefined],
      ["http://x.beta.org/p", 1, "http://www.alpha.org/"],
    ]);
    a.dropOutbox(a.outbox(10).map((o) => o.key));
    expect(a.outbox(10)).toEqual([]);
  });

  it("queues URLs from other shards once, after the crawl is known, and runs a finished crawl again", async () => {
    const b = openShard("b");
    const early = b.ingest([{ crawlId: "c1", url: "http://www.beta.org/", depth: 0 }]);
    expect(early).toEqual({ queued: 0, unknownCrawl: [0] });
    b.createCrawl(spec(["http://www.alpha.org/", "http://www.beta.org/"]), { discoverSeeds: false });
    expect(b.crawl("c1")?.state).toBe("finished");
    const batch = [
      { crawlId: "c1", url: "http://www.beta.org/", depth: 0 },
      { crawlId: "c1", url: "http://www.beta.org/", depth: 0 },
      { crawlId: "c1", url: "http://x.beta.org/p", depth: 1, via: "http://www.alpha.org/" },
    ];
    expect(b.ingest(batch)).toEqual({ queued: 2, unknownCrawl: [] });
    expect(b.crawl("c1")?.state).toBe("running");
    // A repeat (the stream redelivered) changes nothing.
    expect(b.ingest(batch)).toEqual({ queued: 0, unknownCrawl: [] });
    expect(await fetchAll(b)).toEqual(["http://www.beta.org/", "http://x.beta.org/p"]);
    expect(b.crawl("c1")?.state).toBe("finished");
    expect(b.url("c1", "http://x.beta.org/p")?.via).toBe("http://www.alpha.org/");
    // One that is not b's (its partition moved on) is forwarded, not kept.
    expect(b.ingest([{ crawlId: "c1", url: "http://www.alpha.org/z", depth: 1 }])).toEqual({
      queued: 0,
      unknownCrawl: [],
    });
    expect(b.outbox(10).map((o) => [o.entry.shard, o.entry.url])).toEqual([["a", "http://www.alpha.org/z"]]);
  });

  it("names itself in lease ids and leases only while it may", async () => {
    let leasing = false;
    const a = openShard("a", { leasing: () => leasing });
    a.createCrawl(spec(["http://www.alpha.org/"]));
    now += 1000;
    expect((await a.lease("w1", 10)).leases).toEqual([]);
    leasing = true;
    const ids: string[] = [];
    expect(await fetchAll(a, {}, ids)).toEqual(["http://www.alpha.org/"]);
    // robots.txt, then the page: each id names the shard, and is the one its record is kept under.
    expect(ids.map((id) => id.startsWith("a~"))).toEqual([true, true]);
    for (const id of ids) expect(a.leaseRecord(id)?.state).toBe("reported");
  });
});

import { type CrawlSpecInput, proto } from "@heed/shared";
import { afterEach, describe, expect, it } from "vitest";
import { reportFromProto } from "../grpc/report-wire.js";
import { leaseToProto } from "../leases/responder.js";
import type { Frontier } from "./frontier.js";
import { seedCount } from "./seeds.js";
import { openFrontierStore } from "./store.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

const ua = { product: "HeedBot", contact: "ops@example.org" };
const spec = (seeds: string[]): CrawlSpecInput => ({ seeds, userAgent: ua, politeness: { minDelayMs: 0 } });

let now = 1_000_000;
const opened: { frontier: Frontier; dir: string }[] = [];
function fresh(): { frontier: Frontier; dir: string } {
  const dir = testFrontierDir("seeds");
  const f = { frontier: openTestFrontier(dir, () => now), dir };
  opened.push(f);
  return f;
}
afterEach(async () => {
  for (const { frontier, dir } of opened.splice(0)) await closeTestFrontier(frontier, dir);
});

// 40 seeds over 8 hosts, some twice: hosts h5..h7 appear only in later seeds.
const all = Array.from({ length: 40 }, (_, i) => `http://h${Math.floor(i / 5)}.example/p${i % 5}`);
const withRepeats = [
  ...all.slice(0, 20),
  all[3] as string,
  ...all.slice(20),
  all[0] as string,
  all[39] as string,
];

const seedList = (frontier: Frontier, id: string) => {
  const crawl = frontier.crawl(id);
  if (crawl === undefined) throw new Error(`no crawl ${id}`);
  return [...frontier.seeds(crawl, 0)].map((s) => s.url);
};

/** Fetches `from` once (robots first), reporting `links` found on it; every other lease is reported plain. */
async function follow(frontier: Frontier, from: string, links: string[]): Promise<void> {
  for (let round = 0; round < 10; round++) {
    now += 1000;
    const leases = (await frontier.lease("w1", 100)).leases.map((g) => leaseToProto(g));
    const results = leases.map((l) =>
      proto.FetchResult.fromPartial({
        leaseId: l.id,
        statusCode: 200,
        startedAtMs: now,
        finishedAtMs: now,
        remoteAddress: "10.1.2.3",
        ...(l.kind === proto.LeaseKind.LEASE_KIND_ROBOTS ? { robotsBody: "User-agent: *\nAllow: /\n" } : {}),
        ...(l.url === from ? { outlinks: links } : {}),
      }),
    );
    await frontier.report("w1", results.map(reportFromProto));
    if (leases.some((l) => l.url === from)) return;
  }
  throw new Error(`${from} was never leased`);
}

const known = (frontier: Frontier, id: string) => [...frontier.urls(id)].map((u) => u.url).sort();

describe("seeds", () => {
  it("adding seeds in many chunks gives the crawl one chunk gives: seeds, count and scope", async () => {
    const one = fresh().frontier;
    const a = one.createCrawl(spec(all));
    const chunked = fresh().frontier;
    const b = chunked.createCrawl(spec(withRepeats.slice(0, 3)));
    let added = 0;
    for (let i = 3; i < withRepeats.length; i += 4)
      added += chunked.addSeeds(b.id, withRepeats.slice(i, i + 4)).added;
    expect(added).toBe(all.length - 3);
    expect(chunked.addSeeds(b.id, [all[7] as string, all[38] as string])).toEqual({ added: 0 });

    expect(seedList(one, a.id)).toEqual(all);
    expect(seedList(chunked, b.id)).toEqual(all);
    expect(seedCount(chunked.crawl(b.id) as never)).toBe(all.length);
    // Paging starts where it was asked to, across created and added seeds.
    const crawlB = chunked.crawl(b.id);
    if (crawlB === undefined) throw new Error("no crawl");
    expect([...chunked.seeds(crawlB, 2)].map((s) => s.position)).toEqual(all.slice(2).map((_, i) => i + 2));

    // A link to a host known only from an added seed is in scope; a link elsewhere is not.
    const links = ["http://h7.example/linked", "http://h6.example/linked", "http://other.example/out"];
    await follow(one, all[0] as string, links);
    await follow(chunked, all[0] as string, links);
    expect(known(chunked, b.id)).toEqual(known(one, a.id));
    expect(known(chunked, b.id)).toContain("http://h7.example/linked");
    expect(known(chunked, b.id)).not.toContain("http://other.example/out");
  });

  it("a list longer than one commit holds is added whole, in order; one bad seed in it adds none", () => {
    const { frontier } = fresh();
    const c = frontier.createCrawl(spec(["http://a.example/"]));
    const long = Array.from({ length: 2500 }, (_, i) => `http://h${i % 300}.example/p${i}`);
    const bad = [...long.slice(0, 2400), "notaurl", ...long.slice(2400)];
    expect(() => frontier.addSeeds(c.id, bad)).toThrow(/seeds\[2400\]/);
    expect(seedList(frontier, c.id)).toEqual(["http://a.example/"]);
    expect(frontier.crawl(c.id)?.counts.queued).toBe(1);

    expect(frontier.addSeeds(c.id, [...long, long[0] as string])).toEqual({ added: long.length });
    expect(seedList(frontier, c.id)).toEqual(["http://a.example/", ...long]);
    expect(frontier.crawl(c.id)?.counts.queued).toBe(long.length + 1);
    expect(frontier.check().problems).toEqual([]);
  });

  it("reads a frontier whose definition holds the added seeds (written before they had their own table)", async () => {
    const { frontier, dir } = fresh();
    const c = frontier.createCrawl(spec(["http://a.example/"]));
    await frontier.close();
    // As such a frontier was written: the definition rewritten with every seed so far.
    const store = openFrontierStore(dir);
    const def = store.crawlSpecs.get(c.id);
    if (def === undefined) throw new Error("no definition");
    await store.crawlSpecs.put(c.id, { ...def, seeds: ["http://a.example/", "http://b.example/"] });
    await store.close();

    const reopened = openTestFrontier(dir, () => now);
    (opened[0] as { frontier: Frontier }).frontier = reopened;
    expect(seedList(reopened, c.id)).toEqual(["http://a.example/", "http://b.example/"]);
    // b.example/ was never queued in this hand-written frontier, so both URLs are new; b stays one seed.
    expect(reopened.addSeeds(c.id, ["http://b.example/", "http://c.example/"])).toEqual({ added: 2 });
    expect(seedList(reopened, c.id)).toEqual(["http://a.example/", "http://b.example/", "http://c.example/"]);
    expect(seedCount(reopened.crawl(c.id) as never)).toBe(3);
    await follow(reopened, "http://a.example/", [
      "http://b.example/linked",
      "http://c.example/linked",
      "http://d.example/",
    ]);
    const urls = known(reopened, c.id);
    expect(urls).toContain("http://b.example/linked");
    expect(urls).toContain("http://c.example/linked");
    expect(urls).not.toContain("http://d.example/");
  });
});

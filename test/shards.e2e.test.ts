import { defaultPlan, type LoopbackSite, type RequestRecord, startLoopbackSite } from "@heed/loopback-site";
import { evenMap, ownerOf, partitionOfHost } from "@heed/shared";
import { afterEach, describe, expect, it } from "vitest";
import { gapViolations, overlaps } from "./harness/audit.js";
import { crawlSpec } from "./harness/cluster.js";
import { type ShardFleetHandle, startShardFleet } from "./harness/shard-fleet.js";
import { until } from "./harness/until.js";

/**
 * One crawl served by three coordinators as separate processes, each owning
 * the hosts whose partition the shard map gives it, with URLs for other shards
 * carried on the JetStream URL stream; four workers lease from all of them.
 */
const SHARDS = ["s0", "s1", "s2"];
const HOSTS = 40;
const MIN_DELAY_MS = 100;
const MAX_DEPTH = 100;

const MAP = evenMap(SHARDS);
/** How many of the site's hosts (127.0.0.2 …) a shard owns. */
const hostsOn = (s: string) =>
  Array.from({ length: HOSTS }, (_, i) => `127.0.0.${i + 2}`).filter(
    (h) => ownerOf(MAP, partitionOfHost(h)) === s,
  ).length;
const shardOf = (url: string) => ownerOf(MAP, partitionOfHost(new URL(url).hostname));

const crawlDelayOf = (site: LoopbackSite) => (address: string) => {
  const r = site.hosts.find((h) => h.address === address)?.plan.robots;
  return Math.max(MIN_DELAY_MS, r?.kind === "crawl-delay" ? r.seconds * 1000 : 0);
};

/** Page requests (not robots.txt) by URL, fragments dropped as the crawler drops them. */
function pageRequests(log: RequestRecord[], site: LoopbackSite): Map<string, number> {
  const byUrl = new Map<string, number>();
  for (const r of log) {
    if (r.path === "/robots.txt") continue;
    const origin = site.hosts.find((h) => h.address === r.host)?.origin;
    const url = `${origin}${r.path}`;
    byUrl.set(url, (byUrl.get(url) ?? 0) + 1);
  }
  return byUrl;
}

describe("a sharded crawl: 3 shards, 4 workers, 40 hosts", () => {
  let site: LoopbackSite | undefined;
  let fleet: ShardFleetHandle | undefined;
  afterEach(async () => {
    await fleet?.stop();
    await site?.close();
    fleet = undefined;
    site = undefined;
  });

  /** `unseeded`: hosts whose root is not a seed but in scope, found only through links from other hosts. */
  async function start(
    id: string,
    unseeded: (origin: string) => boolean = () => false,
    fetch: { timeoutMs?: number } = {},
    pages = 2,
  ): Promise<{ site: LoopbackSite; fleet: ShardFleetHandle }> {
    site = await startLoopbackSite({ hosts: defaultPlan(HOSTS, pages, 0), pageLatencyMs: 5, firstOctet: 2 });
    const origins = site.hosts.map((h) => h.origin);
    fleet = await startShardFleet(SHARDS, {
      ...crawlSpec(
        origins.filter((o) => !unseeded(o)).map((o) => `${o}/`),
        {
          scope: { prefixes: origins.filter(unseeded).map((o) => `${o}/`) },
          politeness: { minDelayMs: MIN_DELAY_MS },
          // Hosts found only through other hosts' links lie deeper than their own root would.
          maxDepth: MAX_DEPTH,
          fetch,
        },
      ),
      id,
    });
    for (const s of SHARDS) await fleet.startShard(s);
    return { site, fleet };
  }

  it("fetches every page exactly once, politely, each shard keeping only its own hosts", async () => {
    const { site, fleet } = await start("sharded");
    const t0 = Date.now();
    fleet.startWorkers(4);
    const crawl = await fleet.waitFinished(60_000);
    const ms = Date.now() - t0;

    const expected = site.expectedPages(MAX_DEPTH);
    const fetched = pageRequests(site.log, site);
    expect([...fetched.keys()].sort()).toEqual([...expected].sort());
    expect([...fetched.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(crawl.state).toBe("finished");
    expect(crawl.counts.done).toBe(expected.size);

    expect(gapViolations(site.log, crawlDelayOf(site))).toEqual([]);
    expect(overlaps(site.log, (h) => h)).toEqual([]);

    for (const s of SHARDS) {
      // Each shard holds only URLs of hosts its partitions cover, and every page of those; its frontier is consistent.
      const held = new Set(fleet.urls(s).map((u) => u.url));
      expect([...held].filter((u) => shardOf(u) !== s)).toEqual([]);
      expect([...expected].filter((u) => shardOf(u) === s && !held.has(u))).toEqual([]);
      expect(fleet.check(s).problems).toEqual([]);
      expect(fleet.read(s, (f) => f.outboxSize())).toBe(0);
    }
    // Cross-shard links did cross: every host's pages link to the next host's.
    const stream = await fleet.jsm.streams.info("HEED_URLS");
    expect(stream.state.last_seq).toBeGreaterThan(0);
    console.log(
      `sharded crawl: ${expected.size} pages over ${HOSTS} hosts on ${SHARDS.length} shards in ${ms} ms; ` +
        `${site.log.length} requests; ${stream.state.last_seq} URLs crossed shards; per shard ${SHARDS.map((s) => fleet.crawl(s)?.counts.done).join("/")} pages`,
    );
  }, 90_000);

  it("loses nothing when a shard is killed mid-crawl: URLs for it wait in the stream, its hosts get no early request", async () => {
    // The shard with the most hosts. None of its hosts is a seed: every one is found through a link
    // from another shard's host, so its URLs reach it only through the stream.
    const victim = [...SHARDS].sort((a, b) => hostsOn(b) - hostsOn(a))[0] as string;
    // Six pages a host: the other shards go on finding the victim's pages for several delays after
    // its first is done, so the kill comes while links to it are still being found.
    const { site, fleet } = await start(
      "killed",
      (origin) => shardOf(origin) === victim,
      { timeoutMs: 2000 },
      6,
    );
    fleet.startWorkers(4);
    const doneOn = (s: string) => fleet.crawl(s)?.counts.done ?? 0;
    await until("the victim under way", () => (doneOn(victim) >= 1 ? true : undefined), 30_000);
    await fleet.killShard(victim);
    const killedAt = Date.now();
    // While it is down, the others keep finding its hosts' pages: they wait in the stream for it.
    let pendingWhileDown = 0;
    const downUntil = killedAt + 20_000;
    while (Date.now() < downUntil && pendingWhileDown === 0) {
      pendingWhileDown = await fleet.pendingFor(victim);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Down a while longer, so that more of them wait.
    await new Promise((r) => setTimeout(r, 1000));
    pendingWhileDown = Math.max(pendingWhileDown, await fleet.pendingFor(victim));
    expect(pendingWhileDown).toBeGreaterThan(0);
    await fleet.startShard(victim);
    const restartedAt = Date.now();
    const crawl = await fleet.waitFinished(60_000);

    // Every page but the victim's hosts' roots, which nothing links to.
    const roots = new Set(site.hosts.filter((h) => shardOf(h.origin) === victim).map((h) => `${h.origin}/`));
    const expected = new Set([...site.expectedPages(MAX_DEPTH)].filter((u) => !roots.has(u)));
    expect([...expected].filter((u) => shardOf(u) === victim).length).toBeGreaterThan(HOSTS / 4);
    const fetched = pageRequests(site.log, site);
    // Nothing lost: every page fetched (a page whose lease was out when the shard died may be fetched again).
    expect([...expected].filter((u) => !fetched.has(u))).toEqual([]);
    expect([...fetched.keys()].filter((u) => !expected.has(u))).toEqual([]);
    expect(crawl.counts.done).toBe(expected.size);
    expect(await fleet.pendingFor(victim)).toBe(0);
    // No host was asked sooner than its delay, across the kill and restart.
    expect(gapViolations(site.log, crawlDelayOf(site))).toEqual([]);
    expect(overlaps(site.log, (h) => h)).toEqual([]);
    for (const s of SHARDS) expect(fleet.check(s).problems).toEqual([]);
    console.log(
      `kill -9 ${victim}: down ${restartedAt - killedAt} ms with up to ${pendingWhileDown} URLs waiting for it; ` +
        `${expected.size} pages, ${[...fetched.values()].filter((n) => n > 1).length} fetched twice`,
    );
  }, 90_000);
});

import type { LeaseRecord } from "@heed/coordinator";
import { defaultPlan, type LoopbackSite, type RequestRecord, startLoopbackSite } from "@heed/loopback-site";
import {
  decodeShardMap,
  MAP_BUCKET,
  MAP_KEY,
  ownerOf,
  partitionOfHost,
  type ShardMap,
  type ShardMove,
} from "@heed/shared";
import { connect, type NatsConnection } from "nats";
import { afterEach, describe, expect, it } from "vitest";
import { gapViolations, overlaps } from "./harness/audit.js";
import { crawlSpec } from "./harness/cluster.js";
import { type ShardFleetHandle, startShardFleet } from "./harness/shard-fleet.js";
import { until } from "./harness/until.js";

/**
 * Adding a fourth shard to a running three-shard crawl: it joins, half the
 * biggest range moves to it with its frontier state (queued and fetched URLs,
 * host politeness state, robots answers), and it serves those hosts from then
 * on. Real processes, a real nats-server with JetStream, loopback hosts.
 */
const SHARDS = ["s0", "s1", "s2"];
const NEW = "s3";
const HOSTS = 40;
const PAGES = 12;
const MIN_DELAY_MS = 500;
const MAX_DEPTH = 100;

const crawlDelayOf = (site: LoopbackSite) => (address: string) => {
  const r = site.hosts.find((h) => h.address === address)?.plan.robots;
  return Math.max(MIN_DELAY_MS, r?.kind === "crawl-delay" ? r.seconds * 1000 : 0);
};

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

/** The shard map as it changes, read every few ms: each version with the time it was first seen. */
async function watchMap(
  url: string,
): Promise<{ seen: { atMs: number; map: ShardMap }[]; stop(): Promise<void> }> {
  const nc: NatsConnection = await connect({ servers: url });
  const kv = await (await nc.jetstream()).views.kv(MAP_BUCKET, { bindOnly: true });
  const seen: { atMs: number; map: ShardMap }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const e = await kv.get(MAP_KEY).catch(() => null);
      if (e !== null && e.operation === "PUT") {
        const map = decodeShardMap(e.value);
        if (seen[seen.length - 1]?.map.version !== map.version) seen.push({ atMs: Date.now(), map });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await loop;
      await nc.close();
    },
  };
}

/**
 * Each shard's leases from its own frontier (lease records are kept as evidence, also for hosts that moved
 * away). A partition owned by two shards at once would show as leases of two shards on it overlapping in time.
 */
function leasesByShard(fleet: ShardFleetHandle): Map<string, LeaseRecord[]> {
  return new Map(fleet.shardIds.map((s) => [s, fleet.read(s, (f) => f.leases()) ?? []]));
}

function doubleOwned(byShard: Map<string, LeaseRecord[]>): string[] {
  const spans = new Map<number, { shard: string; from: number; to: number }[]>();
  for (const [shard, leases] of byShard)
    for (const l of leases) {
      const p = partitionOfHost(l.hostKey);
      const list = spans.get(p) ?? [];
      list.push({ shard, from: l.issuedAtMs, to: l.endedAtMs ?? l.expiresAtMs });
      spans.set(p, list);
    }
  const out: string[] = [];
  for (const [p, list] of spans) {
    list.sort((a, b) => a.from - b.from);
    for (let i = 1; i < list.length; i++) {
      const prev = list.slice(0, i).filter((x) => x.shard !== list[i]?.shard);
      const cur = list[i] as (typeof list)[number];
      for (const x of prev)
        if (x.to > cur.from)
          out.push(`partition ${p}: ${x.shard} until ${x.to}, ${cur.shard} from ${cur.from}`);
    }
  }
  return out;
}

describe("adding a fourth shard to a running crawl", () => {
  let site: LoopbackSite | undefined;
  let fleet: ShardFleetHandle | undefined;
  afterEach(async () => {
    await fleet?.stop();
    await site?.close();
    fleet = undefined;
    site = undefined;
  });

  async function start(id: string): Promise<{ site: LoopbackSite; fleet: ShardFleetHandle }> {
    site = await startLoopbackSite({ hosts: defaultPlan(HOSTS, PAGES, 0), pageLatencyMs: 5, firstOctet: 2 });
    fleet = await startShardFleet(SHARDS, {
      ...crawlSpec(
        site.hosts.map((h) => `${h.origin}/`),
        { politeness: { minDelayMs: MIN_DELAY_MS }, maxDepth: MAX_DEPTH, fetch: { timeoutMs: 4000 } },
      ),
      id,
    });
    for (const s of SHARDS) await fleet.startShard(s);
    return { site, fleet };
  }

  /** The move that gives the new shard its range, as the map first showed it. */
  const moveOf = (seen: { map: ShardMap }[]): ShardMove | undefined =>
    seen.flatMap((v) => v.map.moves).find((m) => m.target === NEW);

  /** When each phase of the move was first seen, and the hand-over (ms after the first sight of the move). */
  function phases(seen: { atMs: number; map: ShardMap }[]): string {
    const first = seen.find((v) => v.map.moves.length > 0)?.atMs ?? 0;
    const out: string[] = [];
    for (const v of seen) {
      const m = v.map.moves.find((x) => x.target === NEW);
      const label = m?.phase ?? (v.map.ranges.some((r) => r.shard === NEW) ? "handed over" : "before");
      if (out[out.length - 1]?.startsWith(label) !== true) out.push(`${label} +${v.atMs - first} ms`);
    }
    return out.join(", ");
  }

  function audit(site: LoopbackSite, fleet: ShardFleetHandle, finalMap: ShardMap, move: ShardMove) {
    const expected = site.expectedPages(MAX_DEPTH);
    const fetched = pageRequests(site.log, site);
    expect([...expected].filter((u) => !fetched.has(u))).toEqual([]);
    expect([...fetched.keys()].filter((u) => !expected.has(u))).toEqual([]);
    expect(gapViolations(site.log, crawlDelayOf(site))).toEqual([]);
    expect(overlaps(site.log, (h) => h)).toEqual([]);
    const owner = (url: string) => ownerOf(finalMap, partitionOfHost(new URL(url).hostname));
    const movedHosts = site.hosts.filter((h) => {
      const p = partitionOfHost(h.address);
      return p >= move.from && p < move.to;
    });
    expect(movedHosts.length).toBeGreaterThan(0);
    for (const s of fleet.shardIds) {
      // Each shard holds only its own hosts' URLs (the moved ones deleted at the source), consistently.
      expect(
        fleet
          .urls(s)
          .filter((u) => owner(u.url) !== s)
          .map((u) => u.url),
      ).toEqual([]);
      expect(fleet.check(s).problems).toEqual([]);
    }
    const byShard = leasesByShard(fleet);
    expect(doubleOwned(byShard)).toEqual([]);
    // The moved hosts are served by the new shard from the hand-over on.
    const served = new Set((byShard.get(NEW) ?? []).map((l) => l.hostKey));
    expect(movedHosts.filter((h) => served.has(h.address))).not.toEqual([]);
    return { expected, fetched, movedHosts };
  }

  it("moves half the biggest range with its hosts' state: every page once, politely, and the new shard serves them", async () => {
    const { site, fleet } = await start("move");
    const map = await watchMap(fleet.nats.url);
    try {
      fleet.startWorkers(4);
      const done = () => fleet.shardIds.reduce((n, s) => n + (fleet.crawl(s)?.counts.done ?? 0), 0);
      await until("the crawl under way", () => (done() >= 10 ? true : undefined), 90_000);
      const joinedAt = Date.now();
      await fleet.startShard(NEW);
      await until(
        "the range handed over",
        () => {
          const last = map.seen[map.seen.length - 1]?.map;
          return last !== undefined && last.moves.length === 0 && last.ranges.some((r) => r.shard === NEW)
            ? true
            : undefined;
        },
        90_000,
      );
      const handedOverMs = Date.now() - joinedAt;
      const crawl = await fleet.waitFinished(150_000);
      const move = moveOf(map.seen) as ShardMove;
      const finalMap = map.seen[map.seen.length - 1]?.map as ShardMap;
      const { expected, fetched, movedHosts } = audit(site, fleet, finalMap, move);
      // No kill here: exactly once.
      const twice = [...fetched.entries()].filter(([, n]) => n !== 1).map(([u]) => u);
      if (twice.length > 0) {
        for (const [s, leases] of leasesByShard(fleet))
          for (const l of leases.filter((x) => twice.some((u) => x.url === u)))
            console.log(s, l.url, l.state, l.issuedAtMs, l.endedAtMs, l.workerId, l.attempt);
        console.log(
          map.seen
            .map((v) => `${v.atMs} ${JSON.stringify(v.map.moves)} ${JSON.stringify(v.map.ranges)}`)
            .join("\n"),
        );
        console.log(site.log.filter((r) => twice.some((u) => u.includes(r.host) && u.endsWith(r.path))));
      }
      expect([...fetched.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      expect(crawl.counts.done).toBe(expected.size);
      expect(fleet.crawl(NEW)?.counts.done ?? 0).toBeGreaterThan(0);
      console.log(
        `add ${NEW}: range ${move.from}-${move.to} of ${move.source} (${movedHosts.length} hosts) handed over ` +
          `${handedOverMs} ms after start; phases ${phases(map.seen)}; ${expected.size} pages, ` +
          `${fleet.crawl(NEW)?.counts.done} fetched by ${NEW}`,
      );
    } finally {
      await map.stop();
    }
  }, 400_000);

  it("completes the move after the source is killed -9 mid-move and restarted, losing nothing", async () => {
    const { site, fleet } = await start("move-kill");
    const map = await watchMap(fleet.nats.url);
    try {
      fleet.startWorkers(4);
      const done = () => fleet.shardIds.reduce((n, s) => n + (fleet.crawl(s)?.counts.done ?? 0), 0);
      await until("the crawl under way", () => (done() >= 10 ? true : undefined), 90_000);
      await fleet.startShard(NEW);
      const move = await until("the move", () => moveOf(map.seen), 90_000);
      const phaseAtKill = map.seen[map.seen.length - 1]?.map.moves.find((m) => m.target === NEW)?.phase;
      await fleet.killShard(move.source);
      await new Promise((r) => setTimeout(r, 500));
      await fleet.startShard(move.source);
      await until(
        "the range handed over",
        () => {
          const last = map.seen[map.seen.length - 1]?.map;
          return last !== undefined && last.moves.length === 0 && last.ranges.some((r) => r.shard === NEW)
            ? true
            : undefined;
        },
        90_000,
      );
      const crawl = await fleet.waitFinished(150_000);
      const finalMap = map.seen[map.seen.length - 1]?.map as ShardMap;
      const { expected, fetched } = audit(site, fleet, finalMap, move);
      // Nothing lost (a page whose lease was out at the kill may have been fetched again).
      expect(crawl.counts.done).toBe(expected.size);
      console.log(
        `kill -9 ${move.source} in ${phaseAtKill}: phases ${phases(map.seen)}; ` +
          `${[...fetched.values()].filter((n) => n > 1).length} pages fetched twice`,
      );
    } finally {
      await map.stop();
    }
  }, 400_000);
});

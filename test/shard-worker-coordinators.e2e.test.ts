/**
 * One worker and three real sharded coordinators on a nats-server with
 * JetStream: the worker finds the shards by itself, leases from each, and
 * every report reaches the shard that issued its lease (a report sent
 * elsewhere would leave its URL leased, and the crawl would not finish). A
 * shard stopped mid-crawl does not hold up the others; when it comes back
 * (on a new gRPC port), the results the worker kept for it are delivered and
 * its hosts finish.
 */
// Loopback addresses of this file: .185 and .206 (shard s0), .198-.199 (s1), .194-.195 (s2) under evenMap(s0, s1, s2).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Coordinator, type CrawlRecord, startCoordinator, waitForFleetCrawl } from "@heed/coordinator";
import {
  coordinatorConfigSchema,
  evenMap,
  ownerOf,
  parseConfig,
  partitionOfHost,
  workerConfigSchema,
} from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { startWorker, type Worker } from "@heed/worker";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawlSpec } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";
import { until } from "./harness/until.js";

const SHARDS = ["s0", "s1", "s2"];
const HOSTS: Record<string, string[]> = {
  s0: ["127.0.0.185", "127.0.0.206"],
  s1: ["127.0.0.198", "127.0.0.199"],
  s2: ["127.0.0.194", "127.0.0.195"],
};
const PAGES = 4;

const scratch = mkdtempSync(join(tmpdir(), "heed-shard-coordinators-"));
const log = pino({ level: "silent" });
let nats: NatsServerHandle;
const coordinators = new Map<string, Coordinator>();
const sites = new Map<string, TinySite>();
let worker: Worker | undefined;

function startShard(id: string): Promise<Coordinator> {
  return startCoordinator(
    parseConfig(coordinatorConfigSchema, {
      dataDir: join(scratch, "shards", id),
      natsUrl: nats.url,
      grpcListen: "127.0.0.1:0",
      shardId: id,
      shardIds: SHARDS,
      shardOwnershipTimeoutMs: 3000,
      // A stopped shard goes at once, with its leases out.
      drainTimeoutMs: 0,
      sweepIntervalMs: 50,
      maxWaitHintMs: 50,
    }),
    log,
  );
}

/** Fetches of each page of a shard's hosts (robots.txt aside). */
function pageCounts(shard: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const host of HOSTS[shard] ?? []) {
    for (const r of sites.get(host)?.requests ?? []) {
      if (!r.path.startsWith("/p")) continue;
      const key = `${host}${r.path}`;
      out.set(key, (out.get(key) ?? 0) + 1);
    }
  }
  return out;
}

const crawlOf = (shard: string, id: string): CrawlRecord | undefined =>
  coordinators.get(shard)?.frontier.crawl(id);

beforeAll(async () => {
  // The hosts really are where this test says: the map the fleet makes from its ids.
  for (const [shard, hosts] of Object.entries(HOSTS))
    for (const host of hosts) expect(ownerOf(evenMap(SHARDS), partitionOfHost(host))).toBe(shard);
  for (const [shard, hosts] of Object.entries(HOSTS)) {
    for (const host of hosts) {
      sites.set(
        host,
        await startTinySite(host, (req, res) => {
          if (req.url === "/robots.txt") return res.writeHead(404).end();
          const n = Number(/^\/p(\d+)$/.exec(req.url ?? "")?.[1] ?? PAGES);
          if (n >= PAGES) return res.writeHead(404).end();
          const next = n + 1 < PAGES ? `<a href="/p${n + 1}">next</a>` : "";
          // s1's pages are slow, so it is stopped with leases out.
          setTimeout(
            () =>
              res.writeHead(200, { "content-type": "text/html" }).end(`<html><body>${next}</body></html>`),
            shard === "s1" ? 400 : 0,
          );
        }),
      );
    }
  }
  nats = await startNatsServer({ jetstream: true });
  const started = await Promise.all(SHARDS.map((id) => startShard(id)));
  for (const [i, id] of SHARDS.entries()) coordinators.set(id, started[i] as Coordinator);
});

afterAll(async () => {
  await worker?.stop(1000);
  for (const c of coordinators.values()) await c.close();
  await nats?.stop();
  for (const s of sites.values()) await s.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("a worker with sharded coordinators", () => {
  it("crawls every shard's hosts, reports to the issuing shard, and is not held up by a shard that is down", async () => {
    const first = coordinators.get("s0");
    if (first?.shard === undefined) throw new Error("s0 is not sharded");
    const seeds = Object.values(HOSTS)
      .flat()
      .map((host) => `${sites.get(host)?.origin}/p0`);
    const crawl = await first.shard.crawls.create(
      crawlSpec(seeds, { id: "fleet", politeness: { minDelayMs: 50 } }),
    );
    worker = await startWorker(
      parseConfig(workerConfigSchema, {
        id: "fleet-worker",
        natsUrl: nats.url,
        concurrency: 4,
        allowPrivateAddresses: true,
        warcDir: join(scratch, "warc"),
        idlePollMaxMs: 100,
        reportFlushMs: 5,
      }),
      log,
    );
    // s1 goes down once it has handed out a page.
    await until("a page leased by s1", () => pageCounts("s1").size > 0 || undefined, 10_000);
    await coordinators.get("s1")?.close();
    coordinators.delete("s1");
    // The other shards finish their hosts meanwhile.
    await until(
      "s0's and s2's hosts done",
      () => ["s0", "s2"].every((s) => (crawlOf(s, crawl.id)?.counts.done ?? 0) === PAGES * 2) || undefined,
      20_000,
    );
    expect(worker.stats().pendingReports).toBeGreaterThan(0);
    for (const s of ["s0", "s2"]) {
      expect([...pageCounts(s).values()]).toEqual(Array(PAGES * 2).fill(1));
    }
    // s1 comes back on a new port: the worker follows its member record and delivers what it kept.
    coordinators.set("s1", await startShard("s1"));
    const final = await waitForFleetCrawl(
      SHARDS.map((id) => ({
        shardId: id,
        crawl: (cid: string) => coordinators.get(id)?.frontier.crawl(cid),
        outboxSize: () => coordinators.get(id)?.frontier.store.outbox.getCount() ?? 0,
      })),
      first.shard.jsm,
      crawl.id,
      // Bounded: a report lost on its way to its shard would keep the crawl running.
      { signal: AbortSignal.timeout(20_000) },
    );
    expect(final.counts.done).toBe(PAGES * 6);
    expect(final.counts.failed).toBe(0);
    for (const s of SHARDS) {
      expect(crawlOf(s, crawl.id)?.counts.done).toBe(PAGES * 2);
      expect(coordinators.get(s)?.frontier.check().problems ?? []).toEqual([]);
    }
    // Every page of s1's hosts was fetched; one still being fetched when s1 stopped may have been fetched again.
    expect(pageCounts("s1").size).toBe(PAGES * 2);
    expect(worker.stats().pendingReports).toBe(0);
  });
});

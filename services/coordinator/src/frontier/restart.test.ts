import type { CrawlSpecInput } from "@heed/shared";
import { open as lmdbOpen, type RootDatabase } from "lmdb";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openFrontierReader } from "../frontier-reader.js";
import { hostsWithQueued } from "./context.js";
import type { Frontier } from "./frontier.js";
import type { FetchReport, LeaseGrant } from "./records.js";
import { type FrontierStore, msgpackTable, OLDER_TABLES, openFrontierStore } from "./store.js";
import {
  closeTestFrontier,
  fetchedReport,
  openTestFrontier,
  testFrontierDir,
} from "./testing/test-frontier.js";

// A restart rebuilds the host schedule from LMDB in one pass: these check that it comes back
// as the running frontier had it, host by host.

let dir: string;
let now: number;
let frontier: Frontier;
const open = () => openTestFrontier(dir, () => now);

beforeEach(() => {
  dir = testFrontierDir("restart");
  now = 1_000_000;
  frontier = open();
});
afterEach(() => closeTestFrontier(frontier, dir));

const spec = (seeds: string[]): CrawlSpecInput => ({
  seeds,
  userAgent: { product: "HeedBot", contact: "ops@example.org" },
  politeness: { minDelayMs: 500, maxConcurrencyPerHost: 1 },
});

const ok = (g: LeaseGrant): FetchReport => fetchedReport(g, now);

/** Host i has i % 4 + 1 pages: some drain with one fetch, some keep work after several. */
const HOSTS = 40;
const seedsOf = (prefix: string, hosts: number) =>
  Array.from({ length: hosts }, (_, i) =>
    Array.from({ length: (i % 4) + 1 }, (_, p) => `http://${prefix}${i}.example/p${p}`),
  ).flat();

/** Every host's due time as the schedule has it, where any time already past counts as now. */
function dueTimes(f: Frontier, hosts: string[]): Record<string, number | undefined> {
  return Object.fromEntries(
    hosts.map((h) => {
      const due = f.hostDueAtMs(h);
      return [h, due === undefined ? undefined : Math.max(due, now)];
    }),
  );
}

it("schedules again exactly the hosts with queued work and room for a lease, at the times they had", async () => {
  frontier.createCrawl(spec(seedsOf("h", HOSTS)));
  // A paused crawl's URLs leave the host queues: its hosts are not scheduled, before or after.
  const paused = frontier.createCrawl(spec(seedsOf("p", 5)));
  frontier.changeCrawlState(paused.id, "pause");
  const robots = (await frontier.lease("w1", 100)).leases;
  expect(robots.filter((g) => g.kind === "robots")).toHaveLength(HOSTS);
  await frontier.report("w1", robots.map(ok));
  // Pages in three waves, at different times, so hosts come due at different times; a third of the
  // leases stay out (their host has no room until they end).
  for (let wave = 0; wave < 3; wave++) {
    now += 700 + wave * 37;
    const pages = (await frontier.lease("w1", 100)).leases;
    expect(pages.length).toBeGreaterThan(0);
    const done = pages.filter((_, i) => i % 3 !== 0 || wave === 0);
    await frontier.report("w1", done.slice(0, 4).map(ok));
    now += 50;
    await frontier.report("w1", done.slice(4).map(ok));
  }
  now += 120;
  const hosts = [...seedsOf("h", HOSTS), ...seedsOf("p", 5)].map((u) => new URL(u).hostname);
  const unique = [...new Set(hosts)];
  const before = dueTimes(frontier, unique);
  const scheduled = Object.values(before).filter((d) => d !== undefined).length;
  // The scenario has all three kinds of host: due later, due now, and not scheduled.
  expect(scheduled).toBeGreaterThan(5);
  expect(scheduled).toBeLessThan(HOSTS - 5);
  expect(new Set(Object.values(before).filter((d) => d !== undefined && d > now)).size).toBeGreaterThan(1);

  await frontier.close();
  frontier = open();
  expect(dueTimes(frontier, unique)).toEqual(before);
});

it("finds every host with queued work once, in key order, however a range reads its start", async () => {
  frontier.createCrawl(spec(seedsOf("h", HOSTS)));
  // Drain some hosts: their queues are empty, so they are skipped.
  const robots = (await frontier.lease("w1", 100)).leases;
  await frontier.report("w1", robots.map(ok));
  now += 600;
  await frontier.report("w1", (await frontier.lease("w1", 100)).leases.map(ok));
  await frontier.close();

  const store = openFrontierStore(dir);
  try {
    const expected = [...new Set([...store.queue.getKeys()].map((k) => k[0]))];
    expect(expected.length).toBeGreaterThan(10);
    expect(expected.length).toBeLessThan(HOSTS);
    expect([...hostsWithQueued(store)]).toEqual(expected);
    // A range that reads its options once, when it is made (as an lmdb-js version could).
    const readsStartOnce: FrontierStore = {
      ...store,
      queue: Object.assign(Object.create(store.queue), {
        getKeys: (options: object) => store.queue.getKeys({ ...options }),
      }),
    };
    expect([...hostsWithQueued(readsStartOnce)]).toEqual(expected);
  } finally {
    await store.close();
  }
  frontier = open();
});

/** Rewrites the closed frontier's LMDB as an older build left it, and marks it not yet moved to the current layout. */
async function asOlderFrontier(edit: (root: RootDatabase) => Promise<void>): Promise<void> {
  const root = lmdbOpen({ path: `${dir}/frontier.lmdb`, maxDbs: 32 });
  try {
    await edit(root);
    await msgpackTable(root, "meta").remove("large-values-apart");
  } finally {
    await root.close();
  }
}

it("opens a frontier that kept its definitions in the older msgpack table, read-only and read-write", async () => {
  const c = frontier.createCrawl(spec(["http://old.example/a", "http://old.example/b"]));
  const def = frontier.crawl(c.id)?.spec;
  await frontier.close();
  // As such a frontier was written: the definition (and links past the depth limit) packed beside
  // the other records, and no JSON tables.
  const links = ["http://old.example/deep/1", "http://old.example/deep/2"];
  await asOlderFrontier(async (root) => {
    await msgpackTable(root, OLDER_TABLES.crawlSpecs).put(c.id, def);
    await msgpackTable(root, OLDER_TABLES.pastDepth).put([c.id, "h1"], links);
    await root.openDB({ name: "crawl-definitions" }).drop();
  });

  const reader = openFrontierReader(dir);
  expect(reader.ready).toBe(true);
  expect(reader.crawl(c.id)?.spec).toEqual(def);
  await reader.close();

  frontier = open();
  expect(frontier.crawl(c.id)?.spec).toEqual(def);
  const robots = (await frontier.lease("w1", 10)).leases;
  expect(robots.map((g) => g.url)).toEqual(["http://old.example/robots.txt"]);
  await frontier.report("w1", robots.map(ok));
  now += 600;
  expect((await frontier.lease("w1", 10)).leases.map((g) => g.url)).toEqual(["http://old.example/a"]);
  await frontier.close();
  // Moved, not copied: the old tables are empty and the values read from the JSON ones.
  const store = openFrontierStore(dir);
  try {
    expect(store.crawlSpecs.get(c.id)).toEqual(def);
    expect(msgpackTable(store.root, OLDER_TABLES.crawlSpecs).getKeysCount()).toBe(0);
    expect(store.pastDepth.get([c.id, "h1"])).toEqual(links);
    expect(msgpackTable(store.root, OLDER_TABLES.pastDepth).getKeysCount()).toBe(0);
  } finally {
    await store.close();
  }
  frontier = open();
});

it("obeys a robots.txt kept inline in its record, as older frontiers stored it", async () => {
  const c = frontier.createCrawl(spec(["http://inline.example/private/x", "http://inline.example/open"]));
  const [robots] = (await frontier.lease("w1", 10)).leases;
  await frontier.report("w1", [
    fetchedReport(robots as LeaseGrant, now, {
      statusCode: 200,
      robotsBody: "User-agent: *\nDisallow: /private/\n",
    }),
  ]);
  const rec = frontier.robots("http://inline.example");
  expect(rec?.text).toContain("Disallow: /private/");
  await frontier.close();
  await asOlderFrontier(async (root) => {
    await msgpackTable(root, "robots").put("http://inline.example", rec);
    await root.openDB({ name: "robots-texts" }).drop();
  });

  frontier = open();
  expect(frontier.robots("http://inline.example")?.text).toBe(rec?.text);
  now += 600;
  expect((await frontier.lease("w1", 10)).leases.map((g) => g.url)).toEqual(["http://inline.example/open"]);
  expect(frontier.url(c.id, "http://inline.example/private/x")?.reason).toBe("robots_disallowed");
});

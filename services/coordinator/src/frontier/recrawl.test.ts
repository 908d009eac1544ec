import { ConfigError, type CrawlSpecInput, proto } from "@heed/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reportFromProto } from "../grpc/report-wire.js";
import { leaseToProto } from "../leases/responder.js";
import type { Frontier } from "./frontier.js";
import { nextRecrawlId } from "./recrawl.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

const DAY_MS = 24 * 3600_000;
let dir: string;
let now: number;
let frontier: Frontier;
const open = () => openTestFrontier(dir, () => now);

beforeEach(() => {
  dir = testFrontierDir("recrawl");
  now = 1_000_000;
  frontier = open();
});
afterEach(() => closeTestFrontier(frontier, dir));

function spec(seeds: string[], extra: Partial<CrawlSpecInput> = {}): CrawlSpecInput {
  return {
    seeds,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 500, delayFactor: 0 },
    ...extra,
  };
}

async function one(): Promise<proto.Lease> {
  // Past any delay: the politeness of these leases is tested elsewhere.
  now += 60_000;
  const leases = (await frontier.lease("w1", 1)).leases.map((g) => leaseToProto(g));
  expect(leases).toHaveLength(1);
  return leases[0] as proto.Lease;
}

async function report(lease: proto.Lease, fields: Partial<proto.FetchResult> = {}): Promise<void> {
  const r = proto.FetchResult.fromPartial({
    leaseId: lease.id,
    statusCode: 200,
    startedAtMs: now,
    finishedAtMs: now,
    ...fields,
  });
  const [ack] = await frontier.report("w1", [reportFromProto(r)]);
  expect(ack?.outcome).toBe("accepted");
}

function captureOf(lease: proto.Lease, n: number): proto.CaptureLocation {
  return {
    file: `heed-${lease.crawlId}-w1.warc.gz`,
    offset: n * 1000,
    length: 900,
    recordId: `<urn:uuid:00000000-0000-4000-8000-00000000000${n}>`,
    date: new Date(now).toISOString(),
    payloadDigest: "",
    revisitProfile: "",
    refersToUri: "",
    refersToDate: "",
    refersToId: "",
  };
}

/** Runs the first crawl: robots.txt, then / (ETag and Last-Modified) linking /b (Last-Modified only). */
async function firstCrawl(extra: Partial<CrawlSpecInput> = {}): Promise<void> {
  frontier.createCrawl(spec(["http://a.example/"], { id: "first", ...extra }));
  await report(await one(), { robotsBody: "User-agent: *\nAllow: /\n" });
  const root = await one();
  await report(root, {
    contentType: "text/html",
    outlinks: ["http://a.example/b"],
    etag: '"root-1"',
    lastModified: "Thu, 01 Jan 2026 00:00:00 GMT",
    capture: captureOf(root, 1),
  });
  const b = await one();
  expect(b.url).toBe("http://a.example/b");
  await report(b, { lastModified: "Fri, 02 Jan 2026 00:00:00 GMT", capture: captureOf(b, 2) });
  expect(frontier.crawl("first")?.state).toBe("finished");
}

describe("recrawls", () => {
  it("ask for the earlier crawl's pages with their validators, after fetching robots.txt again", async () => {
    await firstCrawl();
    const first = frontier.url("first", "http://a.example/");
    const again = frontier.createCrawl(spec([], { id: "again", recrawl: { of: "first" } }));
    expect(again.counts.queued).toBe(2);
    // robots.txt was fetched moments ago for the first crawl, and is fetched again all the same.
    const robots = await one();
    expect(robots.kind).toBe(proto.LeaseKind.LEASE_KIND_ROBOTS);
    await report(robots, { robotsBody: "User-agent: *\nAllow: /\n" });

    const root = await one();
    expect(root.url).toBe("http://a.example/");
    expect(root.earlier).toEqual({
      etag: '"root-1"',
      lastModified: "Thu, 01 Jan 2026 00:00:00 GMT",
      targetUri: "http://a.example/",
      warcDate: first?.result?.capture?.date,
      recordId: "<urn:uuid:00000000-0000-4000-8000-000000000001>",
    });
    await report(root, { statusCode: 304, capture: captureOf(root, 3) });
    const rootAgain = frontier.url("again", "http://a.example/");
    expect(rootAgain?.state).toBe("done");
    expect(rootAgain?.depth).toBe(0);
    expect(rootAgain?.result?.notModified).toEqual({
      targetUri: "http://a.example/",
      warcDate: first?.result?.capture?.date,
      recordId: "<urn:uuid:00000000-0000-4000-8000-000000000001>",
    });

    const b = await one();
    expect(b.url).toBe("http://a.example/b");
    expect(b.earlier?.etag).toBe("");
    expect(b.earlier?.lastModified).toBe("Fri, 02 Jan 2026 00:00:00 GMT");
    // Changed: a full answer, with new validators and links followed as in any crawl.
    await report(b, {
      etag: '"b-2"',
      contentType: "text/html",
      outlinks: ["http://a.example/new"],
      capture: captureOf(b, 4),
    });
    expect(frontier.url("again", "http://a.example/b")?.result?.notModified).toBeUndefined();
    expect(frontier.url("again", "http://a.example/b")?.depth).toBe(1);
    const fresh = await one();
    expect(fresh.url).toBe("http://a.example/new");
    expect(fresh.earlier).toBeUndefined();
    await report(fresh, {});
    const done = frontier.crawl("again");
    expect(done?.state).toBe("finished");
    expect(done?.statusCounts).toEqual({ "200": 2, "304": 1 });

    // A recrawl of the recrawl still refers to the first crawl's record for the unchanged page.
    frontier.createCrawl(spec([], { id: "third", recrawl: { of: "again" } }));
    await report(await one(), { robotsBody: "User-agent: *\nAllow: /\n" });
    const root3 = await one();
    expect(root3.earlier?.recordId).toBe("<urn:uuid:00000000-0000-4000-8000-000000000001>");
    expect(root3.earlier?.etag).toBe('"root-1"');
    await report(root3, { statusCode: 304 });
    const b3 = await one();
    expect(b3.earlier?.recordId).toBe("<urn:uuid:00000000-0000-4000-8000-000000000004>");
    expect(b3.earlier?.etag).toBe('"b-2"');
    await report(b3, { statusCode: 304 });
    await report(await one(), {});
    expect(frontier.crawl("third")?.state).toBe("finished");
  });

  it("refuse an unknown, unfinished or more private earlier crawl, with the field named", async () => {
    const key = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        if (err instanceof ConfigError) return `${err.key}: ${err.message}`;
        throw err;
      }
      return "no error";
    };
    expect(key(() => frontier.createCrawl(spec([], { recrawl: { of: "nope" } })))).toMatch(
      /^recrawl\.of: .*no crawl nope/,
    );
    frontier.createCrawl(spec(["http://a.example/"], { id: "busy" }));
    expect(key(() => frontier.createCrawl(spec([], { recrawl: { of: "busy" } })))).toMatch(/busy is running/);
    frontier.changeCrawlState("busy", "cancel");
    frontier.createCrawl(spec(["http://127.0.0.9/"], { id: "local", allowPrivateAddresses: true }));
    frontier.changeCrawlState("local", "cancel");
    expect(key(() => frontier.createCrawl(spec([], { recrawl: { of: "local" } })))).toMatch(
      /allowPrivateAddresses/,
    );
    expect(key(() => frontier.createCrawl(spec([])))).toMatch(/^seeds: .*at least one seed/);
  });

  it("start every N days after the crawl finished, once, across restarts", async () => {
    await firstCrawl({ recrawl: { everyDays: 7 } });
    const finishedAt = frontier.crawl("first")?.finishedAtMs as number;
    now = finishedAt + 7 * DAY_MS - 1;
    expect(frontier.startDueRecrawls()).toEqual([]);
    await frontier.close();
    frontier = open();
    now = finishedAt + 7 * DAY_MS;
    const started = frontier.startDueRecrawls();
    expect(started.map((c) => c.id)).toEqual(["first-r1"]);
    expect(started[0]?.spec.recrawl).toEqual({ of: "first", everyDays: 7 });
    expect(started[0]?.counts.queued).toBe(2);
    expect(frontier.startDueRecrawls()).toEqual([]);
    await frontier.close();
    frontier = open();
    now += 30 * DAY_MS;
    // Still running: the next one waits for it to finish.
    expect(frontier.startDueRecrawls()).toEqual([]);
    expect(frontier.crawls().map((c) => c.id)).toEqual(["first", "first-r1"]);
  });

  it("name scheduled recrawls after the crawl they repeat", () => {
    expect(nextRecrawlId("news")).toBe("news-r1");
    expect(nextRecrawlId("news-r1")).toBe("news-r2");
    expect(nextRecrawlId("news-r9")).toBe("news-r10");
    const long = `a${"b".repeat(62)}`;
    expect(nextRecrawlId(long)).toHaveLength(63);
    expect(nextRecrawlId(long).endsWith("-r1")).toBe(true);
  });
});

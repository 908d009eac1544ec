import { type CrawlSpecInput, proto } from "@heed/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reportFromProto } from "../grpc/report-wire.js";
import { leaseToProto } from "../leases/responder.js";
import type { Frontier } from "./frontier.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

// The payload-digest index: what a worker is told when it asks whether a payload it fetched is held.
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

let dir: string;
let now: number;
let frontier: Frontier;

beforeEach(() => {
  dir = testFrontierDir("digests");
  now = 1_000_000;
  frontier = openTestFrontier(dir, () => now);
});
afterEach(() => closeTestFrontier(frontier, dir));

function spec(id: string, seeds: string[], extra: Partial<CrawlSpecInput> = {}): CrawlSpecInput {
  return {
    id,
    seeds,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 10 },
    ...extra,
  };
}

async function take(worker = "w1"): Promise<proto.Lease[]> {
  return (await frontier.lease(worker, 100)).leases.map((g) => leaseToProto(g));
}

/** Answers every robots.txt lease with allow-all, then returns the page leases that follow. */
async function pageLeases(worker = "w1"): Promise<proto.Lease[]> {
  const robots = await take(worker);
  expect(robots.every((l) => l.kind === proto.LeaseKind.LEASE_KIND_ROBOTS)).toBe(true);
  expect(robots.every((l) => !l.dedupPayloads)).toBe(true);
  await frontier.report(
    worker,
    robots.map((l) => reportFromProto(result(l, { robotsBody: "User-agent: *\nAllow: /\n" }))),
  );
  now += 100;
  const pages = await take(worker);
  expect(pages.length).toBeGreaterThan(0);
  return pages;
}

function result(lease: proto.Lease, fields: Partial<proto.FetchResult> = {}): proto.FetchResult {
  return proto.FetchResult.fromPartial({
    leaseId: lease.id,
    statusCode: 200,
    startedAtMs: now,
    finishedAtMs: now,
    ...fields,
  });
}

/** A response record's location, as a worker reports it once durable. */
function stored(lease: proto.Lease, digest: string, file = "f.warc.gz", offset = 100): proto.FetchResult {
  return result(lease, {
    capture: proto.CaptureLocation.fromPartial({
      file,
      offset,
      length: 900,
      recordId: `<urn:uuid:${lease.id}>`,
      date: "2026-12-03T10:00:00.000Z",
      payloadDigest: digest,
    }),
  });
}

function byUrl(leases: proto.Lease[], url: string): proto.Lease {
  const l = leases.find((x) => x.url === url);
  if (l === undefined) throw new Error(`no lease for ${url}`);
  return l;
}

describe("payload-digest index", () => {
  it("names the first durable capture of a payload to later fetches of the same crawl, on any host", async () => {
    frontier.createCrawl(spec("c1", ["http://a.example/x", "http://b.example/y"]));
    const pages = await pageLeases();
    const a = byUrl(pages, "http://a.example/x");
    const b = byUrl(pages, "http://b.example/y");
    expect(a.dedupPayloads).toBe(true);
    // Fetched but not yet reported durable: nothing to refer to, so b must store its copy.
    expect(await frontier.lookupDigest("w1", b.id, D1)).toBeUndefined();
    await frontier.report("w1", [reportFromProto(stored(a, D1))]);
    expect(await frontier.lookupDigest("w1", b.id, D1)).toEqual({
      crawlId: "c1",
      url: "http://a.example/x",
      date: "2026-12-03T10:00:00.000Z",
      recordId: `<urn:uuid:${a.id}>`,
      capture: { file: "f.warc.gz", offset: 100, length: 900 },
    });
    expect(await frontier.lookupDigest("w1", b.id, D2)).toBeUndefined();
  });

  it("keeps the first report of a payload when two fetches stored it at once", async () => {
    frontier.createCrawl(spec("c1", ["http://a.example/x", "http://b.example/y", "http://c.example/z"]));
    const pages = await pageLeases();
    const a = byUrl(pages, "http://a.example/x");
    const b = byUrl(pages, "http://b.example/y");
    const c = byUrl(pages, "http://c.example/z");
    // Both missed the index and stored the payload; b reports first and wins it.
    await frontier.report("w1", [reportFromProto(stored(b, D1, "b.warc.gz"))]);
    await frontier.report("w1", [reportFromProto(stored(a, D1, "a.warc.gz"))]);
    expect((await frontier.lookupDigest("w1", c.id, D1))?.url).toBe("http://b.example/y");
    expect((await frontier.lookupDigest("w1", c.id, D1))?.capture.file).toBe("b.warc.gz");
    // Each URL keeps its own record all the same.
    expect(frontier.url("c1", "http://a.example/x")?.result?.capture?.file).toBe("a.warc.gz");
  });

  it("keeps a revisit's capture and what it refers to on the URL, and never indexes a revisit", async () => {
    frontier.createCrawl(spec("c1", ["http://a.example/x", "http://b.example/y"]));
    const pages = await pageLeases();
    const a = byUrl(pages, "http://a.example/x");
    const b = byUrl(pages, "http://b.example/y");
    const revisit = result(a, {
      capture: proto.CaptureLocation.fromPartial({
        file: "r.warc.gz",
        offset: 5,
        length: 400,
        recordId: "<urn:uuid:r>",
        date: "2026-12-03T11:00:00.000Z",
        payloadDigest: D2,
        revisitProfile: "identical-payload-digest",
        refersToUri: "http://elsewhere.example/",
        refersToDate: "2026-12-03T09:00:00.000Z",
      }),
    });
    await frontier.report("w1", [reportFromProto(revisit)]);
    expect(frontier.url("c1", "http://a.example/x")?.result?.capture).toEqual({
      file: "r.warc.gz",
      offset: 5,
      length: 400,
      recordId: "<urn:uuid:r>",
      date: "2026-12-03T11:00:00.000Z",
      payloadDigest: D2,
      revisit: {
        profile: "identical-payload-digest",
        refersToUri: "http://elsewhere.example/",
        refersToDate: "2026-12-03T09:00:00.000Z",
      },
    });
    expect(await frontier.lookupDigest("w1", b.id, D2)).toBeUndefined();
  });

  it("makes a second fetch of a payload being written wait for its capture instead of storing it again", async () => {
    frontier.createCrawl(spec("c1", ["http://a.example/x", "http://b.example/y", "http://c.example/z"]));
    const pages = await pageLeases();
    const a = byUrl(pages, "http://a.example/x");
    const b = byUrl(pages, "http://b.example/y");
    const c = byUrl(pages, "http://c.example/z");
    // a asks first: nothing held, so a claims the payload and stores it.
    expect(await frontier.lookupDigest("w1", a.id, D1)).toBeUndefined();
    // b asks while a is writing: it waits, and refers to a's capture once a reports it.
    const waiting = frontier.lookupDigest("w1", b.id, D1, 5000);
    await new Promise((r) => setTimeout(r, 100));
    await frontier.report("w1", [reportFromProto(stored(a, D1))]);
    expect((await waiting)?.url).toBe("http://a.example/x");
    // A claimant that reports no capture of it releases the waiter at once, to store its own.
    expect(await frontier.lookupDigest("w1", b.id, D2)).toBeUndefined();
    const started = Date.now();
    const second = frontier.lookupDigest("w1", c.id, D2, 5000);
    await frontier.report("w1", [reportFromProto(result(b))]);
    expect(await second).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("answers only the worker holding an active lease", async () => {
    frontier.createCrawl(spec("c1", ["http://a.example/x", "http://b.example/y"]));
    const pages = await pageLeases();
    const a = byUrl(pages, "http://a.example/x");
    const b = byUrl(pages, "http://b.example/y");
    await frontier.report("w1", [reportFromProto(stored(a, D1))]);
    expect(await frontier.lookupDigest("w2", b.id, D1)).toBeUndefined();
    expect(await frontier.lookupDigest("w1", "no-such-lease", D1)).toBeUndefined();
    // a's own lease is reported: it may ask no more.
    expect(await frontier.lookupDigest("w1", a.id, D1)).toBeUndefined();
    expect(await frontier.lookupDigest("w1", b.id, D1)).toBeDefined();
  });

  it("counts an earlier crawl's captures when the definition names it, and its own only if within is on", async () => {
    frontier.createCrawl(spec("old", ["http://a.example/x"]));
    const [a] = await pageLeases();
    await frontier.report("w1", [reportFromProto(stored(a as proto.Lease, D1, "old.warc.gz"))]);

    frontier.createCrawl(
      spec("new", ["http://b.example/y", "http://c.example/z"], {
        dedup: { withinCrawl: false, fromCrawls: ["old"] },
      }),
    );
    now += 1000;
    const pages = await pageLeases();
    const b = byUrl(pages, "http://b.example/y");
    const c = byUrl(pages, "http://c.example/z");
    expect(b.dedupPayloads).toBe(true);
    expect(await frontier.lookupDigest("w1", b.id, D1)).toMatchObject({
      crawlId: "old",
      url: "http://a.example/x",
    });
    // Its own captures are indexed (a later crawl may name this one) but not consulted.
    await frontier.report("w1", [reportFromProto(stored(b, D2, "new.warc.gz"))]);
    expect(await frontier.lookupDigest("w1", c.id, D2)).toBeUndefined();
  });

  it("refuses a definition naming a crawl the frontier does not hold", () => {
    expect(() =>
      frontier.createCrawl(spec("c2", ["http://a.example/"], { dedup: { fromCrawls: ["nope"] } })),
    ).toThrow(/dedup.fromCrawls: no crawl named nope/);
    expect(frontier.crawl("c2")).toBeUndefined();
  });

  it("tells workers not to ask when the crawl dedups against nothing", async () => {
    frontier.createCrawl(spec("c1", ["http://a.example/x"], { dedup: { withinCrawl: false } }));
    const [a] = await pageLeases();
    expect(a?.dedupPayloads).toBe(false);
    expect(frontier.crawl("c1")?.spec.dedup).toEqual({ withinCrawl: false, fromCrawls: [] });
  });
});

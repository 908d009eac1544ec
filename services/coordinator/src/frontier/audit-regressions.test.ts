import { type CrawlSpecInput, proto } from "@heed/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reportFromProto } from "../grpc/report-wire.js";
import type { Frontier } from "./frontier.js";
import type { LeaseGrant, ReportAnswer } from "./records.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

// Behaviour that other mechanisms used to mask in the wider tests: each case
// here drives the frontier alone, through its public API, with nothing else
// (delays, the expiry sweep, the worker's own filtering) standing in for it.

let dir: string;
let now: number;
let frontier: Frontier;

beforeEach(() => {
  dir = testFrontierDir("frontier-audit");
  now = 1_000_000;
  frontier = openTestFrontier(dir, () => now);
});
afterEach(() => closeTestFrontier(frontier, dir));

/** No delay of any kind: only the concurrency limit can keep a second lease back. */
function noDelays(seeds: string[], politeness: Record<string, unknown> = {}): CrawlSpecInput {
  return {
    seeds,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 0, delayFactor: 0, ...politeness } as CrawlSpecInput["politeness"],
    fetch: { timeoutMs: 2000, retryBaseMs: 1000, retryMaxMs: 4000, maxAttempts: 3 },
  };
}

/** A worker's result for the lease, as the gRPC service hands it to the frontier. */
function result(lease: LeaseGrant, fields: Partial<proto.FetchResult> = {}) {
  return reportFromProto(
    proto.FetchResult.fromPartial({
      leaseId: lease.id,
      statusCode: 200,
      startedAtMs: now,
      finishedAtMs: now,
      ...fields,
    }),
  );
}

async function report(lease: LeaseGrant, fields: Partial<proto.FetchResult> = {}): Promise<ReportAnswer> {
  const [answer] = await frontier.report("w1", [result(lease, fields)]);
  return answer as ReportAnswer;
}

async function take(capacity = 10): Promise<LeaseGrant[]> {
  return (await frontier.lease("w1", capacity)).leases;
}

/** Leases and answers the host's robots.txt (allow all), leaving its pages due now. */
async function robotsDone(): Promise<void> {
  const [robots] = await take(1);
  expect(robots?.kind).toBe("robots");
  await report(robots as LeaseGrant, { robotsBody: "User-agent: *\nAllow: /\n" });
}

describe("concurrency per host", () => {
  it("by default, holds a host's second lease back while the first is unreported, with no delay to hide behind", async () => {
    frontier.createCrawl(noDelays(["http://a.example/1", "http://a.example/2", "http://a.example/3"]));
    await robotsDone();
    const first = await take();
    expect(first).toHaveLength(1);
    expect(frontier.host("a.example")?.nextAllowedAtMs).toBeLessThanOrEqual(now);
    expect(await take()).toEqual([]);
    now += 10_000; // time alone does not free the slot
    expect(await take()).toEqual([]);
    await report(first[0] as LeaseGrant);
    expect(await take()).toHaveLength(1);
  });

  it("gives exactly as many leases at once as a crawl allows", async () => {
    frontier.createCrawl(
      noDelays(["http://a.example/1", "http://a.example/2", "http://a.example/3"], {
        maxConcurrencyPerHost: 2,
      }),
    );
    await robotsDone();
    // A round takes a host once; the next round may take it again while a slot is free.
    const leases = [...(await take()), ...(await take()), ...(await take())];
    expect(leases).toHaveLength(2);
    expect(new Set(leases.map((l) => l.url)).size).toBe(2);
  });
});

describe("late reports", () => {
  it("refuses a report that arrives after the lease's expiry time even before any expiry sweep ran", async () => {
    const crawl = frontier.createCrawl(noDelays(["http://a.example/"]));
    await robotsDone();
    const [page] = await take();
    now = (page as LeaseGrant).expiresAtMs + 1; // no frontier.expire() in between
    const ack = await report(page as LeaseGrant, { outlinks: ["http://a.example/x"] });
    expect(ack?.outcome).toBe("expired");
    const rec = frontier.url(crawl.id, "http://a.example/");
    expect(rec?.state).toBe("queued");
    expect(frontier.url(crawl.id, "http://a.example/x")).toBeUndefined();
    expect(frontier.crawl(crawl.id)?.counts.done).toBe(0);
  });

  it("still takes a report at the last moment of the lease", async () => {
    const crawl = frontier.createCrawl(noDelays(["http://a.example/"]));
    await robotsDone();
    const [page] = await take();
    now = (page as LeaseGrant).expiresAtMs;
    const ack = await report(page as LeaseGrant);
    expect(ack?.outcome).toBe("accepted");
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("done");
  });
});

describe("nofollow", () => {
  it("queues none of the outlinks of a report marked nofollow, even when the report carries them", async () => {
    const crawl = frontier.createCrawl(noDelays(["http://a.example/", "http://a.example/followed"]));
    await robotsDone();
    const [page] = await take(1);
    await report(page as LeaseGrant, {
      nofollow: true,
      outlinks: ["http://a.example/hidden-1", "http://a.example/hidden-2"],
    });
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("done");
    expect(frontier.url(crawl.id, "http://a.example/hidden-1")).toBeUndefined();
    expect(frontier.url(crawl.id, "http://a.example/hidden-2")).toBeUndefined();
    // The same report without nofollow does queue them: the check above is not vacuous.
    const [next] = await take(1);
    await report(next as LeaseGrant, { outlinks: ["http://a.example/shown"] });
    expect(frontier.url(crawl.id, "http://a.example/shown")?.state).toBe("queued");
  });
});

describe("429 Too Many Requests", () => {
  it("retries after Retry-After and pushes the host back, as for 503", async () => {
    const crawl = frontier.createCrawl(noDelays(["http://a.example/"], { minDelayMs: 500 }));
    await robotsDone();
    now += 500;
    const [page] = await take();
    await report(page as LeaseGrant, { statusCode: 429, retryAfter: "30" });
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("queued");
    expect(frontier.host("a.example")?.nextAllowedAtMs).toBe(now + 30_000);
    expect(frontier.host("a.example")?.delaySource).toBe("retry_after");
    now += 29_999;
    expect(await take()).toEqual([]);
    now += 1;
    const [again] = await take();
    expect(again?.url).toBe("http://a.example/");
    await report(again as LeaseGrant);
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("done");
  });
});

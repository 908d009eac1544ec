import { type CrawlSpecInput, proto, type RobotsReading } from "@heed/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { urlToProto } from "../admin/wire.js";
import { reportFromProto } from "../grpc/report-wire.js";
import type { Frontier } from "./frontier.js";
import { NO_OBSERVER } from "./observer.js";
import type { LeaseGrant } from "./records.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

// The frontier leases a URL only if every reading of robots.txt the crawl asks for
// allows it, keeps what each reading said as evidence, and counts disagreements.

let dir: string;
let now: number;
let frontier: Frontier;
let disagreements: string[][];

beforeEach(() => {
  dir = testFrontierDir("frontier-readings");
  now = 1_000_000;
  disagreements = [];
  frontier = openTestFrontier(dir, () => now, {
    observer: { ...NO_OBSERVER, robotsDisagreement: (by) => disagreements.push(by) },
  });
});
afterEach(() => closeTestFrontier(frontier, dir));

function spec(seeds: string[], robotsReadings?: RobotsReading[]): CrawlSpecInput {
  return {
    seeds,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 0, delayFactor: 0, ...(robotsReadings ? { robotsReadings } : {}) },
  };
}

async function take(): Promise<LeaseGrant[]> {
  return (await frontier.lease("w1", 10)).leases;
}

async function answerRobots(body: string): Promise<void> {
  const [robots] = await take();
  expect(robots?.kind).toBe("robots");
  const r = proto.FetchResult.fromPartial({
    leaseId: (robots as LeaseGrant).id,
    statusCode: 200,
    startedAtMs: now,
    finishedAtMs: now,
    robotsBody: body,
  });
  await frontier.report("w1", [reportFromProto(r)]);
}

// Google compares "%2F" as three characters; RFC 9309 as the slash it encodes.
const ROBOTS = "User-agent: *\nDisallow: /docs%2Fdraft\n";

describe("robots.txt readings in the frontier", () => {
  it("does not lease a URL one reading disallows, and keeps each reading's verdict as evidence", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/docs/draft", "http://a.example/docs/final"]));
    expect(crawl.spec.politeness.robotsReadings).toEqual(["google", "rfc9309", "robots-parser"]);
    await answerRobots(ROBOTS);
    expect((await take()).map((l) => l.url)).toEqual(["http://a.example/docs/final"]);

    const skipped = frontier.url(crawl.id, "http://a.example/docs/draft");
    expect(skipped?.state).toBe("skipped");
    expect(skipped?.reason).toBe("robots_disallowed");
    expect(skipped?.robots).toMatchObject({
      verdict: "robots_disallowed",
      line: 2,
      disagreement: true,
      readings: [
        { reading: "google", allowed: true },
        { reading: "rfc9309", allowed: false, line: 2 },
        { reading: "robots-parser", allowed: true },
      ],
    });
    expect(disagreements).toEqual([["rfc9309"]]);

    // As the admin API (and so `heedctl url show`) gives it.
    const wire = urlToProto(skipped as NonNullable<typeof skipped>);
    expect(wire.robots?.disagreement).toBe(true);
    expect(wire.robots?.readings.map((r) => [r.reading, r.allowed, r.line])).toEqual([
      ["google", true, 0],
      ["rfc9309", false, 2],
      ["robots-parser", true, 0],
    ]);
  });

  it("leases it when the crawl's definition leaves the disagreeing reading out, and says which readings it used", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/docs/draft"], ["google", "robots-parser"]));
    expect(crawl.spec.politeness.robotsReadings).toEqual(["google", "robots-parser"]);
    await answerRobots(ROBOTS);
    expect((await take()).map((l) => l.url)).toEqual(["http://a.example/docs/draft"]);
    expect(
      frontier.url(crawl.id, "http://a.example/docs/draft")?.robots?.readings?.map((r) => r.reading),
    ).toEqual(["google", "robots-parser"]);
    expect(disagreements).toEqual([]);
  });

  it("refuses a crawl that names no reading or an unknown one", () => {
    expect(() => frontier.createCrawl(spec(["http://a.example/"], []))).toThrow(/robotsReadings/);
    expect(() => frontier.createCrawl(spec(["http://a.example/"], ["bing" as RobotsReading]))).toThrow(
      /robotsReadings/,
    );
  });
});

it("keeps a large robots.txt out of the record encoder's shared buffer", async () => {
  const crawl = frontier.createCrawl(spec(["http://big.example/private/b", "http://big.example/a"]));
  // 300 KB of rules (below the 500 KiB RFC 9309 asks to parse), as large sites publish.
  const rules = Array.from({ length: 15_000 }, (_, i) => `Disallow: /archive/${i}/\n`).join("");
  await answerRobots(`User-agent: *\nDisallow: /private/\n${rules}`);
  expect(frontier.robots("http://big.example")?.text.length).toBeGreaterThan(300_000);
  expect((await take()).map((l) => l.url)).toEqual(["http://big.example/a"]);
  expect(frontier.url(crawl.id, "http://big.example/private/b")?.reason).toBe("robots_disallowed");
  // Packed through msgpackr, the text would grow its process-wide buffer, and every record after would pack slower.
  const encoder = (frontier.store.urls as unknown as { encoder: { encode(v: unknown): Uint8Array } }).encoder;
  expect(encoder.encode(0).buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
});

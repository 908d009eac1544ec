import { rmSync } from "node:fs";
import { proto } from "@heed/shared";
import { describe, expect, it } from "vitest";
import type { CrawlRecord, FetchReport } from "../frontier/records.js";
import { openTestFrontier, testFrontierDir } from "../frontier/testing/test-frontier.js";
import { reportFromProto } from "../grpc/report-wire.js";
import { type HostWaits, hostWaits, STALL_MIN_WAIT_MS, stallOf } from "./stall.js";

const R = proto.StallReason;

function crawl(over: Partial<CrawlRecord> & { queued?: number; leased?: number } = {}): CrawlRecord {
  const { queued = 5, leased = 0, ...rest } = over;
  return {
    id: "c",
    state: "running",
    createdAtMs: 0,
    counts: { queued, leased, done: 0, failed: 0, skipped: 0 },
    pagesLeased: 0,
    bytes: 0,
    statusCounts: {},
    skipCounts: {},
    hosts: 1,
    spec: { maxPages: 100, budgets: { maxBytes: 0 } } as unknown as CrawlRecord["spec"],
    ...rest,
  };
}

const facts = (hosts: HostWaits, liveWorkers = 1) => ({ liveWorkers, hosts: () => hosts });
const NOW = 1_000_000;

describe("why a crawl makes no progress", () => {
  it("names what an operator can act on first: a pause, no workers, a spent budget", () => {
    const idle: HostWaits = { active: 1, waiting: 0, robots: 0 };
    expect(stallOf(crawl({ state: "paused" }), facts(idle, 0), NOW)?.reason).toBe(R.STALL_REASON_PAUSED);
    expect(stallOf(crawl(), facts(idle, 0), NOW)?.reason).toBe(R.STALL_REASON_NO_LIVE_WORKERS);
    const spent = stallOf(crawl({ pagesLeased: 100 }), facts(idle), NOW);
    expect(spent).toMatchObject({ reason: R.STALL_REASON_BUDGET_SPENT });
    expect(spent?.detail).toBe("budget spent: max pages 100 reached; 5 queued URL(s) will be skipped");
    const bytes = crawl({ bytes: 2048, spec: { maxPages: 100, budgets: { maxBytes: 1024 } } as never });
    expect(stallOf(bytes, facts(idle), NOW)?.detail).toMatch(/^budget spent: max bytes 1024 reached/);
  });

  it("is silent while the crawl fetches, has a host ready, or has ended", () => {
    const waiting: HostWaits = { active: 0, waiting: 1, robots: 0, earliestMs: NOW + 60_000 };
    expect(stallOf(crawl({ leased: 2 }), facts(waiting), NOW)).toBeUndefined();
    expect(
      stallOf(crawl(), facts({ active: 1, waiting: 3, robots: 0, earliestMs: NOW + 60_000 }), NOW),
    ).toBeUndefined();
    expect(stallOf(crawl({ state: "finished" }), facts(waiting, 0), NOW)).toBeUndefined();
    expect(stallOf(crawl({ queued: 0 }), facts(waiting, 0), NOW)).toBeUndefined();
  });

  it("says every host waits, and until when; a wait of a polite pace is no stall", () => {
    const until = NOW + 60_000;
    const s = stallOf(crawl(), facts({ active: 0, waiting: 2, robots: 1, earliestMs: until }), NOW);
    expect(s).toMatchObject({
      reason: R.STALL_REASON_ALL_HOSTS_WAITING,
      untilMs: until,
      hostsWaiting: 2,
      hostsRobotsUnreachable: 1,
    });
    expect(s?.detail).toBe(
      `all 3 host(s) waiting until ${new Date(until).toISOString()}, 1 of them on an unreachable robots.txt`,
    );
    const soon = facts({ active: 0, waiting: 1, robots: 0, earliestMs: NOW + STALL_MIN_WAIT_MS - 1 });
    expect(stallOf(crawl(), soon, NOW)).toBeUndefined();
  });

  it("says robots.txt is unreachable when that is all the hosts wait for", () => {
    const s = stallOf(crawl(), facts({ active: 0, waiting: 0, robots: 2, earliestMs: NOW + 500 }), NOW);
    expect(s).toMatchObject({ reason: R.STALL_REASON_ROBOTS_UNREACHABLE, hostsRobotsUnreachable: 2 });
    expect(s?.detail).toBe(
      `robots.txt unreachable on 2 host(s): next try ${new Date(NOW + 500).toISOString()}`,
    );
  });
});

describe("the hosts a stalled crawl waits on", () => {
  it("are those with its own queued URLs: a host ready for another crawl does not count", async () => {
    const dir = testFrontierDir("stall");
    let now = 1_000_000;
    const frontier = openTestFrontier(dir, () => now);
    try {
      const ua = { product: "HeedBot", contact: "ops@example.org" };
      const politeness = { minDelayMs: 500 };
      // A has a URL on each host; B only on h2, queued behind A's.
      frontier.createCrawl({
        id: "a",
        seeds: ["http://h1.example/", "http://h2.example/"],
        userAgent: ua,
        politeness,
      });
      frontier.createCrawl({
        id: "b",
        seeds: ["http://h2.example/x", "http://h2.example/y"],
        userAgent: ua,
        politeness,
      });
      const ok = (leaseId: string, over: Partial<proto.FetchResult> = {}): FetchReport =>
        reportFromProto(
          proto.FetchResult.fromPartial({
            leaseId,
            statusCode: 200,
            startedAtMs: now,
            finishedAtMs: now,
            ...over,
          }),
        );
      const robots = (await frontier.lease("w1", 10)).leases;
      expect(robots.map((l) => l.url).sort()).toEqual([
        "http://h1.example/robots.txt",
        "http://h2.example/robots.txt",
      ]);
      // h1 asks for 30 s between requests; h2 for nothing beyond the crawl's half second.
      await frontier.report(
        "w1",
        robots.map((l) =>
          ok(l.id, {
            robotsBody: l.url.includes("h1") ? "User-agent: *\nCrawl-delay: 30\n" : "User-agent: *\n",
          }),
        ),
      );
      now += 600;
      const pages = (await frontier.lease("w1", 10)).leases;
      expect(pages.map((l) => l.url)).toEqual(["http://h2.example/"]);
      await frontier.report(
        "w1",
        pages.map((l) => ok(l.id)),
      );
      now += 600;
      // h2 is ready, but only for B; A waits for h1 alone.
      const a = hostWaits(frontier, "a", now);
      expect(a).toMatchObject({ active: 0, waiting: 1, robots: 0 });
      expect(a.earliestMs).toBeGreaterThan(now + 20_000);
      expect(hostWaits(frontier, "b", now)).toMatchObject({ active: 1 });
    } finally {
      await frontier.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

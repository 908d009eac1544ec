import { type CrawlSpecInput, sleep } from "@heed/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FrontierSettings } from "./context.js";
import type { Frontier } from "./frontier.js";
import { NO_OBSERVER } from "./observer.js";
import type { FetchReport } from "./records.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir, testReport } from "./testing/test-frontier.js";

// A commit costs about the same whatever it holds (the B-tree paths it touched, a disk flush):
// the frontier makes none for a lease round that could change nothing.

let dir: string;
let now: number;
let frontier: Frontier;
let commits: number;

function open(settings: Partial<FrontierSettings> = {}): void {
  frontier = openTestFrontier(dir, () => now, {
    observer: { ...NO_OBSERVER, commit: () => commits++ },
    settings,
  });
}

beforeEach(() => {
  dir = testFrontierDir("commit-batch");
  now = 1_000_000;
  commits = 0;
});
afterEach(async () => {
  await closeTestFrontier(frontier, dir);
});

function spec(seeds: string[], minDelayMs: number): CrawlSpecInput {
  return { seeds, userAgent: { product: "HeedBot", contact: "ops@example.org" }, politeness: { minDelayMs } };
}

function result(leaseId: string, statusCode: number): FetchReport {
  return testReport(leaseId, { statusCode, startedAtMs: now, finishedAtMs: now });
}

describe("commits", () => {
  it("answers lease rounds with nothing due without a commit, and commits again once a host is due", async () => {
    open();
    frontier.createCrawl(spec(["http://a.example/1", "http://a.example/2"], 60_000));
    const robots = await frontier.lease("w1", 10);
    expect(robots.leases.map((l) => l.kind)).toEqual(["robots"]);
    await frontier.report("w1", [result(robots.leases[0]?.id as string, 404)]);
    now += 60_000;
    const page = await frontier.lease("w1", 10);
    expect(page.leases).toHaveLength(1);
    await frontier.report("w1", [result(page.leases[0]?.id as string, 200)]);

    // The host waits out its delay: every round in it is empty and told when to ask again.
    const before = commits;
    for (let i = 0; i < 20; i++) {
      now += 1000;
      const idle = await frontier.lease(`w${i % 3}`, 10);
      expect(idle.leases).toEqual([]);
      expect(idle.retryAfterMs).toBeGreaterThanOrEqual(10);
      expect(idle.retryAfterMs).toBeLessThanOrEqual(250);
    }
    expect(commits).toBe(before);

    now += 60_000;
    const due = await frontier.lease("w1", 10);
    expect(due.leases.map((l) => l.url)).toEqual(["http://a.example/2"]);
    expect(commits).toBe(before + 1);
    await frontier.report("w1", [result(due.leases[0]?.id as string, 200)]);
  });
});

describe("held lease requests (long polls)", () => {
  // Real time here: a held request waits on real timers.
  const openReal = (settings: Partial<FrontierSettings> = {}) => {
    frontier = openTestFrontier(dir, () => Date.now(), {
      observer: { ...NO_OBSERVER, commit: () => commits++ },
      settings,
    });
  };
  const reportNow = (leaseId: string, statusCode: number) =>
    frontier.report("w1", [
      testReport(leaseId, { statusCode, startedAtMs: Date.now(), finishedAtMs: Date.now() }),
    ]);

  /** A crawl of one host whose robots.txt was fetched just now: its first page waits out the delay. */
  async function hostWaitingOutItsDelay(minDelayMs: number): Promise<void> {
    frontier.createCrawl(spec(["http://a.example/1"], minDelayMs));
    const robots = await frontier.lease("w1", 10);
    expect(robots.leases.map((l) => l.kind)).toEqual(["robots"]);
    await reportNow(robots.leases[0]?.id as string, 404);
  }

  it("answers a held request as soon as a host comes due, in one commit, and not before", async () => {
    openReal({ leaseLingerMs: 5 });
    await hostWaitingOutItsDelay(400);
    const before = commits;
    const t0 = Date.now();
    const round = await frontier.lease("w1", 10, "r1", 5000);
    const waited = Date.now() - t0;
    expect(round.leases.map((l) => l.url)).toEqual(["http://a.example/1"]);
    // Due 400 ms after the report: the answer waited for it, and came with it (the linger and a timer's slack).
    expect(waited).toBeGreaterThanOrEqual(300);
    expect(waited).toBeLessThan(1500);
    expect(commits).toBe(before + 1);
    await reportNow(round.leases[0]?.id as string, 200);
  });

  it("answers empty once the wait ends with nothing due, saying it waited, without a commit", async () => {
    openReal();
    await hostWaitingOutItsDelay(60_000);
    const before = commits;
    const t0 = Date.now();
    const round = await frontier.lease("w1", 10, "r1", 300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(round.leases).toEqual([]);
    expect(round.waited).toBe(true);
    expect(commits).toBe(before);
    // Without a wait the answer comes at once, with a hint instead.
    const now1 = Date.now();
    const quick = await frontier.lease("w1", 10, "r2");
    expect(Date.now() - now1).toBeLessThan(200);
    expect(quick.waited).not.toBe(true);
  });

  it("answers a stopping worker's held request at once, and another worker's not", async () => {
    openReal();
    await hostWaitingOutItsDelay(60_000);
    const t0 = Date.now();
    let otherAnswered = false;
    const other = frontier.lease("w2", 10, "r9", 700).then((r) => {
      otherAnswered = true;
      return r;
    });
    const held = frontier.lease("w1", 10, "r1", 5000);
    await sleep(50);
    frontier.releaseWorker("w1");
    const round = await held;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(round.leases).toEqual([]);
    expect(round.waited).not.toBe(true);
    expect(otherAnswered).toBe(false);
    expect((await other).waited).toBe(true);
  });

  it("answers the held request empty when the worker asks again with the same id", async () => {
    openReal();
    await hostWaitingOutItsDelay(60_000);
    const t0 = Date.now();
    const first = frontier.lease("w1", 10, "r1", 5000);
    await sleep(20);
    const again = frontier.lease("w1", 10, "r1", 300);
    expect((await first).leases).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((await again).waited).toBe(true);
  });

  it("answers held requests when the frontier closes, before the store does", async () => {
    openReal();
    await hostWaitingOutItsDelay(60_000);
    const held = frontier.lease("w1", 10, "r1", 10_000);
    await sleep(20);
    const t0 = Date.now();
    await frontier.close();
    expect((await held).leases).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(1000);
    // afterEach closes it again: reopen so that is harmless.
    openReal();
  });
});

describe("reports and the held requests' next round", () => {
  // The clock is moved by hand; the held requests' timer is real, and its round comes only once the
  // clock says a host is due.
  it("commits a report with the held round due within 25 ms, answering both then, and one whose round is further off at once", async () => {
    open();
    frontier.createCrawl(
      spec(["http://a.example/1", "http://a.example/2", "http://a.example/3", "http://b.example/1"], 1000),
    );
    const robots = await frontier.lease("w1", 10);
    expect(robots.leases.map((l) => l.kind)).toEqual(["robots", "robots"]);
    await frontier.report(
      "w1",
      robots.leases.map((l) => result(l.id, 404)),
    );
    now += 1000;
    const pages = await frontier.lease("w1", 10);
    const leaseOf = (host: string) => pages.leases.find((l) => l.hostKey === host)?.id as string;
    expect(pages.leases.map((l) => l.hostKey).sort()).toEqual(["a.example", "b.example"]);
    now += 10;
    await frontier.report("w1", [result(leaseOf("a.example"), 200)]);
    // a.example is due again 10 ms from here; b.example's page is still being fetched.
    now += 990;
    const held = frontier.lease("w1", 10, "r1", 5000);
    await sleep(30);
    const before = commits;
    let reported = false;
    const report = frontier.report("w1", [result(leaseOf("b.example"), 200)]).then((acks) => {
      reported = true;
      return acks;
    });
    // Real time passes, the clock does not: the round is still 10 ms away, and the report waits for it.
    await sleep(60);
    expect(reported).toBe(false);
    expect(commits).toBe(before);
    now += 10;
    const round = await held;
    expect(round.leases.map((l) => l.url)).toEqual(["http://a.example/2"]);
    expect((await report).map((a) => a.outcome)).toEqual(["accepted"]);
    expect(commits).toBe(before + 1);

    // Nothing is due for a second now (a.example is being fetched, b.example has no more pages): a
    // held request's next look is 100 ms away, too far for a report to wait.
    const idle = frontier.lease("w1", 10, "r2", 5000);
    await sleep(30);
    now += 20;
    const second = commits;
    const acks = await frontier.report("w1", [result(round.leases[0]?.id as string, 200)]);
    expect(acks.map((a) => a.outcome)).toEqual(["accepted"]);
    expect(commits).toBe(second + 1);
    now += 1000;
    expect((await idle).leases.map((l) => l.url)).toEqual(["http://a.example/3"]);
  });
});

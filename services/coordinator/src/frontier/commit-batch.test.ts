import type { CrawlSpecInput } from "@heed/shared";
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

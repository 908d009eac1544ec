import type { CrawlSpecInput } from "@heed/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHostAffinity } from "./affinity.js";
import type { Frontier } from "./frontier.js";
import type { FetchReport } from "./records.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir, testReport } from "./testing/test-frontier.js";

describe("host affinity", () => {
  const options = { graceMs: 50, keepMs: 10_000, aliveMs: 2_000 };

  it("leaves a host just due for the worker that fetched it last, while that worker asks", () => {
    const a = createHostAffinity(options);
    a.asked("w1", 0);
    a.leased("h", "w1", 0);
    a.asked("w1", 1_000);
    expect(a.claim("h", "w2", 1_000, 1_010)).toBe("leave");
    expect(a.claim("h", "w1", 1_000, 1_010)).toBe("take");
    // Past the grace another worker takes it, with the room its own hosts left.
    expect(a.claim("h", "w2", 1_000, 1_050)).toBe("spare");
    // A host nobody fetched, or fetched too long ago, waits for no one.
    expect(a.claim("other", "w2", 1_000, 1_010)).toBe("take");
    expect(a.claim("h", "w2", 10_000, 10_010)).toBe("take");
  });

  it("does not wait for a worker that stopped asking", () => {
    const a = createHostAffinity(options);
    a.asked("w1", 0);
    a.leased("h", "w1", 0);
    expect(a.claim("h", "w2", 1_990, 1_999)).toBe("leave");
    expect(a.claim("h", "w2", 2_000, 2_001)).toBe("take");
  });

  it("forgets hosts past the keep time, and does nothing with no grace", () => {
    const a = createHostAffinity(options);
    for (let i = 0; i < 100; i++) a.leased(`h${i}`, "w1", i * 200);
    expect(a.size).toBe(50);
    const off = createHostAffinity({ ...options, graceMs: 0 });
    off.asked("w1", 0);
    off.leased("h", "w1", 0);
    expect(off.claim("h", "w2", 0, 1)).toBe("take");
    expect(off.size).toBe(0);
  });
});

// The same through the frontier: the lease rounds of two workers, on the frontier's clock.
let dir: string;
let now: number;
let frontier: Frontier;

beforeEach(() => {
  dir = testFrontierDir("affinity");
  now = 1_000_000;
  frontier = openTestFrontier(dir, () => now, { settings: { hostAffinityGraceMs: 50 } });
});
afterEach(async () => {
  await closeTestFrontier(frontier, dir);
});

function spec(seeds: string[]): CrawlSpecInput {
  return {
    seeds,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 1000 },
  };
}

function result(leaseId: string, statusCode: number): FetchReport {
  return testReport(leaseId, { statusCode, startedAtMs: now, finishedAtMs: now });
}

async function leaseOne(workerId: string): Promise<string | undefined> {
  const round = await frontier.lease(workerId, 10);
  expect(round.leases.length).toBeLessThanOrEqual(1);
  const lease = round.leases[0];
  if (lease === undefined) return undefined;
  await frontier.report(workerId, [result(lease.id, lease.kind === "robots" ? 404 : 200)]);
  return lease.url;
}

describe("leases with host affinity", () => {
  it("gives a host's next request to the worker that fetched it last when both ask as it falls due", async () => {
    frontier.createCrawl(spec(["http://a.example/1", "http://a.example/2", "http://a.example/3"]));
    expect(await leaseOne("w1")).toBe("http://a.example/robots.txt");
    now += 1000;
    expect(await leaseOne("w1")).toBe("http://a.example/1");
    now += 1000;
    // w2 asks first: the host is left for w1, which asks 10 ms later.
    expect(await leaseOne("w2")).toBeUndefined();
    now += 10;
    expect(await leaseOne("w1")).toBe("http://a.example/2");
    // Past the grace w2 takes it: affinity never holds a host longer than that.
    now += 1000 + 50;
    expect(await leaseOne("w2")).toBe("http://a.example/3");
  });

  it("serves a worker's own late hosts first, and other workers' late hosts with the room left", async () => {
    frontier.createCrawl(
      spec(["http://a.example/1", "http://a.example/2", "http://b.example/1", "http://c.example/1"]),
    );
    const first = await frontier.lease("w1", 2);
    const second = await frontier.lease("w2", 1);
    const robotsOf = (r: typeof first) => r.leases.map((l) => new URL(l.url).hostname).sort();
    expect([...robotsOf(first), ...robotsOf(second)].sort()).toEqual(["a.example", "b.example", "c.example"]);
    await frontier.report(
      "w1",
      first.leases.map((l) => result(l.id, 404)),
    );
    // w2's host ends last, so it falls due last: taking the earliest due host first would give w2 one of w1's.
    now += 10;
    await frontier.report(
      "w2",
      second.leases.map((l) => result(l.id, 404)),
    );
    const own = robotsOf(second)[0] as string;
    // Every host is about 200 ms late (the fleet runs behind) and both workers keep asking.
    now += 1000 + 190;
    await frontier.lease("w1", 0);
    const one = await frontier.lease("w2", 1);
    expect(one.leases.map((l) => new URL(l.url).hostname)).toEqual([own]);
    const rest = await frontier.lease("w2", 10);
    expect(rest.leases.map((l) => new URL(l.url).hostname).sort()).toEqual(robotsOf(first));
    await frontier.report(
      "w2",
      [...one.leases, ...rest.leases].map((l) => result(l.id, 200)),
    );
  });

  it("does not hold a host for a worker that stopped asking", async () => {
    frontier.createCrawl(spec(["http://a.example/1", "http://a.example/2"]));
    expect(await leaseOne("w1")).toBe("http://a.example/robots.txt");
    now += 1000;
    const round = await frontier.lease("w1", 10);
    const lease = round.leases[0];
    expect(lease?.url).toBe("http://a.example/1");
    // A long fetch: w1 asks for nothing more until it reports, 2.5 s later.
    now += 2500;
    await frontier.report("w1", [result(lease?.id as string, 200)]);
    now += 1000;
    expect(await leaseOne("w2")).toBe("http://a.example/2");
  });
});

import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { type CrawlSpecInput, proto } from "@heed/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reportAnswerToProto, reportFromProto } from "../grpc/report-wire.js";
import { leaseToProto } from "../leases/responder.js";
import type { Frontier } from "./frontier.js";
import { NO_OBSERVER } from "./observer.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

// A real shortage of room: the frontier file may not grow (RLIMIT_FSIZE on this process, as on a full
// disk), so the frontier refuses the commit before LMDB writes a page (space.ts); were it tried, LMDB
// would fail it with EFBIG (Node ignores SIGXFSZ).

const Outcome = proto.ReportOutcome;
let dir: string;
let now: number;
let frontier: Frontier;
let onCommit: (ok: boolean) => void;

function setFileSizeLimit(bytes: number | "unlimited"): void {
  const r = spawnSync("prlimit", ["--pid", String(process.pid), `--fsize=${bytes}:unlimited`], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`prlimit failed: ${r.stderr || r.error?.message}`);
}

beforeEach(() => {
  dir = testFrontierDir("commit-failure");
  now = 1_000_000;
  onCommit = () => undefined;
  frontier = openTestFrontier(dir, () => now, { observer: { ...NO_OBSERVER, commit: (ok) => onCommit(ok) } });
});
afterEach(async () => {
  setFileSizeLimit("unlimited");
  await closeTestFrontier(frontier, dir);
});

function spec(seeds: string[]): CrawlSpecInput {
  return {
    seeds,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 500, robotsRetryBaseMs: 1000, robotsMaxAttempts: 2 },
    fetch: { timeoutMs: 2000, retryBaseMs: 1000, retryMaxMs: 4000, maxAttempts: 2 },
  };
}

async function lease(workerId: string): Promise<proto.Lease[]> {
  return (await frontier.lease(workerId, 10)).leases.map((g) => leaseToProto(g));
}

async function report(lease: proto.Lease, fields: Partial<proto.FetchResult>): Promise<proto.ReportAck[]> {
  const r = proto.FetchResult.fromPartial({
    leaseId: lease.id,
    statusCode: 200,
    startedAtMs: now,
    finishedAtMs: now,
    remoteAddress: "10.1.2.3",
    ...fields,
  });
  return (await frontier.report("w1", [reportFromProto(r)])).map(reportAnswerToProto);
}

describe("a commit LMDB cannot write", () => {
  it("fails exactly its own operations; the next batch commits, and nothing is lost or leased twice", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/", "http://b.example/"]));
    const robots = await lease("w1");
    expect(robots.map((l) => l.url).sort()).toEqual([
      "http://a.example/robots.txt",
      "http://b.example/robots.txt",
    ]);
    const [robotsA, robotsB] = robots as [proto.Lease, proto.Lease];
    await report(robotsB, { robotsBody: "User-agent: *\nAllow: /\n" });
    now += 1000;
    const [pageB] = await lease("w2");
    expect(pageB?.url).toBe("http://b.example/");
    const activeBefore = frontier.activeLeaseCount();

    // a.example's robots.txt report brings thousands of links: its commit needs new pages, and fails.
    setFileSizeLimit(statSync(join(dir, "frontier.lmdb")).size);
    const failures: boolean[] = [];
    onCommit = (ok) => {
      failures.push(!ok);
      // Space again, from the moment the failure is known: the next batch can commit.
      if (!ok) setFileSizeLimit("unlimited");
    };
    const links = Array.from({ length: 3000 }, (_, i) => `http://b.example/page-${i}-${"x".repeat(60)}`);
    const big = report(robotsA, { robotsBody: "User-agent: *\nAllow: /\n", statusCode: 404 });
    const bigPage = report(pageB as proto.Lease, { outlinks: links });
    const leasedWithIt = lease("w3");
    const outcomes = await Promise.allSettled([big, bigPage, leasedWithIt]);
    // This turn's three operations were one batch: all three fail, with the reason.
    for (const o of outcomes) {
      expect(o.status).toBe("rejected");
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: "HEED_FRONTIER_WRITE" });
    }
    expect(failures).toEqual([true]);
    // Nothing of the failed batch is in LMDB or in memory.
    expect(frontier.activeLeaseCount()).toBe(activeBefore);
    expect(frontier.crawl(crawl.id)?.counts).toMatchObject({ queued: 1, leased: 1 });
    expect(frontier.health()).toMatchObject({ writable: false });

    // The same reports again, and a lease request arriving just after them (the retry waits a second
    // after a failure, so it may go into the same commit).
    const again = report(robotsA, { robotsBody: "User-agent: *\nAllow: /\n", statusCode: 404 });
    const againPage = report(pageB as proto.Lease, { outlinks: links });
    await new Promise((r) => setImmediate(r));
    const meanwhile = lease("w3");
    expect((await again)[0]?.outcome).toBe(Outcome.REPORT_OUTCOME_ACCEPTED);
    expect((await againPage)[0]?.outcome).toBe(Outcome.REPORT_OUTCOME_ACCEPTED);
    // Both hosts wait their delay after those fetches: nothing is due yet, and nothing fails.
    expect(await meanwhile).toEqual([]);
    expect(failures[0]).toBe(true);
    expect(failures.slice(1)).toEqual(failures.length === 2 ? [false] : [false, false]);
    expect(frontier.health()).toMatchObject({ writable: false });
    now += 1000;
    // Each host's next page, once: a.example's root and b.example's first outlink.
    const next = (await lease("w3")).map((l) => l.url);
    expect(next.sort()).toEqual(["http://a.example/", `http://b.example/page-0-${"x".repeat(60)}`]);
    expect(frontier.crawl(crawl.id)?.counts).toMatchObject({ leased: 2, done: 1, queued: 2999 });
    expect(await lease("w1")).toEqual([]);
    now += 5000;
    expect(frontier.probe().writable).toBe(true);
  });

  it("while commits fail, tries again about once a second with what arrived meanwhile, not once per request", async () => {
    frontier.createCrawl(spec(["http://b.example/"]));
    const [robots] = await lease("w1");
    await report(robots as proto.Lease, { robotsBody: "User-agent: *\nAllow: /\n" });
    now += 1000;
    const [page] = await lease("w1");
    expect(page?.url).toBe("http://b.example/");

    setFileSizeLimit(statSync(join(dir, "frontier.lmdb")).size);
    let failed = 0;
    onCommit = (ok) => {
      if (!ok) failed++;
    };
    const links = Array.from({ length: 3000 }, (_, i) => `http://b.example/page-${i}-${"x".repeat(60)}`);
    const first = await report(page as proto.Lease, { outlinks: links }).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: "HEED_FRONTIER_WRITE" });
    expect(failed).toBe(1);
    // Ten workers' reports and lease requests over 600 ms, each in a turn of its own.
    const meanwhile: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      meanwhile.push(report(page as proto.Lease, { outlinks: links }).catch((e: unknown) => e));
      meanwhile.push(lease(`w${i}`).catch((e: unknown) => e));
      await new Promise((r) => setTimeout(r, 60));
    }
    const answers = await Promise.all(meanwhile);
    for (const a of answers) expect(a).toMatchObject({ code: "HEED_FRONTIER_WRITE" });
    // One attempt for all twenty (a second only if the first second ended while they arrived).
    expect(failed).toBeGreaterThanOrEqual(2);
    expect(failed).toBeLessThanOrEqual(3);

    setFileSizeLimit("unlimited");
    expect((await report(page as proto.Lease, { outlinks: links }))[0]?.outcome).toBe(
      Outcome.REPORT_OUTCOME_ACCEPTED,
    );
  });
});

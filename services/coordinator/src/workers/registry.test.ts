import { proto } from "@heed/shared";
import { describe, expect, it } from "vitest";
import { crawlStats, createRateSampler, type RateSampler } from "../admin/stats.js";
import type { CrawlRecord } from "../frontier/records.js";
import { createWorkerRegistry } from "./registry.js";

const beat = (over: Partial<proto.WorkerHeartbeat>): proto.WorkerHeartbeat =>
  proto.WorkerHeartbeat.fromPartial({
    workerId: "w1",
    state: proto.WorkerState.WORKER_STATE_RUNNING,
    intervalMs: 1000,
    startedAtMs: 1,
    ...over,
  });

describe("worker registry", () => {
  it("lists live workers with their fetch rate and forgets them after three missed beats", () => {
    const r = createWorkerRegistry();
    r.observe(beat({ fetched: 0 }), 0);
    r.observe(beat({ fetched: 10 }), 2000);
    r.observe(beat({ workerId: "w2" }), 2000);
    const [w1] = r.list(2500);
    expect(w1?.heartbeat.workerId).toBe("w1");
    expect(w1?.fetchesPerSecond).toBe(5);
    expect(r.list(2500).length).toBe(2);
    expect(r.has("w1", 5000)).toBe(true);
    expect(r.has("w1", 5001)).toBe(false);
  });

  it("refuses over-long or unprintable worker ids and strips control characters from what it keeps", () => {
    const r = createWorkerRegistry();
    expect(r.observe(beat({ workerId: "w".repeat(900_000) }), 0)).toMatch(/^worker_id: 1 to 128/);
    expect(r.observe(beat({ workerId: "w\x1b[2J" }), 0)).toMatch(/^worker_id/);
    expect(r.observe(beat({ workerId: "w".repeat(128) }), 0)).toBeUndefined();
    expect(
      r.observe(beat({ hostname: `\x1b[2J\x07host\u202e${"x".repeat(500)}`, version: "1\r\n2" }), 0),
    ).toBeUndefined();
    const w1 = r.list(1).find((w) => w.heartbeat.workerId === "w1");
    expect(w1?.heartbeat.hostname).toBe(`[2Jhost${"x".repeat(121)}`);
    expect(w1?.heartbeat.version).toBe("12");
    expect(r.list(1).map((w) => w.heartbeat.workerId.length)).toEqual([2, 128]);
  });

  it("forgets a worker at once when it says it stopped", () => {
    const r = createWorkerRegistry();
    r.observe(beat({}), 0);
    r.observe(beat({ state: proto.WorkerState.WORKER_STATE_STOPPED }), 10);
    expect(r.list(20)).toEqual([]);
  });
});

describe("rate sampler", () => {
  const crawl = (done: number, finishedAtMs?: number) =>
    ({
      id: "c",
      state: "running",
      createdAtMs: 0,
      counts: { done, queued: 1000, leased: 0, failed: 0, skipped: 0 },
      skipCounts: {},
      statusCounts: {},
      ...(finishedAtMs !== undefined ? { finishedAtMs } : {}),
    }) as unknown as CrawlRecord;
  const rate = (s: RateSampler, done: number, nowMs: number) =>
    crawlStats(crawl(done), s, nowMs).pagesPerSecond;

  it("gives pages per second over the last minute", () => {
    const s = createRateSampler(60_000);
    expect(s.window("c")).toEqual([]);
    s.sample([crawl(0)], 0);
    s.sample([crawl(100)], 10_000);
    expect(rate(s, 100, 10_000)).toBe(10);
    for (let t = 11_000; t <= 130_000; t += 1000) s.sample([crawl(100 + (t - 10_000) / 1000)], t);
    // Over the last minute one page a second was done, whatever happened before.
    expect(rate(s, 220, 130_000)).toBeCloseTo(1, 1);
  });
});

import { proto } from "@heed/shared";
import type { CrawlRecord } from "../frontier/records.js";
import { crawlStateToProto } from "./wire.js";

const WINDOW_MS = 60_000;

interface Sample {
  atMs: number;
  done: number;
}

/**
 * Pages-done samples per crawl, taken every second or so, for "pages/s over
 * the last minute". Counters live in LMDB; only these samples are in memory,
 * so after a restart the rate covers the time since the restart.
 */
export interface RateSampler {
  sample(crawls: CrawlRecord[], nowMs: number): void;
  /** Pages per second over the last minute, or undefined before two samples a second apart. */
  rate(crawlId: string, doneNow: number, nowMs: number): number | undefined;
}

export function createRateSampler(windowMs = WINDOW_MS): RateSampler {
  const samples = new Map<string, Sample[]>();
  return {
    sample(crawls, nowMs) {
      const live = new Set<string>();
      for (const c of crawls) {
        // Crawls that ended over a window ago have a rate of 0 and need no samples.
        if (c.finishedAtMs !== undefined && c.finishedAtMs < nowMs - windowMs) continue;
        live.add(c.id);
        const list = samples.get(c.id) ?? [];
        list.push({ atMs: nowMs, done: c.counts.done });
        // Keep one sample at or before the window's start, so the rate spans the whole minute.
        while (list.length > 2 && (list[1] as Sample).atMs <= nowMs - windowMs) list.shift();
        samples.set(c.id, list);
      }
      for (const id of samples.keys()) if (!live.has(id)) samples.delete(id);
    },
    rate(crawlId, doneNow, nowMs) {
      const first = samples.get(crawlId)?.[0];
      if (first === undefined || nowMs - first.atMs < 1000) return undefined;
      return Math.max(0, (doneNow - first.done) / ((nowMs - first.atMs) / 1000));
    },
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

export function crawlStats(c: CrawlRecord, sampler: RateSampler, nowMs: number): proto.CrawlStats {
  const end = c.finishedAtMs ?? nowMs;
  const elapsedMs = Math.max(0, end - c.createdAtMs);
  const overall = elapsedMs > 0 ? c.counts.done / (elapsedMs / 1000) : 0;
  const ended = c.finishedAtMs !== undefined;
  const recent = sampler.rate(c.id, c.counts.done, nowMs) ?? (ended && end < nowMs - WINDOW_MS ? 0 : overall);
  return {
    crawlId: c.id,
    state: crawlStateToProto(c.state),
    counts: { ...c.counts },
    skippedByReason: { ...c.skipCounts },
    statusCounts: { ...c.statusCounts },
    bytes: c.bytes,
    hosts: c.hosts,
    pagesPerSecond: round(recent),
    pagesPerSecondOverall: round(overall),
    elapsedMs,
  };
}

/**
 * The sum over crawls. Recent rates add up (the fleet's throughput now); the
 * overall rate is every page done over the longest crawl's elapsed time.
 */
export function totalStats(all: proto.CrawlStats[]): proto.CrawlStats {
  const sumMap = (maps: Record<string, number>[]) => {
    const out: Record<string, number> = {};
    for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const counts = { queued: 0, leased: 0, done: 0, failed: 0, skipped: 0 };
  for (const s of all) {
    for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += s.counts?.[k] ?? 0;
  }
  const elapsedMs = all.reduce((n, s) => Math.max(n, s.elapsedMs), 0);
  return {
    crawlId: "",
    state: proto.CrawlState.CRAWL_STATE_UNSPECIFIED,
    counts,
    skippedByReason: sumMap(all.map((s) => s.skippedByReason)),
    statusCounts: sumMap(all.map((s) => s.statusCounts)),
    bytes: all.reduce((n, s) => n + s.bytes, 0),
    hosts: all.reduce((n, s) => n + s.hosts, 0),
    pagesPerSecond: round(all.reduce((n, s) => n + s.pagesPerSecond, 0)),
    pagesPerSecondOverall: elapsedMs > 0 ? round(counts.done / (elapsedMs / 1000)) : 0,
    elapsedMs,
  };
}

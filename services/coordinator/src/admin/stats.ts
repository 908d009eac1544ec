import { proto } from "@heed/shared";
import type { CrawlRecord } from "../frontier/records.js";
import { estimateProgress, type ProgressSample } from "./progress.js";
import { crawlStateToProto } from "./wire.js";

const WINDOW_MS = 60_000;

/**
 * Progress samples per crawl, taken every second or so, for rates "over the
 * last minute" and the ETA. Counters live in LMDB; only these samples are in
 * memory, so after a restart the rates cover the time since the restart.
 */
export interface RateSampler {
  sample(crawls: CrawlRecord[], nowMs: number): void;
  /** The crawl's samples of the last minute (and one at or before its start), oldest first. */
  window(crawlId: string): readonly ProgressSample[];
}

export function progressSample(c: CrawlRecord, atMs: number): ProgressSample {
  const settled = c.counts.done + c.counts.failed + c.counts.skipped;
  return {
    atMs,
    done: c.counts.done,
    settled,
    discovered: settled + c.counts.queued + c.counts.leased,
    leased: c.pagesLeased,
  };
}

/** Leases handed out per second over the sampler's window, over every crawl. */
export function leasesPerSecond(sampler: RateSampler, crawls: CrawlRecord[], nowMs: number): number {
  let rate = 0;
  for (const c of crawls) {
    const first = sampler.window(c.id)[0];
    if (first === undefined || nowMs - first.atMs < 1000) continue;
    rate += (c.pagesLeased - (first.leased ?? c.pagesLeased)) / ((nowMs - first.atMs) / 1000);
  }
  return round(rate);
}

export function createRateSampler(windowMs = WINDOW_MS): RateSampler {
  const samples = new Map<string, ProgressSample[]>();
  return {
    sample(crawls, nowMs) {
      const live = new Set<string>();
      for (const c of crawls) {
        // Crawls that ended over a window ago have a rate of 0 and need no samples.
        if (c.finishedAtMs !== undefined && c.finishedAtMs < nowMs - windowMs) continue;
        live.add(c.id);
        const list = samples.get(c.id) ?? [];
        list.push(progressSample(c, nowMs));
        // Keep one sample at or before the window's start, so the rate spans the whole minute.
        while (list.length > 2 && (list[1] as ProgressSample).atMs <= nowMs - windowMs) list.shift();
        samples.set(c.id, list);
      }
      for (const id of samples.keys()) if (!live.has(id)) samples.delete(id);
    },
    window: (crawlId) => samples.get(crawlId) ?? [],
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

export function crawlStats(
  c: CrawlRecord,
  sampler: RateSampler,
  nowMs: number,
  stall?: proto.Stall,
): proto.CrawlStats {
  const end = c.finishedAtMs ?? nowMs;
  const elapsedMs = Math.max(0, end - c.createdAtMs);
  const overall = elapsedMs > 0 ? c.counts.done / (elapsedMs / 1000) : 0;
  const ended = c.finishedAtMs !== undefined;
  const samples = [...sampler.window(c.id), progressSample(c, nowMs)];
  const estimate = estimateProgress(samples);
  const sampled = nowMs - (samples[0] as ProgressSample).atMs >= 1000;
  const longOver = ended && end < nowMs - WINDOW_MS;
  // Before two samples a second apart there is no recent rate: the overall one stands in.
  const recent = longOver ? 0 : sampled ? estimate.pagesPerSecond : overall;
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
    ...(stall !== undefined ? { stall } : {}),
    settledPerSecond: longOver ? 0 : round(estimate.settledPerSecond),
    discoveredPerSecond: longOver ? 0 : round(estimate.discoveredPerSecond),
    etaMs: !ended && estimate.etaMs !== undefined ? estimate.etaMs : 0,
    noEtaReason: ended ? "ended" : (estimate.noEtaReason ?? ""),
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
    settledPerSecond: round(all.reduce((n, s) => n + s.settledPerSecond, 0)),
    discoveredPerSecond: round(all.reduce((n, s) => n + s.discoveredPerSecond, 0)),
    etaMs: 0,
    noEtaReason: "",
  };
}

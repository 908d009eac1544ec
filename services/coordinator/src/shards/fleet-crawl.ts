import { sleep, URL_STREAM } from "@heed/shared";
import type { JetStreamManager } from "nats";
import type { CrawlRecord } from "../frontier/records.js";
import { urlConsumerOf } from "./url-stream.js";

/** One crawl as the whole fleet has it: each shard's counters summed. */
export function mergeCrawlRecords(records: CrawlRecord[]): CrawlRecord | undefined {
  const first = records[0];
  if (first === undefined) return undefined;
  const sum = (pick: (r: CrawlRecord) => Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const r of records) for (const [k, n] of Object.entries(pick(r))) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  const states = new Set(records.map((r) => r.state));
  const state = states.has("running")
    ? "running"
    : states.has("paused")
      ? "paused"
      : states.has("cancelled")
        ? "cancelled"
        : "finished";
  const finished = records.map((r) => r.finishedAtMs);
  return {
    ...first,
    state,
    createdAtMs: Math.min(...records.map((r) => r.createdAtMs)),
    ...(state !== "running" && state !== "paused" && finished.every((f) => f !== undefined)
      ? { finishedAtMs: Math.max(...(finished as number[])) }
      : { finishedAtMs: undefined }),
    counts: sum((r) => r.counts) as CrawlRecord["counts"],
    pagesLeased: records.reduce((n, r) => n + r.pagesLeased, 0),
    bytes: records.reduce((n, r) => n + r.bytes, 0),
    statusCounts: sum((r) => r.statusCounts),
    skipCounts: sum((r) => r.skipCounts),
    hosts: records.reduce((n, r) => n + r.hosts, 0),
  };
}

/** What the fleet wait reads of one shard: in this process (Frontier) or beside it (FrontierReader). */
export interface FleetShard {
  shardId: string;
  crawl(id: string): CrawlRecord | undefined;
  /** URLs waiting to be published to other shards. */
  outboxSize(): number;
}

/**
 * Waits until a crawl is no longer running anywhere in the fleet: no shard
 * runs it, no outbox holds a URL, no shard's consumer has one pending or
 * unacknowledged, and two looks in a row saw the same stream and counters
 * (a URL on its way between shards changes one of them). For `heed crawl`,
 * which runs every shard in its own process.
 */
export async function waitForFleetCrawl(
  shards: FleetShard[],
  jsm: JetStreamManager,
  crawlId: string,
  options: { signal?: AbortSignal; pollMs?: number; onTick?: (c: CrawlRecord) => void } = {},
): Promise<CrawlRecord> {
  let lastQuiet: string | undefined;
  for (;;) {
    const merged = mergeCrawlRecords(shards.flatMap((s) => s.crawl(crawlId) ?? []));
    if (merged === undefined) throw new Error(`no crawl ${crawlId}`);
    options.onTick?.(merged);
    if (options.signal?.aborted) return merged;
    const quiet = await quietMark(shards, jsm, merged);
    if (quiet !== undefined && quiet === lastQuiet) return merged;
    lastQuiet = quiet;
    await sleep(options.pollMs ?? 100, options.signal);
  }
}

/** A fingerprint of an idle fleet (undefined while anything moves). */
async function quietMark(
  shards: FleetShard[],
  jsm: JetStreamManager,
  merged: CrawlRecord,
): Promise<string | undefined> {
  if (merged.state === "running") return undefined;
  if (shards.some((s) => s.outboxSize() > 0)) return undefined;
  for (const s of shards) {
    const info = await jsm.consumers.info(URL_STREAM, urlConsumerOf(s.shardId));
    if (info.num_pending > 0 || info.num_ack_pending > 0) return undefined;
  }
  const stream = await jsm.streams.info(URL_STREAM);
  const c = merged.counts;
  return `${stream.state.last_seq}:${c.done}:${c.failed}:${c.skipped}:${c.queued}:${c.leased}`;
}

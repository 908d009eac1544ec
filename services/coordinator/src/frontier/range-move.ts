import { StateError } from "@heed/shared";
import { type FrontierContext, inTxn } from "./context.js";
import type {
  CrawlHostState,
  CrawlRecord,
  HostPolicy,
  HostState,
  QueueKey,
  RobotsRecord,
  TdmRecord,
  UrlRecord,
} from "./records.js";
import { keyClassOf } from "./slots.js";
import type { Txn } from "./txn.js";

/**
 * One record of a partition range's frontier state, as a shard hands it to
 * another (shards/range-export.ts reads them, the URL-free JSON form travels
 * on the moves stream). Everything the new owner needs to behave as the old
 * one would have: URLs with their records (queued, fetched, failed, skipped),
 * politeness key state, robots and TDM answers, per-crawl host counters.
 */
export type RangeItem =
  | { t: "host"; state: HostState }
  | { t: "url"; hash: string; rec: UrlRecord; pastDepth?: string[] }
  | { t: "crawlHost"; crawlId: string; hostKey: string; state: CrawlHostState }
  | { t: "robots"; rec: RobotsRecord }
  | { t: "tdm"; rec: TdmRecord }
  | { t: "seedHost"; crawlId: string; hostname: string }
  | { t: "policy"; policy: HostPolicy };

export interface RangeImport {
  /** No moved key gets a request before this (now + the longest lease lifetime, when the move started here). */
  notBeforeMs: number;
  /** Kept in the same commit, so a restarted import resumes after the last batch it committed. */
  progress?: { key: string; value: number };
}

/**
 * Loads one batch of another shard's records in one commit. Idempotent: the
 * moved record replaces whatever this shard has under its key (a URL queued
 * here while the range moved, or the same record from an earlier attempt),
 * and counters are moved with it, so importing a batch twice changes nothing.
 */
export function importRange(ctx: FrontierContext, items: RangeItem[], options: RangeImport): void {
  const missing = items.find((i) => "crawlId" in i && ctx.store.crawlSpecs.get(i.crawlId) === undefined);
  if (missing !== undefined && "crawlId" in missing)
    throw new StateError(`crawl ${missing.crawlId} is not known to this shard yet`);
  inTxn(ctx, (txn) => {
    for (const item of items) {
      switch (item.t) {
        case "host":
          importKey(txn, item.state, options.notBeforeMs);
          break;
        case "url":
          importUrl(ctx, txn, item.hash, item.rec, item.pastDepth);
          break;
        case "crawlHost": {
          const crawl = txn.crawl(item.crawlId) as CrawlRecord;
          if (txn.crawlHost(item.crawlId, item.hostKey) === undefined) crawl.hosts++;
          txn.putCrawlHost(item.crawlId, item.hostKey, item.state);
          break;
        }
        case "robots": {
          const { pendingLeaseId: _lease, ...rec } = item.rec;
          txn.setRobots(rec);
          break;
        }
        case "tdm":
          txn.putTdm(item.rec);
          break;
        case "seedHost":
          txn.moved.addSeedHost(item.crawlId, item.hostname);
          break;
        case "policy":
          if (!txn.store.hostPolicies.doesExist(item.policy.pattern)) txn.setHostPolicy(item.policy);
          break;
      }
    }
    if (options.progress !== undefined) txn.moved.setMeta(options.progress.key, options.progress.value);
  });
}

/**
 * A moved key starts no earlier than it would have at its old owner, nor
 * before a fetch under the old owner's last lease could still be running.
 * An address key may be shared with hosts this shard had already: it is
 * merged, never loosened.
 */
function importKey(txn: Txn, moved: HostState, notBeforeMs: number): void {
  const known = txn.store.hosts.get(moved.hostKey);
  const st = txn.host(moved.hostKey);
  const nextAllowedAtMs = Math.max(moved.nextAllowedAtMs, notBeforeMs, known?.nextAllowedAtMs ?? 0);
  if (keyClassOf(moved.hostKey) === "ip" && known !== undefined) {
    st.nextAllowedAtMs = nextAllowedAtMs;
    st.minDelayMs = Math.max(st.minDelayMs, moved.minDelayMs);
    st.maxConcurrency = Math.min(st.maxConcurrency, moved.maxConcurrency);
    return;
  }
  Object.assign(st, moved, {
    nextAllowedAtMs,
    // The old owner's leases on the key have all ended (the move fenced them); this shard's own count stands.
    inFlight: st.inFlight,
    minDelayMs: Math.max(moved.minDelayMs, known?.minDelayMs ?? 0),
    maxConcurrency: Math.min(moved.maxConcurrency, known?.maxConcurrency ?? Number.MAX_SAFE_INTEGER),
  });
}

function importUrl(
  ctx: FrontierContext,
  txn: Txn,
  hash: string,
  moved: UrlRecord,
  pastDepth?: string[],
): void {
  if (moved.state === "leased") throw new StateError(`${moved.url} is still leased at its old shard`);
  const crawl = txn.crawl(moved.crawlId) as CrawlRecord;
  const known = txn.store.urls.get([moved.crawlId, hash]);
  const rec: UrlRecord = { ...moved };
  delete rec.queueKey;
  delete rec.leaseId;
  let seq: number | undefined;
  if (known !== undefined) {
    if (known.queueKey !== undefined) txn.dropQueueEntry(known.queueKey);
    countUrl(crawl, known, -1);
    rec.depth = Math.min(rec.depth, known.depth);
  } else {
    seq = ctx.seq.next();
    txn.moved.putDiscovery(crawl.id, seq, hash);
  }
  if (rec.state === "queued" && crawl.state === "cancelled") {
    rec.state = "skipped";
    rec.reason = "crawl_cancelled";
  }
  if (rec.state === "queued") {
    const queueKey: QueueKey = [rec.hostKey, rec.depth, seq ?? ctx.seq.next()];
    rec.queueKey = queueKey;
    // A paused crawl's URLs wait outside the host queues, keeping their place for the resume.
    if (crawl.state !== "paused") txn.restoreQueued(hash, rec);
    if (crawl.state === "finished") {
      crawl.state = "running";
      delete crawl.finishedAtMs;
    }
    txn.host(rec.hostKey);
  }
  countUrl(crawl, rec, 1);
  txn.putUrl(hash, rec);
  if (pastDepth !== undefined) txn.keepPastDepth(crawl, hash, pastDepth);
}

/**
 * What a URL adds to its crawl's counters: its state, and what its last
 * fetch counted (bytes, status, skip reason, a page leased). Moved with the
 * URL, so the fleet's sums stay what they were.
 */
export function countUrl(crawl: CrawlRecord, rec: UrlRecord, sign: 1 | -1): void {
  crawl.counts[rec.state] += sign;
  if (rec.kind === undefined && rec.attempts > 0) crawl.pagesLeased = Math.max(0, crawl.pagesLeased + sign);
  if (rec.result !== undefined) {
    crawl.bytes = Math.max(0, crawl.bytes + sign * rec.result.bytes);
    const cls = String(rec.result.status);
    crawl.statusCounts[cls] = Math.max(0, (crawl.statusCounts[cls] ?? 0) + sign);
  }
  if (rec.state === "skipped" && rec.reason !== undefined)
    crawl.skipCounts[rec.reason] = Math.max(0, (crawl.skipCounts[rec.reason] ?? 0) + sign);
}

/** One batch of a moved range's records to delete at the shard they left. */
export type RangeDrop =
  | { t: "url"; crawlId: string; hash: string }
  | { t: "discovery"; crawlId: string; seq: number }
  | { t: "host"; key: string }
  | { t: "crawlHost"; crawlId: string; hostKey: string }
  | { t: "robots"; origin: string }
  | { t: "tdm"; origin: string };

/** Deletes a batch of moved records in one commit, their counters with them; `done` also clears the move's marker. */
export function dropRange(ctx: FrontierContext, drops: RangeDrop[], done?: string): void {
  inTxn(ctx, (txn) => {
    for (const d of drops) {
      switch (d.t) {
        case "url": {
          const rec = txn.store.urls.get([d.crawlId, d.hash]);
          const crawl = txn.crawl(d.crawlId);
          if (rec === undefined || crawl === undefined) break;
          if (rec.state === "leased") throw new StateError(`${rec.url} is leased: not deleting a moved URL`);
          if (rec.queueKey !== undefined) txn.dropQueueEntry(rec.queueKey);
          countUrl(crawl, rec, -1);
          txn.moved.dropUrl(d.crawlId, d.hash);
          txn.moved.dropPastDepth(d.crawlId, d.hash);
          break;
        }
        case "discovery":
          txn.moved.dropDiscovery(d.crawlId, d.seq);
          break;
        case "host": {
          const st = txn.store.hosts.get(d.key);
          if (st !== undefined && st.inFlight > 0)
            throw new StateError(`${d.key} has requests in flight: not deleting a moved host`);
          txn.moved.dropHost(d.key);
          break;
        }
        case "crawlHost": {
          const crawl = txn.crawl(d.crawlId);
          if (crawl !== undefined && txn.crawlHost(d.crawlId, d.hostKey) !== undefined)
            crawl.hosts = Math.max(0, crawl.hosts - 1);
          txn.moved.dropCrawlHost(d.crawlId, d.hostKey);
          break;
        }
        case "robots":
          txn.moved.dropRobots(d.origin);
          break;
        case "tdm":
          txn.moved.dropTdm(d.origin);
          break;
      }
    }
    if (done !== undefined) txn.moved.setMeta(done, undefined);
  });
}

/** Notes (or clears) a fact about a move in the frontier's own store, in a commit of its own. */
export function setMoveMeta(ctx: FrontierContext, key: string, value: number | undefined): void {
  inTxn(ctx, (txn) => txn.moved.setMeta(key, value));
}

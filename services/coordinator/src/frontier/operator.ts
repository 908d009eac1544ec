import { canonicalizeUrl, InvalidInputError, NotFoundError, StateError } from "@heed/shared";
import { type FrontierContext, inTxn } from "./context.js";
import { normalizePattern } from "./policies.js";
import type { CrawlRecord, HostPolicy, UrlRecord } from "./records.js";
import { settleQueued } from "./settle.js";

/** Operators' changes to the frontier: crawl state, seeds and host policies, each in one commit. */

export type CrawlAction = "pause" | "resume" | "cancel";

export function changeCrawlState(ctx: FrontierContext, crawlId: string, action: CrawlAction): CrawlRecord {
  return inTxn(ctx, (txn) => {
    const crawl = txn.crawl(crawlId);
    if (crawl === undefined) throw new NotFoundError(`no crawl ${crawlId}`);
    const from = crawl.state;
    if (from === "cancelled" || (from === "finished" && action !== "cancel")) {
      throw new StateError(`crawl ${crawlId} is ${from}; it cannot ${action}`);
    }
    if (action === "pause") {
      if (from !== "running") throw new StateError(`crawl ${crawlId} is ${from}, not running`);
      crawl.state = "paused";
      // Its queued URLs leave the host queues now, so hosts shared with other crawls are free at once;
      // leases out finish.
      forEachQueued(ctx, crawl, (_hash, rec) => {
        txn.withholdQueued(rec);
        txn.host(rec.hostKey);
      });
    } else if (action === "resume") {
      if (from !== "paused") throw new StateError(`crawl ${crawlId} is ${from}, not paused`);
      crawl.state = "running";
      forEachQueued(ctx, crawl, (hash, rec) => txn.restoreQueued(hash, rec));
      // Wake its hosts now rather than at their next periodic look.
      for (const key of hostsOf(ctx, crawlId)) txn.host(key);
    } else {
      // Queued URLs are settled now (crawl_cancelled), so hosts shared with other crawls are free at
      // once; leases out finish.
      crawl.state = "cancelled";
      crawl.finishedAtMs = txn.now;
      settleQueued(ctx, txn, crawl, "crawl_cancelled");
      for (const key of hostsOf(ctx, crawlId)) txn.host(key);
    }
    return crawl;
  });
}

function forEachQueued(
  ctx: FrontierContext,
  crawl: CrawlRecord,
  fn: (hash: string, rec: UrlRecord) => void,
): void {
  if (crawl.counts.queued === 0) return;
  for (const { key, value } of ctx.store.urls.getRange({ start: [crawl.id], end: [crawl.id, "\uffff"] }))
    if (value.state === "queued") fn(key[1], value);
}

function hostsOf(ctx: FrontierContext, crawlId: string): string[] {
  return [...ctx.store.crawlHosts.getKeys({ start: [crawlId], end: [`${crawlId}\u0000`] })].map((k) => k[1]);
}

/**
 * Seeds per commit. In a large frontier each new URL dirties pages of its own (its record, its host
 * queue), and LMDB's cost per page grows with the pages a commit has dirtied already, so a long list
 * goes in slices: the cost per seed stays flat and a commit's memory bounded.
 */
const SEEDS_PER_COMMIT = 1000;

/**
 * Adds seeds to a crawl (their hosts join its scope); a finished crawl runs again. Every seed is
 * checked before any is added; a long list is committed in slices, and adding a seed again is a
 * no-op, so a list cut short by a failed commit can simply be sent again.
 */
export function addSeeds(ctx: FrontierContext, crawlId: string, seeds: string[]): { added: number } {
  const canonical = seeds.map((s, i) => {
    try {
      return canonicalizeUrl(s);
    } catch (err) {
      throw new InvalidInputError(
        "HEED_URL_INVALID",
        `seeds[${i}]: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  });
  if (canonical.length === 0) throw new InvalidInputError("HEED_URL_INVALID", "seeds: at least one");
  let added = 0;
  for (let from = 0; from < canonical.length; from += SEEDS_PER_COMMIT) {
    const slice = canonical.slice(from, from + SEEDS_PER_COMMIT);
    added += inTxn(ctx, (txn) => {
      const crawl = txn.crawl(crawlId);
      if (crawl === undefined) throw new NotFoundError(`no crawl ${crawlId}`);
      if (crawl.state === "cancelled") throw new StateError(`crawl ${crawlId} is cancelled`);
      for (const url of slice) txn.addSeed(crawl, url);
      if (crawl.state === "finished") {
        crawl.state = "running";
        delete crawl.finishedAtMs;
      }
      let n = 0;
      for (const url of slice) if (txn.discover(crawl, url, 0)) n++;
      return n;
    });
  }
  return { added };
}

export function setHostPolicy(
  ctx: FrontierContext,
  input: { pattern: string; mode: "block" | "slow"; minDelayMs?: number; reason: string },
): HostPolicy {
  const pattern = normalizePattern(input.pattern);
  if (pattern === undefined)
    throw new InvalidInputError("HEED_POLICY_INVALID", `pattern: not a host or domain: ${input.pattern}`);
  if (input.mode === "slow" && !(Number.isInteger(input.minDelayMs) && (input.minDelayMs ?? 0) > 0)) {
    throw new InvalidInputError(
      "HEED_POLICY_INVALID",
      "min_delay_ms: a positive number of milliseconds for a slow-down",
    );
  }
  return inTxn(ctx, (txn) => {
    const policy: HostPolicy = {
      pattern,
      mode: input.mode,
      minDelayMs: input.mode === "slow" ? (input.minDelayMs as number) : 0,
      reason: input.reason,
      createdAtMs: txn.now,
    };
    txn.setHostPolicy(policy);
    return policy;
  });
}

export function removeHostPolicy(ctx: FrontierContext, pattern: string): boolean {
  const key = normalizePattern(pattern);
  if (key === undefined || !ctx.policies.has(key)) return false;
  inTxn(ctx, (txn) => txn.removeHostPolicy(key));
  return true;
}

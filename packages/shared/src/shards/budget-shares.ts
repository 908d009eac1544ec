import { z } from "zod";

/**
 * A crawl's budget over the whole fleet, as one record in the `heed-budgets`
 * bucket: the limits, and each shard's share of them. Shards claim pages and
 * bytes from what no share holds, in chunks, with revision-checked updates,
 * and give back what they hold beyond their use when their part of the crawl
 * runs dry or they stop. Pure functions here; the bucket side is
 * services/coordinator/src/shards/crawl-budgets.ts.
 */

const count = z.number().int().nonnegative();

export const budgetShareSchema = z.object({
  /** Pages this shard may lease in all: its claims, less what it gave back. */
  pages: count,
  /** Page URLs it leased (first attempts), as it last wrote. */
  pagesUsed: count,
  /** Body bytes it may fetch in all (0 when the crawl has no byte budget). */
  bytes: count,
  /** Body bytes its fetches reported, as it last wrote. */
  bytesUsed: count,
});
export type BudgetShare = z.infer<typeof budgetShareSchema>;

export const crawlBudgetSchema = z.object({
  maxPages: count,
  /** 0: no byte budget. */
  maxBytes: count,
  shares: z.record(z.string(), budgetShareSchema),
});
export type CrawlBudget = z.infer<typeof crawlBudgetSchema>;

export interface BudgetUse {
  pages: number;
  bytes: number;
}

const EMPTY: BudgetShare = { pages: 0, pagesUsed: 0, bytes: 0, bytesUsed: 0 };

export function newCrawlBudget(maxPages: number, maxBytes: number): CrawlBudget {
  return { maxPages, maxBytes, shares: {} };
}

export function shareOf(budget: CrawlBudget, shardId: string): BudgetShare {
  return budget.shares[shardId] ?? EMPTY;
}

/**
 * What the shares hold against the limits: each its grant, or its use where
 * that is more (bytes are known only after the fetch, so a share's use can
 * pass its grant; what it fetched counts all the same).
 */
export function heldOf(budget: CrawlBudget): BudgetUse {
  let pages = 0;
  let bytes = 0;
  for (const s of Object.values(budget.shares)) {
    pages += Math.max(s.pages, s.pagesUsed);
    bytes += Math.max(s.bytes, s.bytesUsed);
  }
  return { pages, bytes };
}

/** What nobody holds yet (bytes: Infinity without a byte budget). */
export function unclaimedOf(budget: CrawlBudget): BudgetUse {
  const held = heldOf(budget);
  return {
    pages: Math.max(0, budget.maxPages - held.pages),
    bytes: budget.maxBytes > 0 ? Math.max(0, budget.maxBytes - held.bytes) : Number.POSITIVE_INFINITY,
  };
}

/** The record with a shard's use brought up to `used` (use never goes back). */
export function withUse(budget: CrawlBudget, shardId: string, used: BudgetUse): CrawlBudget {
  const s = shareOf(budget, shardId);
  return {
    ...budget,
    shares: {
      ...budget.shares,
      [shardId]: {
        ...s,
        pagesUsed: Math.max(s.pagesUsed, used.pages),
        bytesUsed: Math.max(s.bytesUsed, used.bytes),
      },
    },
  };
}

/**
 * A shard records its use and takes up to `want` more from what nobody holds.
 * Its grant never goes below its use, so what it took is on top of what it
 * leased already.
 */
export function claimShare(
  budget: CrawlBudget,
  shardId: string,
  used: BudgetUse,
  want: BudgetUse,
): CrawlBudget {
  const next = withUse(budget, shardId, used);
  const left = unclaimedOf(next);
  const s = shareOf(next, shardId);
  const take = (n: number, room: number) => Math.max(0, Math.min(n, room));
  return {
    ...next,
    shares: {
      ...next.shares,
      [shardId]: {
        ...s,
        pages: Math.max(s.pages, s.pagesUsed) + take(want.pages, left.pages),
        bytes: next.maxBytes > 0 ? Math.max(s.bytes, s.bytesUsed) + take(want.bytes, left.bytes) : 0,
      },
    },
  };
}

/** A shard gives back what it holds beyond its use: its grant becomes its use. */
export function giveBackShare(budget: CrawlBudget, shardId: string, used: BudgetUse): CrawlBudget {
  const next = withUse(budget, shardId, used);
  const s = shareOf(next, shardId);
  return {
    ...next,
    shares: {
      ...next.shares,
      [shardId]: { ...s, pages: s.pagesUsed, bytes: next.maxBytes > 0 ? s.bytesUsed : 0 },
    },
  };
}

/**
 * Whether a shard that has used its share can expect no more: nothing is
 * unclaimed, and no other live shard holds more than it used (it would give
 * that back when its part runs dry). A shard that is gone (its member record
 * expired) counts as holding nothing: its unused claim is lost to the crawl,
 * so the budget is never exceeded and the crawl still ends.
 */
export function spentFor(
  budget: CrawlBudget,
  shardId: string,
  live: (shardId: string) => boolean,
): { pages: boolean; bytes: boolean } {
  const left = unclaimedOf(budget);
  const others = Object.entries(budget.shares).filter(([id]) => id !== shardId && live(id));
  return {
    pages: left.pages === 0 && others.every(([, s]) => s.pagesUsed >= s.pages),
    bytes: budget.maxBytes > 0 && left.bytes === 0 && others.every(([, s]) => s.bytesUsed >= s.bytes),
  };
}

/** A chunk is at least this many pages ... */
const MIN_CHUNK_PAGES = 16;
/** ... and about what the shard leases in this long, at its recent pace. */
const CHUNK_AHEAD_MS = 5000;
/** Bytes claimed per page before the shard has fetched any: the estimate its reports then replace. */
const FIRST_BYTES_PER_PAGE = 64 * 1024;

/**
 * How much to ask for: what the shard can use soon (its recent pace over a
 * few seconds, at least a small chunk, no more than it has waiting beyond
 * that chunk, since discoveries keep adding to its queue), and no
 * more than an even part of what is left, so that no shard strands budget the
 * others could use. Bytes by estimate: the pages at the shard's own bytes per
 * page so far; its reports settle the true figure.
 */
export function chunkFor(options: {
  /** Pages this shard leased per second lately. */
  pagesPerSecond: number;
  /** Page URLs waiting on this shard for their first attempt (or an upper bound). */
  queued: number;
  used: BudgetUse;
  left: BudgetUse;
  liveShards: number;
}): BudgetUse {
  const shards = Math.max(1, options.liveShards);
  const pace = Math.max(MIN_CHUNK_PAGES, Math.ceil((options.pagesPerSecond * CHUNK_AHEAD_MS) / 1000));
  const pages = Math.min(
    pace,
    Math.max(MIN_CHUNK_PAGES, options.queued),
    Math.max(1, Math.ceil(options.left.pages / shards)),
  );
  const perPage =
    options.used.pages > 0 ? Math.ceil(options.used.bytes / options.used.pages) : FIRST_BYTES_PER_PAGE;
  const evenBytes = Number.isFinite(options.left.bytes)
    ? Math.max(1, Math.ceil(options.left.bytes / shards))
    : Infinity;
  return { pages, bytes: Math.min(Math.max(1, pages * perPage), evenBytes) };
}

import {
  BUDGETS_BUCKET,
  type BudgetUse,
  type CrawlBudget,
  chunkFor,
  claimShare,
  crawlBudgetSchema,
  errorMessage,
  giveBackShare,
  type Logger,
  newCrawlBudget,
  openReplicatedBucket,
  type ShardFleet,
  shareOf,
  spentFor,
  UnavailableError,
  unclaimedOf,
} from "@heed/shared";
import type { JetStreamClient, KV, KvEntry } from "nats";
import type { ShardAllowance } from "../frontier/context.js";
import type { Frontier } from "../frontier/frontier.js";
import type { CrawlRecord } from "../frontier/records.js";
import { isRevisionConflict } from "./map-store.js";

/** How often shares are looked over: a part that ran dry gives back what it holds. */
const TICK_MS = 500;
/** Nothing unclaimed, but other shards hold some they may give back: ask again this soon. */
const WAIT_RETRY_MS = 300;
/** The crawl-wide budget is spent: look again this seldom (another shard may still give some back). */
const SPENT_RETRY_MS = 1000;
/** After an error (NATS away, a record that cannot be read): try again this soon. */
const ERROR_RETRY_MS = 1000;
/** Revision conflicts in a row before an update gives up for now. */
const CONFLICTS = 20;

/** A crawl's share as this shard holds it in memory. */
interface Local {
  /** What the lease path may use: never more than the share the bucket holds for this shard. */
  limit: BudgetUse;
  spent: { pages: boolean; bytes: boolean };
  busy: boolean;
  /** No claim before this. */
  nextTryMs: number;
  /** The last chunk asked for: claim again once less than half of it is left. */
  chunk: BudgetUse;
  /** Pages used at the last claim, and when: the recent pace. */
  mark?: { atMs: number; pages: number };
  pagesPerSecond: number;
  /** Since this shard started, not yet read: the bucket may hold a share from before. */
  unread: boolean;
}

export interface CrawlBudgets {
  /** This shard's share of a crawl's budget (sync, cheap: the lease path asks it per URL). */
  allowance(crawl: CrawlRecord): ShardAllowance;
  /** The crawl-wide record, for operators. */
  read(crawlId: string): Promise<CrawlBudget | undefined>;
  /** Gives back what this shard holds beyond its use, for every crawl, then stops. */
  close(): Promise<void>;
}

/**
 * Crawl-wide budgets over the fleet's shards (`heed-budgets` bucket, one
 * revision-checked record per crawl): a shard claims pages and bytes in chunks
 * sized to what it can use soon, leases only within its share, and gives back
 * what it holds beyond its use when its part of the crawl runs dry or it stops.
 * Pages are counted when leased, so they never pass the limit; bytes only when
 * reported, so a shard claims them by estimate (its bytes per page so far) and
 * stops leasing once its reported bytes reach its share.
 */
export async function openCrawlBudgets(options: {
  js: JetStreamClient;
  shardId: string;
  frontier: Frontier;
  fleet: ShardFleet;
  /** Copies JetStream keeps of the bucket. */
  replicas: number;
  log: Logger;
}): Promise<CrawlBudgets> {
  const { js, shardId, frontier, fleet, log } = options;
  const kv: KV = await openReplicatedBucket(js, BUDGETS_BUCKET, { history: 1 }, options.replicas);
  const locals = new Map<string, Local>();
  const running = new Set<Promise<void>>();
  let closed = false;
  const live = (id: string) => fleet.member(id) !== undefined;
  const useOf = (c: CrawlRecord): BudgetUse => ({ pages: c.pagesLeased, bytes: c.bytes });

  function local(crawlId: string): Local {
    let l = locals.get(crawlId);
    if (l === undefined) {
      l = {
        limit: { pages: 0, bytes: 0 },
        spent: { pages: false, bytes: false },
        busy: false,
        nextTryMs: 0,
        chunk: { pages: 0, bytes: 0 },
        pagesPerSecond: 0,
        unread: true,
      };
      locals.set(crawlId, l);
    }
    return l;
  }

  /** Reads the record, changes it (undefined: nothing to write) and writes it back revision-checked. */
  async function update(
    crawlId: string,
    change: (budget: CrawlBudget, crawl: CrawlRecord) => CrawlBudget | undefined,
  ): Promise<CrawlBudget | undefined> {
    for (let i = 0; i < CONFLICTS; i++) {
      const e = await kv.get(crawlId);
      const crawl = frontier.crawl(crawlId);
      if (crawl === undefined) return undefined;
      const current = e !== null && e.operation === "PUT" ? decodeBudget(e) : undefined;
      const base = current ?? newCrawlBudget(crawl.spec.maxPages, crawl.spec.budgets.maxBytes);
      const next = change(base, crawl);
      if (next === undefined) return base;
      const value = new TextEncoder().encode(JSON.stringify(next));
      try {
        if (current === undefined) await kv.create(crawlId, value);
        else await kv.update(crawlId, value, (e as KvEntry).revision);
        return next;
      } catch (err) {
        // Another shard wrote it since: read again and decide again.
        if (isRevisionConflict(err) || /exists/i.test(errorMessage(err))) continue;
        throw err;
      }
    }
    throw new UnavailableError("HEED_BUDGET_CONTENDED", `crawl ${crawlId}: its budget record kept changing`);
  }

  function track(op: Promise<void>): void {
    running.add(op);
    void op.finally(() => running.delete(op));
  }

  function claim(crawlId: string, l: Local): void {
    l.busy = true;
    track(
      (async () => {
        let asked: BudgetUse = { pages: 0, bytes: 0 };
        let used: BudgetUse = { pages: 0, bytes: 0 };
        const next = await update(crawlId, (budget, crawl) => {
          used = useOf(crawl);
          const held = shareOf(budget, shardId);
          // A share held from before a restart is used before more is asked for.
          const fromBefore = l.unread && (held.pages > used.pages || held.bytes > used.bytes);
          asked = fromBefore
            ? { pages: 0, bytes: 0 }
            : chunkFor({
                pagesPerSecond: l.pagesPerSecond,
                queued: crawl.counts.queued,
                used,
                left: unclaimedOf(budget),
                liveShards: fleet.members().length,
              });
          return claimShare(budget, shardId, used, asked);
        });
        if (next === undefined) return;
        const share = shareOf(next, shardId);
        const now = Date.now();
        const before = l.limit;
        l.limit = { pages: share.pages, bytes: share.bytes };
        l.spent = spentFor(next, shardId, live);
        l.unread = false;
        if (asked.pages > 0 || asked.bytes > 0) l.chunk = asked;
        if (l.mark !== undefined && now > l.mark.atMs)
          l.pagesPerSecond = ((used.pages - l.mark.pages) * 1000) / (now - l.mark.atMs);
        l.mark = { atMs: now, pages: used.pages };
        log.debug({ crawlId, asked, used, share, spent: l.spent }, "claimed a share of the crawl's budget");
        const grew = l.limit.pages > before.pages || l.limit.bytes > before.bytes;
        l.nextTryMs = grew ? 0 : now + (l.spent.pages || l.spent.bytes ? SPENT_RETRY_MS : WAIT_RETRY_MS);
      })()
        .catch((err: unknown) => {
          l.nextTryMs = Date.now() + ERROR_RETRY_MS;
          log.warn(
            { crawlId, err: errorMessage(err) },
            "cannot claim a share of the crawl's budget; retrying",
          );
        })
        .finally(() => {
          l.busy = false;
        }),
    );
  }

  /**
   * Gives back what this shard holds beyond its use. The lease path's limit
   * comes down to the use first, in the same turn as the use is read, so
   * nothing is leased on what is being given back.
   */
  function giveBack(crawlId: string, l: Local, crawl: CrawlRecord): Promise<void> {
    const used = useOf(crawl);
    l.limit = { pages: Math.min(l.limit.pages, used.pages), bytes: Math.min(l.limit.bytes, used.bytes) };
    l.busy = true;
    const op = (async () => {
      const next = await update(crawlId, (budget, c) => {
        const held = shareOf(budget, shardId);
        const now = useOf(c);
        const spare =
          held.pages > Math.max(held.pagesUsed, now.pages) ||
          (budget.maxBytes > 0 && held.bytes > Math.max(held.bytesUsed, now.bytes));
        return spare ? giveBackShare(budget, shardId, now) : undefined;
      });
      if (next !== undefined)
        log.debug({ crawlId, share: shareOf(next, shardId) }, "gave back the unused share");
      if (next !== undefined) {
        const share = shareOf(next, shardId);
        l.limit = {
          pages: Math.min(l.limit.pages, share.pages),
          bytes: Math.min(l.limit.bytes, share.bytes),
        };
      }
      l.unread = false;
    })()
      .catch((err: unknown) => {
        // The limit stays down: what was not given back is lost to the crawl until a claim reads the record again.
        log.warn(
          { crawlId, err: errorMessage(err) },
          "cannot give back the unused share of the crawl's budget",
        );
      })
      .finally(() => {
        l.busy = false;
      });
    track(op);
    return op;
  }

  /** A part that ran dry (nothing queued here) gives back what it holds. */
  function lookOver(): void {
    for (const [crawlId, l] of locals) {
      if (l.busy) continue;
      const crawl = frontier.crawl(crawlId);
      if (crawl === undefined) {
        locals.delete(crawlId);
        continue;
      }
      if (crawl.counts.queued > 0 && crawl.state !== "cancelled") continue;
      const used = useOf(crawl);
      const holds =
        l.unread ||
        l.limit.pages > used.pages ||
        (crawl.spec.budgets.maxBytes > 0 && l.limit.bytes > used.bytes);
      if (holds) void giveBack(crawlId, l, crawl);
    }
  }

  // Shares held from before a restart: read at the first claim, or given back if the part is dry.
  for (const c of frontier.crawls()) if (c.state !== "cancelled") local(c.id);
  const tick = setInterval(lookOver, TICK_MS);
  tick.unref();

  return {
    allowance(crawl) {
      const l = local(crawl.id);
      const maxBytes = crawl.spec.budgets.maxBytes;
      const low = (n: number) => Math.ceil(n / 2);
      const short =
        crawl.pagesLeased + low(l.chunk.pages) >= l.limit.pages ||
        (maxBytes > 0 && crawl.bytes + low(l.chunk.bytes) >= l.limit.bytes);
      if (short && !l.busy && !closed && Date.now() >= l.nextTryMs) claim(crawl.id, l);
      return {
        pages: l.limit.pages,
        bytes: maxBytes > 0 ? l.limit.bytes : Number.POSITIVE_INFINITY,
        pagesSpent: l.spent.pages,
        bytesSpent: l.spent.bytes,
      };
    },
    async read(crawlId) {
      const e = await kv.get(crawlId);
      return e !== null && e.operation === "PUT" ? decodeBudget(e) : undefined;
    },
    async close() {
      closed = true;
      clearInterval(tick);
      await Promise.allSettled([...running]);
      const gives: Promise<void>[] = [];
      for (const [crawlId, l] of locals) {
        const crawl = frontier.crawl(crawlId);
        if (crawl === undefined || l.unread) continue;
        const used = useOf(crawl);
        if (l.limit.pages > used.pages || (crawl.spec.budgets.maxBytes > 0 && l.limit.bytes > used.bytes))
          gives.push(giveBack(crawlId, l, crawl));
      }
      await Promise.allSettled(gives);
    },
  };
}

/** A record is checked like any input: another version may have written it. */
function decodeBudget(e: KvEntry): CrawlBudget {
  const parsed = crawlBudgetSchema.safeParse(e.json<unknown>());
  if (!parsed.success)
    throw new UnavailableError(
      "HEED_BUDGET_UNREADABLE",
      `the budget record of crawl ${e.key} cannot be read: ${parsed.error.message}`,
    );
  return parsed.data;
}

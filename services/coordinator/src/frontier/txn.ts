import { createHash } from "node:crypto";
import { type CrawlSpec, tryCanonicalizeUrl } from "@heed/shared";
import { policyFor } from "./policies.js";
import type {
  CrawlRecord,
  FailReason,
  HostPolicy,
  HostState,
  QueueKey,
  RobotsRecord,
  SkipReason,
  UrlRecord,
  UrlState,
} from "./records.js";
import { createScope } from "./scope.js";
import { queueSitemaps } from "./sitemaps.js";
import { type FrontierStore, loadCrawl, saveCrawlCounters } from "./store.js";
import { queueTdmRep } from "./tdm.js";

/** Queue keys sort depth within a host; this bounds a range scan over one host. */
export const MAX_DEPTH_KEY = 1_000_000;

export function urlHashOf(url: string): string {
  return createHash("sha256").update(url).digest("hex").slice(0, 32);
}

export function newHostState(hostKey: string): HostState {
  return {
    hostKey,
    nextAllowedAtMs: 0,
    inFlight: 0,
    delayMs: 0,
    delaySource: "none",
    consecutiveErrors: 0,
    fetches: 0,
    bytes: 0,
    minDelayMs: 0,
    maxConcurrency: Number.MAX_SAFE_INTEGER,
  };
}

/**
 * One write transaction's working set: records are read once, changed in
 * memory and written back together, so a batch costs one commit. Hosts whose
 * schedule may have changed are collected for the caller to re-index after
 * the commit.
 */
export interface Txn {
  now: number;
  store: FrontierStore;
  crawl(id: string): CrawlRecord | undefined;
  host(key: string): HostState;
  robots(origin: string): RobotsRecord | undefined;
  setRobots(rec: RobotsRecord): void;
  putUrl(hash: string, rec: UrlRecord): void;
  moveUrl(crawl: CrawlRecord, rec: UrlRecord, to: UrlState): void;
  /** The operator policy for a host, if any. */
  policy(hostKey: string): HostPolicy | undefined;
  /** The minimum delay for a host: the strictest crawl's, or the operator's slow-down if longer. */
  minDelayMs(host: HostState): number;
  /** Canonicalize, scope, depth-check and dedup a discovered URL; queue it when new. */
  discover(
    crawl: CrawlRecord,
    rawUrl: string,
    depth: number,
    via?: string,
    kind?: UrlRecord["kind"],
  ): boolean;
  requeue(crawl: CrawlRecord, hash: string, rec: UrlRecord, notBeforeMs: number): void;
  skip(crawl: CrawlRecord, hash: string, rec: UrlRecord, reason: SkipReason): void;
  fail(crawl: CrawlRecord, hash: string, rec: UrlRecord, reason: FailReason): void;
  touchedHosts: Set<string>;
  touchedCrawls: Set<string>;
  /** Hosts with queued work that cannot be leased before a time other than their next-allowed time. */
  deferred: Map<string, number>;
  flush(): void;
}

const scopes = new WeakMap<CrawlSpec, (url: string) => boolean>();
function scopeOf(spec: CrawlSpec): (url: string) => boolean {
  let s = scopes.get(spec);
  if (s === undefined) {
    s = createScope(spec);
    scopes.set(spec, s);
  }
  return s;
}

export interface Sequence {
  next(): number;
  current(): number;
}

export function openTxn(
  store: FrontierStore,
  now: number,
  seq: Sequence,
  policies: ReadonlyMap<string, HostPolicy> = new Map(),
): Txn {
  const crawls = new Map<string, CrawlRecord>();
  const hosts = new Map<string, HostState>();
  const robots = new Map<string, RobotsRecord>();
  const dirtyRobots = new Set<string>();
  const touchedHosts = new Set<string>();
  const touchedCrawls = new Set<string>();

  const txn: Txn = {
    now,
    store,
    touchedHosts,
    touchedCrawls,
    deferred: new Map(),
    crawl(id) {
      let c = crawls.get(id);
      if (c === undefined) {
        c = loadCrawl(store, id);
        if (c === undefined) return undefined;
        crawls.set(id, c);
      }
      touchedCrawls.add(id);
      return c;
    },
    host(key) {
      let h = hosts.get(key);
      if (h === undefined) {
        h = store.hosts.get(key) ?? newHostState(key);
        hosts.set(key, h);
      }
      touchedHosts.add(key);
      return h;
    },
    robots(origin) {
      if (robots.has(origin)) return robots.get(origin);
      const r = store.robots.get(origin);
      if (r !== undefined) robots.set(origin, r);
      return r;
    },
    policy: (hostKey) => policyFor(policies, hostKey),
    minDelayMs(host) {
      const p = policyFor(policies, host.hostKey);
      return Math.max(host.minDelayMs, p?.mode === "slow" ? p.minDelayMs : 0);
    },
    setRobots(rec) {
      robots.set(rec.origin, rec);
      dirtyRobots.add(rec.origin);
    },
    putUrl(hash, rec) {
      rec.updatedAtMs = now;
      store.urls.putSync([rec.crawlId, hash], rec);
    },
    moveUrl(crawl, rec, to) {
      crawl.counts[rec.state]--;
      crawl.counts[to]++;
      rec.state = to;
    },
    discover(crawl, rawUrl, depth, via, kind) {
      const spec = crawl.spec;
      if (depth > spec.maxDepth && kind === undefined) return false;
      const canon = tryCanonicalizeUrl(rawUrl);
      if (!canon.ok) return false;
      const url = canon.url;
      if (!scopeOf(spec)(url)) return false;
      const hash = urlHashOf(url);
      if (store.urls.doesExist([crawl.id, hash])) return false;
      const parsed = new URL(url);
      const hostKey = parsed.hostname;
      const queueKey: QueueKey = [hostKey, depth, seq.next()];
      const rec: UrlRecord = {
        url,
        crawlId: crawl.id,
        hostKey,
        origin: parsed.origin,
        depth,
        state: "queued",
        attempts: 0,
        discoveredAtMs: now,
        updatedAtMs: now,
        notBeforeMs: 0,
        queueKey,
        ...(via !== undefined ? { via } : {}),
        ...(kind !== undefined ? { kind } : {}),
      };
      store.urls.putSync([crawl.id, hash], rec);
      store.queue.putSync(queueKey, [crawl.id, hash]);
      crawl.counts.queued++;
      // Politeness is per host across crawls: the strictest crawl's settings win.
      const host = txn.host(hostKey);
      host.minDelayMs = Math.max(host.minDelayMs, spec.politeness.minDelayMs);
      host.maxConcurrency = Math.min(host.maxConcurrency, spec.politeness.maxConcurrencyPerHost);
      if (!store.crawlHosts.doesExist([crawl.id, hostKey])) {
        store.crawlHosts.putSync([crawl.id, hostKey], {
          firstSeenMs: now,
          pages: 0,
          bytes: 0,
          windowStartMs: 0,
          windowPages: 0,
        });
        crawl.hosts++;
        // A crawl new to a host whose robots.txt another crawl already read still gets its sitemaps.
        queueTdmRep(txn, crawl, parsed.origin);
        if (spec.sitemaps.enabled) {
          const robots = txn.robots(parsed.origin);
          if (robots?.status === "parsed") queueSitemaps(txn, crawl, robots);
        }
      }
      return true;
    },
    requeue(crawl, hash, rec, notBeforeMs) {
      const queueKey: QueueKey = [rec.hostKey, rec.depth, seq.next()];
      txn.moveUrl(crawl, rec, "queued");
      rec.queueKey = queueKey;
      rec.notBeforeMs = notBeforeMs;
      delete rec.leaseId;
      txn.putUrl(hash, rec);
      store.queue.putSync(queueKey, [crawl.id, hash]);
      txn.host(rec.hostKey);
    },
    skip(crawl, hash, rec, reason) {
      if (rec.queueKey !== undefined) store.queue.removeSync(rec.queueKey);
      delete rec.queueKey;
      txn.moveUrl(crawl, rec, "skipped");
      rec.reason = reason;
      crawl.skipCounts[reason] = (crawl.skipCounts[reason] ?? 0) + 1;
      txn.putUrl(hash, rec);
    },
    fail(crawl, hash, rec, reason) {
      txn.moveUrl(crawl, rec, "failed");
      rec.reason = reason;
      delete rec.leaseId;
      txn.putUrl(hash, rec);
    },
    flush() {
      for (const c of crawls.values()) {
        if (c.state === "running" && c.counts.queued === 0 && c.counts.leased === 0) {
          c.state = "finished";
          c.finishedAtMs = now;
        }
        saveCrawlCounters(store, c);
      }
      for (const [k, h] of hosts) store.hosts.putSync(k, h);
      for (const o of dirtyRobots) store.robots.putSync(o, robots.get(o) as RobotsRecord);
      store.meta.putSync("seq", seq.current());
    },
  };
  return txn;
}

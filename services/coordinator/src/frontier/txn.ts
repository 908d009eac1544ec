import { createHash } from "node:crypto";
import { type CrawlSpec, tryCanonicalizeUrl } from "@heed/shared";
import { policyFor } from "./policies.js";
import type {
  CrawlHostState,
  CrawlRecord,
  DigestEntry,
  EarlierCapture,
  FailReason,
  HostPolicy,
  HostState,
  LeaseRecord,
  OutboxEntry,
  QueueKey,
  RobotsRecord,
  SkipReason,
  TdmRecord,
  UrlRecord,
  UrlState,
} from "./records.js";
import { recrawlScope } from "./recrawl-scope.js";
import { createScope } from "./scope.js";
import { adoptCrawlPoliteness, isAsStrict } from "./slots.js";
import {
  type EndedLeaseKey,
  type FrontierStore,
  loadCrawl,
  readRobots,
  removeRobots,
  writeRobots,
} from "./store.js";

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
 * One write transaction's working set, and the only writer of the frontier's
 * LMDB tables: records are read once, changed in memory and written back
 * together, so a batch costs one commit. What the in-memory indexes must learn
 * (hosts to re-index, active leases, host policies) is collected for the
 * caller to apply after the commit succeeded.
 */
export interface Txn {
  now: number;
  /** For reads; every write goes through the methods below. */
  store: FrontierStore;
  crawl(id: string): CrawlRecord | undefined;
  /** Stores a new crawl's definition; its counters are written with the commit. */
  addCrawl(crawl: CrawlRecord): CrawlRecord;
  /** Adds a seed to a crawl (its host joins the scope); false if it is a seed already. */
  addSeed(crawl: CrawlRecord, url: string): boolean;
  host(key: string): HostState;
  /** A host's state as this transaction left it, if it read it (no read, and not marked touched). */
  loadedHost(key: string): HostState | undefined;
  /** Whether a host or politeness key has a record (stored, or made in this transaction), asked once per transaction. */
  hostExists(key: string): boolean;
  robots(origin: string): RobotsRecord | undefined;
  setRobots(rec: RobotsRecord): void;
  putUrl(hash: string, rec: UrlRecord): void;
  moveUrl(crawl: CrawlRecord, rec: UrlRecord, to: UrlState): void;
  /** Takes a URL out of its host queue (it is being leased). */
  unqueue(rec: UrlRecord): void;
  /** Drops a queue entry whose URL record is gone. */
  dropQueueEntry(key: QueueKey): void;
  /**
   * Takes a paused crawl's queued URL out of its host queue, keeping its place
   * (the key stays in the record): hosts it shares with other crawls are not held.
   */
  withholdQueued(rec: UrlRecord): void;
  /** Puts a resumed crawl's queued URL back in its host queue, at the place it had. */
  restoreQueued(hash: string, rec: UrlRecord): void;
  /** Records a new lease, active until it is reported or expires. */
  addLease(rec: LeaseRecord): void;
  /** Moves an active lease's expiry (renewal). */
  extendLease(rec: LeaseRecord, expiresAtMs: number): void;
  /** Ends an active lease. */
  endLease(rec: LeaseRecord, state: "reported" | "expired"): void;
  /** Notes that an active lease's request ended at `endedAtMs` (its slots are free); the lease stays active. */
  endLeaseRequest(rec: LeaseRecord, endedAtMs: number): void;
  /** Forgets an in-memory active entry whose lease is no longer active. */
  forgetActive(leaseId: string): void;
  /** Deletes an ended lease's audit record (retention); the URL's own evidence stays. */
  dropEndedLease(key: EndedLeaseKey): void;
  /**
   * A crawl's state on a host, read once per transaction: changes to it are made on the returned
   * record and written once, with the commit, however many leases and reports changed it.
   */
  crawlHost(crawlId: string, hostKey: string): CrawlHostState | undefined;
  putCrawlHost(crawlId: string, hostKey: string, state: CrawlHostState): void;
  /** Whether the crawl has a record for the host, without decoding it. */
  crawlHostExists(crawlId: string, hostKey: string): boolean;
  tdm(origin: string): TdmRecord | undefined;
  putTdm(rec: TdmRecord): void;
  setHostPolicy(policy: HostPolicy): void;
  removeHostPolicy(pattern: string): void;
  /** Indexes a payload's capture unless the crawl holds that payload already (the first wins); true if indexed. */
  indexDigest(crawlId: string, payloadDigest: string, entry: DigestEntry): boolean;
  /** The operator policy for a host, if any. */
  policy(hostKey: string): HostPolicy | undefined;
  /** The minimum delay for a host: the strictest crawl's, or the operator's slow-down if longer. */
  minDelayMs(host: HostState): number;
  /**
   * Canonicalize, scope, depth-check and dedup a discovered URL; queue it when new. A known page
   * found again by a shorter path takes the shorter depth, so what the depth limit lets in does
   * not depend on which path the fleet happened to follow first.
   */
  discover(
    crawl: CrawlRecord,
    rawUrl: string,
    depth: number,
    via?: string,
    kind?: UrlRecord["kind"],
    earlier?: EarlierCapture,
  ): boolean;
  /** Keeps a fetched page's links that lay past the depth limit, for a shorter path found later. */
  keepPastDepth(crawl: CrawlRecord, hash: string, links: string[]): void;
  requeue(crawl: CrawlRecord, hash: string, rec: UrlRecord, notBeforeMs: number): void;
  skip(crawl: CrawlRecord, hash: string, rec: UrlRecord, reason: SkipReason): void;
  fail(crawl: CrawlRecord, hash: string, rec: UrlRecord, reason: FailReason): void;
  touchedHosts: Set<string>;
  touchedCrawls: Set<string>;
  /** Hosts with queued work that cannot be leased before a time other than their next-allowed time. */
  deferred: Map<string, number>;
  /** leaseId -> new expiry, or undefined when the lease is no longer active: for the in-memory map after commit. */
  activeChanges: Map<string, number | undefined>;
  /** pattern -> new policy, or undefined when removed: for the in-memory map after commit. */
  policyChanges: Map<string, HostPolicy | undefined>;
  /** A host waits for a slot on a busy key; it is woken when that key frees one. */
  waitFor(key: string, hostKey: string): void;
  /** A key freed a slot: the hosts waiting for it are woken. */
  keyFreed(key: string): void;
  /** Waits and frees in the order they happened, for the in-memory waiters after commit. */
  waiterChanges: WaiterChange[];
  /** Keeps a URL for another shard until the URL stream has it (see shards/url-outbox.ts). */
  toOutbox(entry: OutboxEntry): void;
  /** Forgets outbox entries the URL stream acknowledged. */
  dropOutbox(keys: number[]): void;
  /** How many URLs this transaction put in the outbox. */
  outboxed: number;
  /** Moving partitions between shards (see range-move.ts): writes a local discovery never makes. */
  moved: MovedTables;
  flush(): void;
}

/** The writes that bring a partition range's records in from another shard, or delete them once moved away. */
export interface MovedTables {
  /** Forgets a host's (or another politeness key's) state; it leaves the schedule after the commit. */
  dropHost(key: string): void;
  dropUrl(crawlId: string, hash: string): void;
  putDiscovery(crawlId: string, seq: number, hash: string): void;
  dropDiscovery(crawlId: string, seq: number): void;
  dropCrawlHost(crawlId: string, hostKey: string): void;
  dropRobots(origin: string): void;
  dropTdm(origin: string): void;
  dropPastDepth(crawlId: string, hash: string): void;
  addSeedHost(crawlId: string, hostname: string): void;
  /** Progress and pending work of a move, kept with the frontier so a restart resumes it. */
  setMeta(key: string, value: number | undefined): void;
}

export type WaiterChange = { wait: string; hostKey: string } | { freed: string };

/** What the transaction calls out to; kept outside so the transaction knows nothing of sitemaps or TDMRep. */
export interface TxnHooks {
  /** A crawl queued its first URL on a host (`origin` is that URL's origin). */
  crawlMeetsHost(txn: Txn, crawl: CrawlRecord, origin: string): void;
  /** In a sharded frontier: the shard that owns a host, when it is not this one. */
  routeOf?(hostname: string): string | undefined;
}

const scopes = new WeakMap<CrawlSpec, (url: string) => boolean>();
function scopeOf(store: FrontierStore, spec: CrawlSpec): (url: string) => boolean {
  let s = scopes.get(spec);
  if (s === undefined) {
    const within = recrawlScope(store, spec);
    // Added seeds' hosts are looked up, not held: the matcher is built once per definition.
    s = createScope(within, (host) => within.crawls.some((id) => store.addedSeedHosts.doesExist([id, host])));
    scopes.set(spec, s);
  }
  return s;
}

const createdSeeds = new WeakMap<CrawlSpec, Set<string>>();
function isCreatedSeed(spec: CrawlSpec, url: string): boolean {
  let set = createdSeeds.get(spec);
  if (set === undefined) {
    set = new Set(spec.seeds);
    createdSeeds.set(spec, set);
  }
  return set.has(url);
}

export interface Sequence {
  next(): number;
  current(): number;
}

export function openTxn(
  store: FrontierStore,
  now: number,
  seq: Sequence,
  policies: ReadonlyMap<string, HostPolicy>,
  hooks: TxnHooks,
): Txn {
  const crawls = new Map<string, CrawlRecord>();
  const hosts = new Map<string, HostState>();
  const robots = new Map<string, RobotsRecord>();
  const dirtyRobots = new Set<string>();
  const touchedHosts = new Set<string>();
  const touchedCrawls = new Set<string>();
  // Keys read for their existence only (a domain or IP key's politeness): a batch asks for the same few again and again.
  const hostsKnown = new Map<string, boolean>();
  const side = sideTables(store);
  // The sequence is written only by a transaction that used it: an idle lease round writes nothing, so it commits no page.
  const seqAtOpen = seq.current();

  // The spreads come last: V8 builds a literal that opens with a spread property by property at
  // run time, which made opening a transaction cost about 70 µs (measured), more than a small
  // commit's writes; written last they are copied onto the literal built from its template (1-2 µs).
  const txn: Txn = {
    now,
    store,
    touchedHosts,
    touchedCrawls,
    deferred: new Map(),
    waiterChanges: [],
    waitFor(key, hostKey) {
      txn.waiterChanges.push({ wait: key, hostKey });
    },
    keyFreed(key) {
      txn.waiterChanges.push({ freed: key });
    },
    outboxed: 0,
    toOutbox(entry) {
      store.outbox.putSync(seq.next(), entry);
      txn.outboxed++;
    },
    dropOutbox(keys) {
      for (const k of keys) store.outbox.removeSync(k);
    },
    moved: {
      dropHost(key) {
        hosts.delete(key);
        hostsKnown.set(key, false);
        store.hosts.removeSync(key);
        touchedHosts.add(key);
      },
      dropUrl: (crawlId, hash) => store.urls.removeSync([crawlId, hash]),
      putDiscovery: (crawlId, n, hash) => store.discovery.putSync([crawlId, n], hash),
      dropDiscovery: (crawlId, n) => store.discovery.removeSync([crawlId, n]),
      dropCrawlHost: (crawlId, hostKey) => side.dropCrawlHost(crawlId, hostKey),
      dropRobots(origin) {
        robots.delete(origin);
        dirtyRobots.delete(origin);
        removeRobots(store, origin);
      },
      dropTdm: (origin) => store.tdm.removeSync(origin),
      dropPastDepth: (crawlId, hash) => store.pastDepth.removeSync([crawlId, hash]),
      addSeedHost(crawlId, hostname) {
        if (!store.addedSeedHosts.doesExist([crawlId, hostname]))
          store.addedSeedHosts.putSync([crawlId, hostname], 1);
      },
      setMeta(key, value) {
        if (value === undefined) store.meta.removeSync(key);
        else store.meta.putSync(key, value);
      },
    },
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
    addCrawl(crawl) {
      store.crawlSpecs.putSync(crawl.id, crawl.spec);
      crawls.set(crawl.id, crawl);
      touchedCrawls.add(crawl.id);
      return crawl;
    },
    addSeed(crawl, url) {
      const hash = urlHashOf(url);
      if (isCreatedSeed(crawl.spec, url) || store.addedSeedUrls.doesExist([crawl.id, hash])) return false;
      const n = crawl.addedSeeds ?? 0;
      store.addedSeeds.putSync([crawl.id, n], url);
      store.addedSeedUrls.putSync([crawl.id, hash], n);
      // Most added seeds share a host with an earlier one: a read instead of a write (a dirtied page).
      const hostKey: [string, string] = [crawl.id, new URL(url).hostname];
      if (!store.addedSeedHosts.doesExist(hostKey)) store.addedSeedHosts.putSync(hostKey, 1);
      crawl.addedSeeds = n + 1;
      return true;
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
    loadedHost: (key) => hosts.get(key),
    hostExists(key) {
      if (hosts.has(key)) return true;
      let known = hostsKnown.get(key);
      if (known === undefined) {
        known = store.hosts.doesExist(key);
        hostsKnown.set(key, known);
      }
      return known;
    },
    robots(origin) {
      if (robots.has(origin)) return robots.get(origin);
      const r = readRobots(store, origin);
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
    unqueue(rec) {
      if (rec.queueKey !== undefined) store.queue.removeSync(rec.queueKey);
      delete rec.queueKey;
    },
    dropQueueEntry(key) {
      store.queue.removeSync(key);
    },
    withholdQueued(rec) {
      if (rec.queueKey !== undefined) store.queue.removeSync(rec.queueKey);
    },
    restoreQueued(hash, rec) {
      if (rec.queueKey !== undefined) store.queue.putSync(rec.queueKey, [rec.crawlId, hash]);
    },
    discover: (crawl, rawUrl, depth, via, kind, earlier) =>
      discover(txn, seq, hooks, crawl, rawUrl, depth, via, kind, earlier),
    keepPastDepth(crawl, hash, links) {
      if (links.length > 0) store.pastDepth.putSync([crawl.id, hash], links);
    },
    requeue(crawl, hash, rec, notBeforeMs) {
      const queueKey: QueueKey = [rec.hostKey, rec.depth, seq.next()];
      txn.moveUrl(crawl, rec, "queued");
      rec.queueKey = queueKey;
      rec.notBeforeMs = notBeforeMs;
      delete rec.leaseId;
      txn.putUrl(hash, rec);
      // A paused crawl's URLs wait outside the host queues until it resumes.
      if (crawl.state !== "paused") store.queue.putSync(queueKey, [crawl.id, hash]);
      txn.host(rec.hostKey);
    },
    skip(crawl, hash, rec, reason) {
      txn.unqueue(rec);
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
        const { spec: _spec, ...counters } = c;
        store.crawls.putSync(c.id, counters);
      }
      for (const [k, h] of hosts) store.hosts.putSync(k, h);
      side.flushCrawlHosts();
      for (const o of dirtyRobots) writeRobots(store, robots.get(o) as RobotsRecord);
      if (seq.current() !== seqAtOpen) store.meta.putSync("seq", seq.current());
    },
    ...leaseTable(store, now),
    ...side,
  };
  return txn;
}

/** The lease tables, and what the in-memory map of active leases must learn after the commit. */
function leaseTable(
  store: FrontierStore,
  now: number,
): Pick<
  Txn,
  | "addLease"
  | "extendLease"
  | "endLease"
  | "endLeaseRequest"
  | "forgetActive"
  | "dropEndedLease"
  | "activeChanges"
> {
  const activeChanges = new Map<string, number | undefined>();
  return {
    activeChanges,
    addLease(rec) {
      store.leases.putSync(rec.id, rec);
      store.activeLeases.putSync(rec.id, rec.expiresAtMs);
      activeChanges.set(rec.id, rec.expiresAtMs);
    },
    extendLease(rec, expiresAtMs) {
      rec.expiresAtMs = expiresAtMs;
      store.leases.putSync(rec.id, rec);
      store.activeLeases.putSync(rec.id, expiresAtMs);
      activeChanges.set(rec.id, expiresAtMs);
    },
    endLease(rec, state) {
      rec.state = state;
      rec.endedAtMs = now;
      store.leases.putSync(rec.id, rec);
      store.endedLeases.putSync([rec.crawlId, now, rec.id], 1);
      store.activeLeases.removeSync(rec.id);
      activeChanges.set(rec.id, undefined);
    },
    endLeaseRequest(rec, endedAtMs) {
      rec.requestEndedAtMs = endedAtMs;
      store.leases.putSync(rec.id, rec);
    },
    forgetActive(leaseId) {
      activeChanges.set(leaseId, undefined);
    },
    dropEndedLease(key) {
      store.leases.removeSync(key[2]);
      store.endedLeases.removeSync(key);
    },
  };
}

type SideTables = Pick<
  Txn,
  | "crawlHost"
  | "putCrawlHost"
  | "crawlHostExists"
  | "tdm"
  | "putTdm"
  | "setHostPolicy"
  | "removeHostPolicy"
  | "policyChanges"
  | "indexDigest"
> & {
  /** Writes each crawl-host record changed in the transaction, once. */
  flushCrawlHosts(): void;
  dropCrawlHost(crawlId: string, hostKey: string): void;
};

/** Per-crawl host counters, TDM reservations and operator host policies. */
function sideTables(store: FrontierStore): SideTables {
  const policyChanges = new Map<string, HostPolicy | undefined>();
  // Keyed crawlId NUL hostKey; undefined when the crawl has no record for the host.
  const crawlHosts = new Map<string, CrawlHostState | undefined>();
  const dirtyCrawlHosts = new Map<string, [string, string]>();
  return {
    policyChanges,
    crawlHost(crawlId, hostKey) {
      const k = `${crawlId}\u0000${hostKey}`;
      if (crawlHosts.has(k)) return crawlHosts.get(k);
      const state = store.crawlHosts.get([crawlId, hostKey]);
      crawlHosts.set(k, state);
      return state;
    },
    putCrawlHost(crawlId, hostKey, state) {
      const k = `${crawlId}\u0000${hostKey}`;
      crawlHosts.set(k, state);
      dirtyCrawlHosts.set(k, [crawlId, hostKey]);
    },
    crawlHostExists(crawlId, hostKey) {
      const k = `${crawlId}\u0000${hostKey}`;
      return crawlHosts.has(k)
        ? crawlHosts.get(k) !== undefined
        : store.crawlHosts.doesExist([crawlId, hostKey]);
    },
    dropCrawlHost(crawlId, hostKey) {
      const k = `${crawlId}\u0000${hostKey}`;
      crawlHosts.set(k, undefined);
      dirtyCrawlHosts.delete(k);
      store.crawlHosts.removeSync([crawlId, hostKey]);
    },
    flushCrawlHosts() {
      for (const [k, key] of dirtyCrawlHosts)
        store.crawlHosts.putSync(key, crawlHosts.get(k) as CrawlHostState);
    },
    tdm: (origin) => store.tdm.get(origin),
    putTdm(rec) {
      store.tdm.putSync(rec.origin, rec);
    },
    setHostPolicy(policy) {
      store.hostPolicies.putSync(policy.pattern, policy);
      policyChanges.set(policy.pattern, policy);
    },
    removeHostPolicy(pattern) {
      store.hostPolicies.removeSync(pattern);
      policyChanges.set(pattern, undefined);
    },
    indexDigest(crawlId, payloadDigest, entry) {
      const key: [string, string] = [crawlId, payloadDigest];
      if (store.digests.doesExist(key)) return false;
      store.digests.putSync(key, entry);
      return true;
    },
  };
}

/** Canonicalize, scope, depth-check and dedup a discovered URL; queue it when new. */
function discover(
  txn: Txn,
  seq: Sequence,
  hooks: TxnHooks,
  crawl: CrawlRecord,
  rawUrl: string,
  depth: number,
  via?: string,
  kind?: UrlRecord["kind"],
  earlier?: EarlierCapture,
): boolean {
  const { store, now } = txn;
  const spec = crawl.spec;
  if (depth > spec.maxDepth && kind === undefined) return false;
  const canon = tryCanonicalizeUrl(rawUrl);
  if (!canon.ok) return false;
  const url = canon.url;
  if (!scopeOf(store, spec)(url)) return false;
  if (hooks.routeOf !== undefined) {
    // Another shard's URL: it is deduplicated and queued there, once the URL stream delivers it.
    const shard = hooks.routeOf(new URL(url).hostname);
    if (shard !== undefined) {
      txn.toOutbox({
        shard,
        crawlId: crawl.id,
        url,
        depth,
        ...(via !== undefined ? { via } : {}),
        ...(kind !== undefined ? { kind } : {}),
      });
      return false;
    }
  }
  const hash = urlHashOf(url);
  const known = store.urls.get([crawl.id, hash]);
  if (known !== undefined) {
    if (kind === undefined && known.kind === undefined && depth < known.depth)
      shorten(txn, seq, hooks, crawl, hash, known, depth);
    return false;
  }
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
    ...(earlier !== undefined ? { earlier } : {}),
  };
  store.urls.putSync([crawl.id, hash], rec);
  if (crawl.state !== "paused") store.queue.putSync(queueKey, [crawl.id, hash]);
  store.discovery.putSync([crawl.id, queueKey[2]], hash);
  crawl.counts.queued++;
  // A host already as strict as this crawl asks is only rescheduled, not rewritten: at scale each
  // rewrite dirties a page of its own, and a bulk insert meets as many hosts as URLs.
  const stored = txn.loadedHost(hostKey) === undefined ? store.hosts.get(hostKey) : undefined;
  if (stored !== undefined && isAsStrict(stored, spec)) txn.touchedHosts.add(hostKey);
  else adoptCrawlPoliteness(txn.host(hostKey), spec);
  if (!txn.crawlHostExists(crawl.id, hostKey)) {
    txn.putCrawlHost(crawl.id, hostKey, {
      firstSeenMs: now,
      pages: 0,
      bytes: 0,
      windowStartMs: 0,
      windowPages: 0,
    });
    crawl.hosts++;
    hooks.crawlMeetsHost(txn, crawl, parsed.origin);
  }
  return true;
}

/**
 * A page found again by a shorter path: a queued one moves up its host's
 * breadth-first queue; a fetched one whose links were cut by the depth limit
 * has the links that are now within it followed (which may shorten further
 * pages in turn, at most maxDepth levels deep).
 */
function shorten(
  txn: Txn,
  seq: Sequence,
  hooks: TxnHooks,
  crawl: CrawlRecord,
  hash: string,
  rec: UrlRecord,
  depth: number,
): void {
  const { store } = txn;
  rec.depth = depth;
  if (rec.state === "queued" && rec.queueKey !== undefined) {
    const onQueue = store.queue.doesExist(rec.queueKey);
    store.queue.removeSync(rec.queueKey);
    rec.queueKey = [rec.hostKey, depth, rec.queueKey[2]];
    if (onQueue) store.queue.putSync(rec.queueKey, [crawl.id, hash]);
  }
  txn.putUrl(hash, rec);
  // Only a fetched page has links kept; they are followed once the shorter depth lets them in.
  if (depth + 1 > crawl.spec.maxDepth) return;
  const links = store.pastDepth.get([crawl.id, hash]);
  if (links === undefined) return;
  store.pastDepth.removeSync([crawl.id, hash]);
  for (const link of links) discover(txn, seq, hooks, crawl, link, depth + 1, rec.url);
}

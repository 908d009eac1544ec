import { randomBytes } from "node:crypto";
import {
  ConfigError,
  type CrawlSpec,
  type CrawlSpecInput,
  checkedCrawlSpec,
  type Logger,
  ROBOTS_READINGS,
  sleep,
} from "@heed/shared";
import { createHostAffinity, DEFAULT_AFFINITY } from "./affinity.js";
import { checkFrontier, type FrontierCheck } from "./check.js";
import { createCommitBatcher } from "./commit-batch.js";
import {
  dueMs,
  type FrontierContext,
  type FrontierHealth,
  type FrontierSettings,
  type FrontierShard,
  hostsWithQueued,
  inTxn,
  sequenceFrom,
} from "./context.js";
import {
  CLAIM_WAIT_MS,
  claimDigest,
  type DigestClaims,
  type DigestOriginal,
  dedupsWithin,
  lookupDigest,
} from "./digests.js";
import { indexDiscoveryOrder } from "./discovery.js";
import { expireDue } from "./expiry.js";
import { keepLargeValuesApart } from "./large-values.js";
import type { LeaseRound } from "./lease.js";
import { type FrontierObserver, NO_OBSERVER } from "./observer.js";
import { addSeeds, type CrawlAction, changeCrawlState, removeHostPolicy, setHostPolicy } from "./operator.js";
import {
  dropRange,
  importRange,
  type RangeDrop,
  type RangeImport,
  type RangeItem,
  setMoveMeta,
} from "./range-move.js";
import type {
  CrawlRecord,
  FetchReport,
  HostPolicy,
  HostState,
  LeaseRecord,
  OutboxEntry,
  RenewAnswer,
  ReportAnswer,
  RobotsRecord,
  UrlRecord,
} from "./records.js";
import { checkRecrawlOf, queueRecrawl, startDueRecrawls } from "./recrawl.js";
import { pruneLeaseRecords } from "./retention.js";
import { createHostSchedule } from "./schedule.js";
import { seedsFrom } from "./seeds.js";
import { dropOutbox, type InboundUrl, type IngestResult, ingestUrls, outboxBatch } from "./shard-urls.js";
import { spaceGuard } from "./space.js";
import { type FrontierStore, loadCrawl, openFrontierStore, readRobots } from "./store.js";
import { urlHashOf } from "./txn.js";

export interface Frontier {
  /**
   * With `discoverSeeds: false` the crawl is created without its seeds (a sharded fleet's other
   * shards: the shard where it was created routes each seed to its owner).
   */
  createCrawl(input: CrawlSpecInput, options?: { discoverSeeds?: boolean }): CrawlRecord;
  /** Starts the recrawls whose day has come (`recrawl.everyDays` after the crawl finished). */
  startDueRecrawls(): CrawlRecord[];
  /** The recrawls whose day has come, without starting them (a sharded fleet starts them through its crawls bucket). */
  dueRecrawls(): CrawlSpecInput[];
  crawl(id: string): CrawlRecord | undefined;
  crawls(): CrawlRecord[];
  /**
   * Leases due now, up to `capacity`; grouped with concurrent calls into one commit. With `waitMs`,
   * a request finding nothing due is held until something is, or the wait ends (a long poll).
   */
  lease(workerId: string, capacity: number, requestId?: string, waitMs?: number): Promise<LeaseRound>;
  /** A worker is stopping: its held lease requests are answered now, with no lease. */
  releaseWorker(workerId: string): void;
  /** Applies fetch results; grouped with concurrent calls into one commit. */
  report(workerId: string, results: FetchReport[]): Promise<ReportAnswer[]>;
  /** Extends active leases of a worker (long downloads); grouped into one commit. */
  renew(workerId: string, leaseIds: string[]): Promise<RenewAnswer[]>;
  /**
   * The first durable capture of a payload fetched under `leaseId`, if the lease's crawl (or a crawl
   * it dedups against) holds one; undefined when none does, or the lease is not `workerId`'s active one.
   */
  lookupDigest(
    workerId: string,
    leaseId: string,
    payloadDigest: string,
    waitMs?: number,
  ): Promise<DigestOriginal | undefined>;
  /** Expires leases whose time is up; returns how many. */
  expire(): number;
  /** Whether the frontier can be written; while it cannot, every change is refused with an UnavailableError. */
  health(): FrontierHealth;
  /** While commits fail: tries an empty one, so the frontier notices by itself when there is space again. */
  probe(): FrontierHealth;
  /** Deletes ended leases' audit records past the retention settings; returns how many. */
  pruneLeaseRecords(): number;
  url(crawlId: string, url: string): UrlRecord | undefined;
  urls(crawlId: string): Iterable<UrlRecord>;
  host(hostKey: string): HostState | undefined;
  /** When the host may next be leased; undefined when it is not scheduled (no queued work, or no room for a lease). */
  hostDueAtMs(hostKey: string): number | undefined;
  robots(origin: string): RobotsRecord | undefined;
  leaseRecord(leaseId: string): LeaseRecord | undefined;
  activeLeaseCount(): number;
  /** Pause, resume or cancel a crawl; throws NotFoundError or StateError. */
  changeCrawlState(crawlId: string, action: CrawlAction): CrawlRecord;
  addSeeds(crawlId: string, seeds: string[]): { added: number };
  /** A crawl's seeds from position `from` on, in the order they came (read lazily). */
  seeds(crawl: CrawlRecord, from: number): Iterable<{ url: string; position: number }>;
  /** Opt-outs and slow-downs for a host or domain, for every crawl, from the next lease on. */
  setHostPolicy(input: {
    pattern: string;
    mode: "block" | "slow";
    minDelayMs?: number;
    reason: string;
  }): HostPolicy;
  removeHostPolicy(pattern: string): boolean;
  hostPolicies(): HostPolicy[];
  /**
   * host -> operator host group, from every crawl's definition, in memory and kept current as crawls
   * are created; entries are only ever added, so its size says whether it changed.
   */
  hostGroups(): ReadonlyMap<string, string>;
  /** Read-only access for queries (admin listings, exports); every change goes through the methods above. */
  readonly store: FrontierStore;
  /** Sharded: queues URLs other shards found for this one, in one commit. */
  ingest(batch: InboundUrl[]): IngestResult;
  /** Sharded: the oldest URLs waiting for the URL stream. */
  outbox(limit: number): { key: number; entry: OutboxEntry }[];
  /** Sharded: forgets outbox entries the URL stream acknowledged. */
  dropOutbox(keys: number[]): void;
  /** Sharded: loads one batch of a partition range moving here from another shard (see range-move.ts). */
  importRange(items: RangeItem[], options: RangeImport): void;
  /** Sharded: deletes a batch of a range that moved to another shard. */
  dropRange(drops: RangeDrop[], done?: string): void;
  /** Sharded: notes (or clears) a move's progress in the frontier's own store. */
  setMoveMeta(key: string, value: number | undefined): void;
  /** Verifies the frontier's invariants (see check.ts). */
  check(): FrontierCheck;
  dataDir: string;
  /** Answers held lease requests (with nothing) and resolves once no lease or report commit is waiting or in flight (what a stopping shard counts must include them). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface FrontierOptions {
  dataDir: string;
  settings: FrontierSettings;
  log: Logger;
  clock?: () => number;
  observer?: FrontierObserver;
  /** Makes this a shard of a fleet: only its own hosts' URLs are kept, the others' go to the outbox. */
  shard?: FrontierShard;
}

/** How often a lookup waiting on another fetch's capture looks at the index again. */
const CLAIM_POLL_MS = 20;

function newCrawlId(): string {
  return `crawl-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/** Opens (or resumes) the frontier in `dataDir` and rebuilds its in-memory indexes from LMDB. */
export function openFrontier(options: FrontierOptions): Frontier {
  const store = openFrontierStore(options.dataDir);
  const ctx: FrontierContext = {
    store,
    observer: options.observer ?? NO_OBSERVER,
    schedule: createHostSchedule(),
    active: new Map(),
    seq: sequenceFrom(store.meta.get("seq") ?? 0),
    policies: new Map([...store.hostPolicies.getRange()].map((e) => [e.key, e.value])),
    hostGroups: new Map(),
    waiters: new Map(),
    recentGrants: new Map(),
    affinity: createHostAffinity({
      ...DEFAULT_AFFINITY,
      graceMs: options.settings.hostAffinityGraceMs ?? DEFAULT_AFFINITY.graceMs,
    }),
    health: { writable: true },
    settings: options.settings,
    clock: options.clock ?? Date.now,
    log: options.log,
    ...(options.shard !== undefined ? { shard: options.shard } : {}),
    ensureSpace: spaceGuard(options.dataDir),
  };
  indexDiscoveryOrder(store, ctx.seq);
  keepLargeValuesApart(store);
  for (const { value: spec } of store.crawlSpecs.getRange()) registerGroups(ctx, spec);
  rebuildIndexes(ctx);
  const batcher = createCommitBatcher(ctx);
  const claims: DigestClaims = new Map();

  return {
    dataDir: options.dataDir,
    createCrawl(input, createOptions = {}) {
      const spec = checkedCrawlSpec(input) as CrawlSpec;
      const id = spec.id ?? newCrawlId();
      if (store.crawls.doesExist(id)) throw new ConfigError("id", `a crawl named ${id} exists already`);
      for (const earlier of spec.dedup?.fromCrawls ?? []) {
        // A name that matches nothing would silently dedup against nothing.
        if (earlier === id)
          throw new ConfigError("dedup.fromCrawls", "names the crawl itself (see withinCrawl)");
        if (!store.crawls.doesExist(earlier))
          throw new ConfigError("dedup.fromCrawls", `no crawl named ${earlier} in this frontier`);
      }
      checkRecrawlOf(ctx, spec);
      const unread = ROBOTS_READINGS.filter((r) => !spec.politeness.robotsReadings.includes(r));
      if (unread.length > 0) {
        // The definition kept with the crawl says so too; this makes the choice visible when it is made.
        options.log.warn(
          { crawlId: id, robotsReadings: spec.politeness.robotsReadings, unread },
          "crawl reads robots.txt without some readings, as its definition asks",
        );
      }
      const created = inTxn(ctx, (txn) => {
        const crawl = txn.addCrawl({
          id,
          spec: { ...spec, id },
          state: "running",
          createdAtMs: txn.now,
          counts: { queued: 0, leased: 0, done: 0, failed: 0, skipped: 0 },
          pagesLeased: 0,
          bytes: 0,
          statusCounts: {},
          skipCounts: {},
          hosts: 0,
        });
        if (spec.recrawl?.of !== undefined) queueRecrawl(ctx, txn, crawl, spec.recrawl.of);
        if (createOptions.discoverSeeds !== false)
          for (const seed of spec.seeds) txn.discover(crawl, seed, 0);
        return crawl;
      });
      registerGroups(ctx, spec);
      return created;
    },
    startDueRecrawls() {
      return startDueRecrawls(ctx, (input) => this.createCrawl(input));
    },
    dueRecrawls() {
      const due: CrawlSpecInput[] = [];
      startDueRecrawls(ctx, (input) => {
        due.push(input);
        return undefined;
      });
      return due;
    },
    crawl: (id) => loadCrawl(store, id),
    crawls: () => [...store.crawls.getKeys()].flatMap((id) => loadCrawl(store, id) ?? []),
    lease: batcher.lease,
    releaseWorker: batcher.release,
    report: batcher.report,
    renew: batcher.renew,
    async lookupDigest(workerId, leaseId, payloadDigest, waitMs = CLAIM_WAIT_MS) {
      const lease = store.leases.get(leaseId);
      if (lease === undefined || lease.workerId !== workerId || lease.state !== "active") return undefined;
      const crawl = loadCrawl(store, lease.crawlId);
      if (crawl === undefined) return undefined;
      const found = lookupDigest(store, crawl, payloadDigest);
      if (found !== undefined || !dedupsWithin(crawl)) return found;
      const isActive = (id: string) => ctx.active.has(id);
      const other = claimDigest(claims, crawl.id, payloadDigest, leaseId, ctx.clock(), isActive);
      if (other === undefined) return undefined;
      // Another fetch is writing this payload now: its capture, once reported, saves storing a second copy.
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline && isActive(other)) {
        await sleep(CLAIM_POLL_MS);
        const reported = lookupDigest(store, crawl, payloadDigest);
        if (reported !== undefined) return reported;
      }
      const late = lookupDigest(store, crawl, payloadDigest);
      if (late === undefined) claimDigest(claims, crawl.id, payloadDigest, leaseId, ctx.clock(), () => false);
      return late;
    },
    expire: () => expireDue(ctx),
    health: () => ctx.health,
    probe() {
      if (!ctx.health.writable) {
        try {
          inTxn(ctx, () => undefined);
        } catch {
          // Still failing: inTxn logged the first failure and keeps the health up to date.
        }
      }
      return ctx.health;
    },
    pruneLeaseRecords: () => pruneLeaseRecords(ctx),
    url: (crawlId, url) => store.urls.get([crawlId, urlHashOf(url)]),
    urls: (crawlId) =>
      mapIter(store.urls.getRange({ start: [crawlId], end: [`${crawlId}\u0000`] }), (e) => e.value),
    host: (hostKey) => store.hosts.get(hostKey),
    hostDueAtMs: (hostKey) => ctx.schedule.dueAt(hostKey),
    robots: (origin) => readRobots(store, origin),
    leaseRecord: (leaseId) => store.leases.get(leaseId),
    activeLeaseCount: () => ctx.active.size,
    check: () => checkFrontier(store),
    importRange: (items, importOptions) => importRange(ctx, items, importOptions),
    dropRange: (drops, done) => dropRange(ctx, drops, done),
    setMoveMeta: (key, value) => setMoveMeta(ctx, key, value),
    ingest: (batch) => ingestUrls(ctx, batch),
    outbox: (limit) => outboxBatch(ctx, limit),
    dropOutbox: (keys) => dropOutbox(ctx, keys),
    changeCrawlState: (crawlId, action) => changeCrawlState(ctx, crawlId, action),
    addSeeds: (crawlId, seeds) => addSeeds(ctx, crawlId, seeds),
    seeds: (crawl, from) => seedsFrom(store, crawl, from),
    setHostPolicy: (input) => setHostPolicy(ctx, input),
    removeHostPolicy: (pattern) => removeHostPolicy(ctx, pattern),
    hostPolicies: () => [...ctx.policies.values()],
    hostGroups: () => ctx.hostGroups,
    store,
    settle: () => batcher.drain(),
    close: async () => {
      await batcher.drain();
      return store.close();
    },
  };
}

/** Host groups are facts about servers, so every crawl's groups apply fleet-wide; a host's first group wins. */
function registerGroups(ctx: FrontierContext, spec: CrawlSpec): void {
  for (const g of spec.politeness.hostGroups) {
    for (const h of g.hosts) {
      const host = h.trim().toLowerCase().replace(/\.+$/, "");
      if (!ctx.hostGroups.has(host)) ctx.hostGroups.set(host, g.name);
    }
  }
}

function* mapIter<A, B>(it: Iterable<A>, f: (a: A) => B): Iterable<B> {
  for (const a of it) yield f(a);
}

/**
 * After a restart: active leases back into memory, every host with queued work back into the
 * schedule. At a million hosts this is most of a restart, so it reads each such host once, in key
 * order, and builds the schedule in one go.
 */
function rebuildIndexes(ctx: FrontierContext): void {
  const now = ctx.clock();
  for (const { key, value } of ctx.store.activeLeases.getRange()) ctx.active.set(key, value);
  ctx.schedule = createHostSchedule(dueHosts(ctx.store, now));
  ctx.log.info(
    { activeLeases: ctx.active.size, scheduledHosts: ctx.schedule.size },
    "frontier indexes rebuilt",
  );
}

function* dueHosts(store: FrontierStore, now: number): Generator<[string, number]> {
  for (const hostKey of hostsWithQueued(store)) {
    const host = store.hosts.get(hostKey);
    const due = host === undefined ? undefined : dueMs(host, now);
    if (due !== undefined) yield [hostKey, due];
  }
}

export type { FrontierStore };

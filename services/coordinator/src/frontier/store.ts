import { existsSync, mkdirSync } from "node:fs";
import { type CrawlSpec, errorMessage, SetupError } from "@heed/shared";
import { type Database, type Key, open, type RootDatabase } from "lmdb";
import type {
  CrawlCounters,
  CrawlHostState,
  CrawlRecord,
  DigestEntry,
  HostPolicy,
  HostState,
  LeaseRecord,
  OutboxEntry,
  QueueKey,
  RobotsRecord,
  StoredRobots,
  TdmRecord,
  UrlRecord,
} from "./records.js";

/** The LMDB frontier: every durable fact the coordinator needs to resume lives here. */
export interface FrontierStore {
  root: RootDatabase;
  crawls: Database<CrawlCounters, string>;
  /** crawlId -> definition (with the seeds it was created with), written once; JSON (see `plain`). */
  crawlSpecs: Database<CrawlSpec, string>;
  /** [crawlId, n] -> URL: seeds added after creation, in the order they were added (see seeds.ts). */
  addedSeeds: Database<string, [string, number]>;
  /** [crawlId, urlHash] -> n: which URLs are added seeds already, so adding one again is a no-op. */
  addedSeedUrls: Database<number, [string, string]>;
  /** [crawlId, hostname] -> 1: the added seeds' hosts, which join the crawl's scope. */
  addedSeedHosts: Database<number, [string, string]>;
  /** [crawlId, urlHash] -> URL record. */
  urls: Database<UrlRecord, [string, string]>;
  /** [crawlId, seq] -> urlHash: each crawl's URLs in the order they were discovered (export order). */
  discovery: Database<string, [string, number]>;
  /** [hostKey, depth, seq] -> [crawlId, urlHash]: per-host queues, breadth first. */
  queue: Database<[string, string], QueueKey>;
  hosts: Database<HostState, string>;
  /** origin -> robots policy and its retry state, without its text; read and write through `readRobots` and `writeRobots`. */
  robots: Database<StoredRobots, string>;
  /** origin -> the robots.txt text in force, apart from its record (see `writeRobots`). */
  robotsTexts: Database<string, string>;
  leases: Database<LeaseRecord, string>;
  /** [crawlId, endedAtMs, leaseId] -> 1: ended lease records in the order they ended, for retention. */
  endedLeases: Database<number, EndedLeaseKey>;
  /** leaseId -> expiry, for leases not yet reported or expired: rebuilt into memory at start. */
  activeLeases: Database<number, string>;
  /** [crawlId, hostKey] -> first seen: the hosts each crawl touched. */
  crawlHosts: Database<CrawlHostState, [string, string]>;
  /** origin -> TDM reservations, for crawls that honour them. */
  tdm: Database<TdmRecord, string>;
  /** host or domain -> operator policy (opt-outs and slow-downs). */
  hostPolicies: Database<HostPolicy, string>;
  /** [crawlId, payloadDigest] -> first durable capture of that payload: the revisit index. */
  digests: Database<DigestEntry, [string, string]>;
  /**
   * [crawlId, urlHash] -> a fetched page's links that lay past the depth limit, followed if a
   * shorter path to it turns up. JSON, as a page can have thousands (see `plain`).
   */
  pastDepth: Database<string[], [string, string]>;
  /** seq -> a URL for another shard, until the URL stream acknowledged it (sharded frontiers only). */
  outbox: Database<OutboxEntry, number>;
  meta: Database<number, string>;
  /**
   * After a failed commit: record structures first used in it were never stored, so every table
   * reloads its structures from LMDB before it encodes or decodes again.
   */
  forgetUncommittedStructures(): void;
  close(): Promise<void>;
}

/** Where each table keeps its record structures (lmdb-js leaves this key out of range reads). */
const STRUCTURES = Symbol.for("structures");

/** msgpackr's mark for structures to load from the store before next use. */
function forgetStructures(table: Database): void {
  const encoder = (table as unknown as { encoder?: { structures?: unknown[] } }).encoder;
  if (encoder?.structures === undefined) return;
  const fresh: unknown[] & { uninitialized?: boolean; sharedLength?: number } = [];
  fresh.uninitialized = true;
  fresh.sharedLength = 0;
  encoder.structures = fresh;
}

export type EndedLeaseKey = [crawlId: string, endedAtMs: number, leaseId: string];

export function openFrontierStore(dataDir: string, options: { readOnly?: boolean } = {}): FrontierStore {
  let root: RootDatabase;
  const path = `${dataDir}/frontier.lmdb`;
  if (options.readOnly && !existsSync(path)) {
    throw new SetupError("HEED_DATA_DIR", `no frontier in ${dataDir} (expected ${path})`);
  }
  try {
    if (!options.readOnly) mkdirSync(dataDir, { recursive: true });
    // The map is address space, not memory or disk (the file grows as it is written): room for
    // tens of millions of URLs (about 1 KB each with their queue and discovery entries).
    // No event-turn batching: the frontier batches its own commits (commit-batch.ts), and lmdb-js's
    // batch start holds a commit promise nothing awaits, which rejects unhandled when a commit fails.
    root = open({
      path,
      maxDbs: 32,
      mapSize: 2 ** 38,
      eventTurnBatching: false,
      ...(options.readOnly ? { readOnly: true } : {}),
    });
  } catch (err) {
    throw new SetupError("HEED_DATA_DIR", `cannot open the frontier in ${dataDir}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const tables: Database[] = [];
  // Shared structures: a record's field names are stored once per table, not in every value, so
  // records are about 40 % smaller and decode several times faster (the lease path's hottest reads).
  // Values written without them (older frontiers) still decode as they are.
  const db = <V, K extends Key>(name: string) => {
    const table = msgpackTable<V, K>(root, name);
    tables.push(table as unknown as Database);
    return table;
  };
  /**
   * Values that can be large stay out of msgpackr: it packs every table's values into one buffer
   * shared by the process, and a value of more than about 20 KB grows that buffer; once records
   * have been packed into the grown buffer, every record after packs about 3x slower for the life
   * of the process, and swapping in a small buffer again does not undo it (measured: URL records
   * 3.4 → 10 µs, leases 1.8 → 8 µs; the coordinator's CPU per lease 20-25 % higher). A definition
   * carries its seeds and can be megabytes; a robots.txt can be 500 KiB; a page's links past the
   * depth limit can be thousands. Frontiers written before move theirs at open (large-values.ts).
   */
  const plain = <V, K extends Key>(name: string, encoding: "json" | "string") =>
    root.openDB<V, K>({ name, encoding, cache: false });
  return {
    root,
    forgetUncommittedStructures: () => {
      for (const table of tables) forgetStructures(table);
    },
    crawls: db<CrawlCounters, string>("crawls"),
    // Read-only, a table the coordinator has not created opens as undefined (the reader's `ready`):
    // a frontier no coordinator has opened since definitions went to JSON has them in the old table.
    crawlSpecs:
      (plain<CrawlSpec, string>("crawl-definitions", "json") as Database<CrawlSpec, string> | undefined) ??
      msgpackTable<CrawlSpec, string>(root, OLDER_TABLES.crawlSpecs),
    addedSeeds: db<string, [string, number]>("added-seeds"),
    addedSeedUrls: db<number, [string, string]>("added-seed-urls"),
    addedSeedHosts: db<number, [string, string]>("added-seed-hosts"),
    urls: db<UrlRecord, [string, string]>("urls"),
    discovery: db<string, [string, number]>("discovery"),
    queue: db<[string, string], QueueKey>("queue"),
    hosts: db<HostState, string>("hosts"),
    robots: db<StoredRobots, string>("robots"),
    robotsTexts: plain<string, string>("robots-texts", "string"),
    leases: db<LeaseRecord, string>("leases"),
    endedLeases: db<number, EndedLeaseKey>("ended-leases"),
    activeLeases: db<number, string>("active-leases"),
    crawlHosts: db<CrawlHostState, [string, string]>("crawl-hosts"),
    hostPolicies: db<HostPolicy, string>("host-policies"),
    tdm: db<TdmRecord, string>("tdm"),
    digests: db<DigestEntry, [string, string]>("digests"),
    pastDepth: plain<string[], [string, string]>("past-depth-links", "json"),
    outbox: db<OutboxEntry, number>("outbox"),
    meta: db<number, string>("meta"),
    close: () => root.close(),
  };
}

/** A table as every msgpack table is opened, its records' field names shared (see `db` above). */
export function msgpackTable<V, K extends Key>(root: RootDatabase, name: string): Database<V, K> {
  return root.openDB<V, K>({ name, encoding: "msgpack", cache: false, sharedStructuresKey: STRUCTURES });
}

/** Where frontiers written before `plain` tables kept their large values, through msgpackr. */
export const OLDER_TABLES = { crawlSpecs: "crawl-specs", pastDepth: "past-depth" } as const;

export function robotsWithText(store: FrontierStore, stored: StoredRobots): RobotsRecord {
  return { ...stored, text: store.robotsTexts.get(stored.origin) ?? "" };
}

export function readRobots(store: FrontierStore, origin: string): RobotsRecord | undefined {
  const stored = store.robots.get(origin);
  return stored === undefined ? undefined : robotsWithText(store, stored);
}

/**
 * In a write transaction. The record changes with every robots lease and retry, the text only
 * with a new answer, and its digest with it: the text is written only then.
 */
export function writeRobots(store: FrontierStore, rec: RobotsRecord): void {
  const { text, ...rest } = rec;
  const textChanged = store.robots.get(rec.origin)?.digest !== rec.digest;
  store.robots.putSync(rec.origin, rest);
  if (!textChanged) return;
  if (text === "") store.robotsTexts.removeSync(rec.origin);
  else store.robotsTexts.putSync(rec.origin, text);
}

export function removeRobots(store: FrontierStore, origin: string): void {
  store.robots.removeSync(origin);
  store.robotsTexts.removeSync(origin);
}

// Definitions never change once written, so one decoded copy per crawl serves every transaction
// (and keeps per-crawl derived data, such as the scope matcher, alive).
const specCache = new WeakMap<FrontierStore, Map<string, CrawlSpec>>();

export function loadCrawl(store: FrontierStore, id: string): CrawlRecord | undefined {
  const counters = store.crawls.get(id);
  if (counters === undefined) return undefined;
  let cache = specCache.get(store);
  if (cache === undefined) {
    cache = new Map();
    specCache.set(store, cache);
  }
  let spec = cache.get(id);
  if (spec === undefined) {
    spec = store.crawlSpecs.get(id);
    if (spec === undefined) return undefined;
    cache.set(id, spec);
  }
  return { ...counters, spec };
}

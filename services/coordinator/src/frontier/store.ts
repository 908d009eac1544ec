import { existsSync, mkdirSync } from "node:fs";
import { type CrawlSpec, errorMessage, SetupError } from "@heed/shared";
import { type Database, open, type RootDatabase } from "lmdb";
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
  /** crawlId -> definition (with the seeds it was created with), written once; JSON, see `openSpecs`. */
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
  /** origin -> robots policy and its retry state; read and write through `readRobots` and `writeRobots`. */
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
   * shorter path to it turns up. JSON, as a page can have thousands (see `openSpecs`); read and
   * remove through `pastDepthLinks` and `dropPastDepthLinks`, which know the older msgpack table.
   */
  pastDepth: Database<string[], [string, string]>;
  legacyPastDepth: Database<string[], [string, string]>;
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
  const db = <V, K extends import("lmdb").Key>(name: string) => {
    const table = root.openDB<V, K>({
      name,
      encoding: "msgpack",
      cache: false,
      sharedStructuresKey: STRUCTURES,
    });
    tables.push(table as unknown as Database);
    return table;
  };
  // Tables for values that can be large, kept apart from msgpackr (see `openSpecs`).
  const plain = <V, K extends import("lmdb").Key>(name: string, encoding: "json" | "string") =>
    root.openDB<V, K>({ name, encoding, cache: false });
  return {
    root,
    forgetUncommittedStructures: () => {
      for (const table of tables) forgetStructures(table);
    },
    crawls: db<CrawlCounters, string>("crawls"),
    crawlSpecs: openSpecs(root, options.readOnly === true, db<CrawlSpec, string>(LEGACY_SPECS)),
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
    legacyPastDepth: db<string[], [string, string]>("past-depth"),
    outbox: db<OutboxEntry, number>("outbox"),
    meta: db<number, string>("meta"),
    close: () => root.close(),
  };
}

/** Where frontiers before the JSON table kept definitions, through msgpackr like the other tables. */
const LEGACY_SPECS = "crawl-specs";

/**
 * Crawl definitions are stored as JSON, apart from msgpackr. Large values stay out of msgpackr:
 * it packs every table's values into one buffer shared by the process, and a value of more than
 * about 20 KB grows that buffer; once records have been packed into the grown buffer, every record
 * after packs about 3x slower for the life of the process, and swapping in a small buffer again
 * does not undo it (measured: URL records 3.4 → 10 µs, leases 1.8 → 8 µs; the coordinator's CPU per
 * lease 20-25 % higher). A definition carries its seeds and can be megabytes; a robots.txt can be
 * 500 KiB; a page's links past the depth limit can be thousands. A frontier written before this
 * table existed has its definitions moved here when a coordinator opens it; a read-only opener
 * of such a frontier reads the old table.
 */
function openSpecs(
  root: RootDatabase,
  readOnly: boolean,
  legacy: Database<CrawlSpec, string>,
): Database<CrawlSpec, string> {
  // Read-only, a table the coordinator has not created opens as undefined (the reader's `ready`).
  const specs: Database<CrawlSpec, string> | undefined = root.openDB<CrawlSpec, string>({
    name: "crawl-definitions",
    encoding: "json",
    cache: false,
  });
  if (readOnly) return specs ?? legacy;
  if (legacy.getKeysCount() > 0) {
    root.transactionSync(() => {
      for (const { key, value } of legacy.getRange()) {
        if (specs.get(key) === undefined) specs.putSync(key, value);
      }
      legacy.clearSync();
    });
  }
  return specs;
}

export function robotsWithText(store: FrontierStore, stored: StoredRobots): RobotsRecord {
  if (stored.text !== undefined) return stored as RobotsRecord;
  return { ...stored, text: store.robotsTexts.get(stored.origin) ?? "" };
}

export function readRobots(store: FrontierStore, origin: string): RobotsRecord | undefined {
  const stored = store.robots.get(origin);
  return stored === undefined ? undefined : robotsWithText(store, stored);
}

/**
 * In a write transaction. The record changes with every robots lease and retry, the text only
 * with a new answer: it is written only then.
 */
export function writeRobots(store: FrontierStore, rec: RobotsRecord): void {
  const { text, ...rest } = rec;
  store.robots.putSync(rec.origin, rest);
  if (text === "") store.robotsTexts.removeSync(rec.origin);
  else if (store.robotsTexts.get(rec.origin) !== text) store.robotsTexts.putSync(rec.origin, text);
}

export function removeRobots(store: FrontierStore, origin: string): void {
  store.robots.removeSync(origin);
  store.robotsTexts.removeSync(origin);
}

export function pastDepthLinks(store: FrontierStore, key: [string, string]): string[] | undefined {
  return store.pastDepth.get(key) ?? store.legacyPastDepth.get(key);
}

export function dropPastDepthLinks(store: FrontierStore, key: [string, string]): void {
  store.pastDepth.removeSync(key);
  store.legacyPastDepth.removeSync(key);
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

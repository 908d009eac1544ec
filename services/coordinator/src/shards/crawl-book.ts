import { randomBytes } from "node:crypto";
import {
  AlreadyExistsError,
  CRAWLS_BUCKET,
  type CrawlSpec,
  type CrawlSpecInput,
  canonicalizeUrl,
  checkedCrawlSpec,
  errorMessage,
  type Logger,
  NotFoundError,
  openReplicatedBucket,
  parseCrawlSpec,
  StateError,
  sleep,
  UnavailableError,
  urlSubject,
} from "@heed/shared";
import type { JetStreamClient, KV, KvEntry } from "nats";
import type { Frontier } from "../frontier/frontier.js";
import type { CrawlAction } from "../frontier/operator.js";
import type { CrawlRecord } from "../frontier/records.js";
import { seedMessageId } from "./url-stream.js";

/** How long a create or a state change waits for this shard to have applied it. */
const APPLY_WAIT_MS = 10_000;
/** How often the wanted states are applied again (a crawl that ran again here after finishing). */
const RECONCILE_MS = 1000;

type BookState = "running" | "paused" | "cancelled";

/** One crawl as the book holds it. */
interface BookEntry {
  spec: CrawlSpec;
  state: BookState;
  /** The shard it was created on: that shard routes its seeds. */
  origin: string;
  updatedAtMs: number;
}

export interface CrawlBook {
  /** Creates a crawl on every shard; resolves with this shard's record of it. */
  create(input: CrawlSpecInput): Promise<CrawlRecord>;
  /** Pauses, resumes or cancels a crawl on every shard; resolves with this shard's record. */
  change(crawlId: string, action: CrawlAction): Promise<CrawlRecord>;
  /**
   * Adds seeds to a running crawl on every shard: each records them (their
   * hosts join the crawl's scope there) and the owner of each queues it.
   * Resolves once the URL stream holds them for every other shard; adding a
   * seed again is harmless, so a call that failed can be repeated.
   */
  addSeeds(crawlId: string, seeds: string[]): Promise<{ added: number }>;
  close(): Promise<void>;
}

function newCrawlId(): string {
  return `crawl-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

const STATE_AFTER: Record<CrawlAction, BookState> = {
  pause: "paused",
  resume: "running",
  cancel: "cancelled",
};

/**
 * The fleet's crawls in the `heed-crawls` bucket: a create or a state change is
 * written there (revision-checked), and every shard, this one too, applies
 * what it watches to its own frontier. Only the shard a crawl was created on
 * queues its seeds; each seed of another shard travels on the URL stream.
 */
export async function openCrawlBook(options: {
  js: JetStreamClient;
  shardId: string;
  frontier: Frontier;
  /** Copies JetStream keeps of the bucket. */
  replicas: number;
  /** Every shard of the fleet (the map's), this one too. */
  shardIds: () => string[];
  log: Logger;
}): Promise<CrawlBook> {
  const { js, shardId, frontier, log } = options;
  const kv: KV = await openReplicatedBucket(js, CRAWLS_BUCKET, { history: 5 }, options.replicas);
  const wanted = new Map<string, BookEntry>();

  function apply(id: string, entry: BookEntry): void {
    try {
      if (frontier.crawl(id) === undefined) {
        frontier.createCrawl({ ...entry.spec, id }, { discoverSeeds: entry.origin === shardId });
        log.info({ crawlId: id, origin: entry.origin }, "crawl from the fleet applied");
      }
      const local = frontier.crawl(id);
      if (local === undefined) return;
      const action = actionToward(local.state, entry.state);
      if (action !== undefined) frontier.changeCrawlState(id, action);
    } catch (err) {
      log.error({ crawlId: id, err: errorMessage(err) }, "cannot apply the fleet's crawl here");
    }
  }

  const watch = await kv.watch({ key: ">" });
  const watching = (async () => {
    for await (const e of watch) {
      if (e.operation !== "PUT") {
        wanted.delete(e.key);
        continue;
      }
      const entry = decodeEntry(e, log);
      if (entry === undefined) continue;
      wanted.set(e.key, entry);
      apply(e.key, entry);
    }
  })();
  const reconcile = setInterval(() => {
    for (const [id, entry] of wanted) apply(id, entry);
  }, RECONCILE_MS);
  reconcile.unref();

  async function applied(id: string, done: (c: CrawlRecord) => boolean): Promise<CrawlRecord> {
    const deadline = Date.now() + APPLY_WAIT_MS;
    for (;;) {
      const local = frontier.crawl(id);
      if (local !== undefined && done(local)) return local;
      if (Date.now() > deadline)
        throw new UnavailableError(
          "HEED_SHARD_APPLY",
          `crawl ${id} was written for the fleet but not applied here yet`,
        );
      await sleep(20);
    }
  }

  return {
    async create(input) {
      const spec = checkedCrawlSpec(input);
      const id = spec.id ?? newCrawlId();
      const entry: BookEntry = {
        spec: { ...spec, id },
        state: "running",
        origin: shardId,
        updatedAtMs: Date.now(),
      };
      try {
        await kv.create(id, encodeEntry(entry));
      } catch (err) {
        if (/wrong last sequence|exists/i.test(errorMessage(err)))
          throw new AlreadyExistsError(`a crawl named ${id} exists already`);
        throw err;
      }
      return applied(id, () => true);
    },
    async change(crawlId, action) {
      for (;;) {
        const e = await kv.get(crawlId);
        const entry = e !== null && e.operation === "PUT" ? decodeEntry(e, log) : undefined;
        if (e === null || entry === undefined) throw new NotFoundError(`no crawl ${crawlId}`);
        const to = STATE_AFTER[action];
        if (entry.state === "cancelled")
          throw new StateError(`crawl ${crawlId} is cancelled; it cannot ${action}`);
        if (action === "pause" && entry.state !== "running")
          throw new StateError(`crawl ${crawlId} is ${entry.state}, not running`);
        if (action === "resume" && entry.state !== "paused")
          throw new StateError(`crawl ${crawlId} is ${entry.state}, not paused`);
        try {
          await kv.update(crawlId, encodeEntry({ ...entry, state: to, updatedAtMs: Date.now() }), e.revision);
        } catch (err) {
          // Changed meanwhile by another shard: read again and decide again.
          if (/wrong last sequence/i.test(errorMessage(err))) continue;
          throw err;
        }
        return applied(crawlId, (c) => c.state === to || c.state === "finished" || c.state === "cancelled");
      }
    },
    async addSeeds(crawlId, seeds) {
      // Checked, recorded here and routed to their owners as links are; then told to every other shard.
      const { added } = frontier.addSeeds(crawlId, seeds);
      const urls = seeds.map((s) => canonicalizeUrl(s));
      const others = options.shardIds().filter((id) => id !== shardId);
      const messages = others.flatMap((target) => urls.map((url) => ({ target, url })));
      for (let i = 0; i < messages.length; i += SEED_PUBLISH_BATCH) {
        await Promise.all(
          messages.slice(i, i + SEED_PUBLISH_BATCH).map(({ target, url }) =>
            js.publish(urlSubject(target), encodeSeed(crawlId, url), {
              msgID: seedMessageId(target, crawlId, url),
            }),
          ),
        );
      }
      return { added };
    },
    async close() {
      clearInterval(reconcile);
      watch.stop();
      await watching;
    },
  };
}

/** The change that brings this shard's crawl to the fleet's wanted state; a finished one stays finished. */
function actionToward(local: CrawlRecord["state"], want: BookState): CrawlAction | undefined {
  if (want === "cancelled") return local === "cancelled" ? undefined : "cancel";
  if (want === "paused") return local === "running" ? "pause" : undefined;
  return local === "paused" ? "resume" : undefined;
}

/** Seed messages published at once, each acknowledged by JetStream before the call answers. */
const SEED_PUBLISH_BATCH = 256;

function encodeSeed(crawlId: string, url: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ crawlId, url, depth: 0, seed: true }));
}

function encodeEntry(entry: BookEntry): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(entry));
}

/** What the bucket holds is checked like any crawl definition: it may have been written by another version. */
function decodeEntry(e: KvEntry, log: Logger): BookEntry | undefined {
  try {
    const raw = e.json<Record<string, unknown>>();
    const state = raw.state;
    if (state !== "running" && state !== "paused" && state !== "cancelled")
      throw new Error(`state ${String(state)}`);
    if (typeof raw.origin !== "string") throw new Error("no origin");
    const spec = parseCrawlSpec(raw.spec);
    return {
      spec: { ...spec, id: e.key },
      state,
      origin: raw.origin,
      updatedAtMs: typeof raw.updatedAtMs === "number" ? raw.updatedAtMs : 0,
    };
  } catch (err) {
    log.error(
      { crawlId: e.key, err: errorMessage(err) },
      "crawl in the fleet's bucket that cannot be read; ignoring it",
    );
    return undefined;
  }
}

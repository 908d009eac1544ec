import {
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type KvEntry,
  type KvOptions,
  type NatsConnection,
  type QueuedIterator,
  StorageType,
} from "nats";
import { errorMessage, SetupError, UnavailableError } from "../errors.js";
import { decodeShardMap, type ShardMap } from "./map.js";
import {
  DEFAULT_OWNERSHIP_TIMEOUT_MS,
  decodeShardMember,
  MAP_BUCKET,
  MAP_KEY,
  MEMBERS_BUCKET,
  type ShardMember,
} from "./members.js";

/** JetStream, or a setup error that says how to get it. */
export async function requireJetStream(nc: NatsConnection): Promise<JetStreamClient> {
  try {
    await (await nc.jetstreamManager()).getAccountInfo();
  } catch (err) {
    throw new SetupError(
      "HEED_JETSTREAM_MISSING",
      `sharded mode needs NATS JetStream: run nats-server with -js (and -sd DIR for its store): ${errorMessage(err)}`,
      { cause: err },
    );
  }
  return nc.jetstream();
}

/** Asking for more copies than the NATS cluster has JetStream servers: a setup error that says what to do. */
export function replicasError(stream: string, replicas: number, err: unknown): SetupError {
  return new SetupError(
    "HEED_JETSTREAM_REPLICAS",
    `cannot keep ${replicas} copies of JetStream stream ${stream}: jetstreamReplicas needs a NATS cluster ` +
      `with at least that many JetStream servers (1 on a single nats-server): ${errorMessage(err)}`,
    { cause: err },
  );
}

/**
 * Brings an existing stream (a bucket is one too) to the configured number of
 * copies: a fleet that moved onto a NATS cluster keeps what it made before,
 * now replicated.
 */
export async function holdReplicas(jsm: JetStreamManager, stream: string, replicas: number): Promise<void> {
  const info = await jsm.streams.info(stream);
  if ((info.config.num_replicas || 1) === replicas) return;
  try {
    await jsm.streams.update(stream, { num_replicas: replicas });
  } catch (err) {
    throw replicasError(stream, replicas, err);
  }
}

/** A KV bucket with `replicas` copies, created so or brought to them. */
export async function openReplicatedBucket(
  js: JetStreamClient,
  name: string,
  options: Partial<KvOptions>,
  replicas: number,
): Promise<KV> {
  let kv: KV;
  try {
    kv = await js.views.kv(name, { ...options, replicas }).catch((first: unknown) =>
      // Shards start together: another may create the bucket at the same moment, and the server
      // then answers "already in use" or "subjects overlap". Opened again, it is there; if not, the
      // first answer is the one that says why.
      js.views.kv(name, { ...options, replicas }).catch(() => Promise.reject(first)),
    );
  } catch (err) {
    throw replicas > 1 && /replica|cluster/i.test(errorMessage(err))
      ? replicasError(`KV_${name}`, replicas, err)
      : err;
  }
  await holdReplicas(await js.jetstreamManager(), (await kv.status()).streamInfo.config.name, replicas);
  return kv;
}

/**
 * The members bucket, created with the ownership timeout as its TTL, or
 * brought to it: a shard's key outlives its last put by exactly that long.
 */
export async function openMembersBucket(
  nc: NatsConnection,
  ownershipTimeoutMs = DEFAULT_OWNERSHIP_TIMEOUT_MS,
  replicas = 1,
): Promise<KV> {
  const js = await requireJetStream(nc);
  const kv = await openReplicatedBucket(
    js,
    MEMBERS_BUCKET,
    { ttl: ownershipTimeoutMs, history: 1, storage: StorageType.File },
    replicas,
  );
  const status = await kv.status();
  if (status.ttl !== ownershipTimeoutMs) {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.update(status.streamInfo.config.name, { max_age: ownershipTimeoutMs * 1_000_000 });
  }
  return kv;
}

/** The map bucket: no TTL, a short history so an operator can see the last changes. */
export async function openMapBucket(nc: NatsConnection, replicas = 1): Promise<KV> {
  return openReplicatedBucket(
    await requireJetStream(nc),
    MAP_BUCKET,
    { history: 8, storage: StorageType.File },
    replicas,
  );
}

export interface ShardFleet {
  /** Members whose record has not outlived the bucket's TTL, sorted by id. */
  members(nowMs?: number): ShardMember[];
  member(shardId: string, nowMs?: number): ShardMember | undefined;
  /** The current map and its KV revision, once one exists. */
  map(): { map: ShardMap; revision: number } | undefined;
  /** Called after every change seen (a member put, removal or expiry, a map change); returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  readonly ownershipTimeoutMs: number;
  stop(): Promise<void>;
}

interface SeenMember {
  member: ShardMember;
  /** Server time of the put: the key expires ttl after it, without a notification to watchers. */
  putAtMs: number;
}

/**
 * Members and map, kept current by KV watches: the one reader coordinators
 * and workers share. Resolves once both watches have delivered the current
 * values. Fails with HEED_SHARD_FLEET_MISSING when no sharded fleet has
 * created its buckets on this server (workers then stay unsharded).
 */
export async function watchShardFleet(
  nc: NatsConnection,
  options: { onError?: (err: Error) => void } = {},
): Promise<ShardFleet> {
  const js = await requireJetStream(nc);
  let membersKv: KV;
  let mapKv: KV;
  let ttlMs: number;
  try {
    // Bind only: a reader must never create a bucket, least of all the members bucket without its TTL.
    membersKv = await js.views.kv(MEMBERS_BUCKET, { bindOnly: true });
    mapKv = await js.views.kv(MAP_BUCKET, { bindOnly: true });
    ttlMs = (await membersKv.status()).ttl;
    await mapKv.status();
  } catch (err) {
    throw new UnavailableError(
      "HEED_SHARD_FLEET_MISSING",
      `no sharded fleet on this NATS: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  const seen = new Map<string, SeenMember>();
  let current: { map: ShardMap; revision: number } | undefined;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  const report = (err: unknown) => options.onError?.(err instanceof Error ? err : new Error(String(err)));

  // A key that expires sends watchers nothing: a timer per member says when it is gone.
  const expiries = new Map<string, ReturnType<typeof setTimeout>>();
  const forget = (key: string) => {
    clearTimeout(expiries.get(key));
    expiries.delete(key);
    seen.delete(key);
  };
  const onMember = (entry: KvEntry) => {
    if (entry.operation !== "PUT") forget(entry.key);
    else
      try {
        const putAtMs = entry.created.getTime();
        seen.set(entry.key, { member: decodeShardMember(entry.value), putAtMs });
        clearTimeout(expiries.get(entry.key));
        const timer = setTimeout(
          () => {
            expiries.delete(entry.key);
            notify();
          },
          Math.max(0, putAtMs + ttlMs - Date.now()) + 1,
        );
        timer.unref?.();
        expiries.set(entry.key, timer);
      } catch (err) {
        // A record this version cannot read is not a member it could talk to.
        forget(entry.key);
        report(err);
      }
  };
  const onMap = (entry: KvEntry) => {
    if (entry.key !== MAP_KEY) return;
    if (entry.operation !== "PUT") current = undefined;
    else
      try {
        current = { map: decodeShardMap(entry.value), revision: entry.revision };
      } catch (err) {
        // Keep the last good map: acting on no map would stop every shard.
        report(err);
      }
  };

  const follow = async (kv: KV, apply: (e: KvEntry) => void): Promise<QueuedIterator<KvEntry>> => {
    let initialized!: () => void;
    const ready = new Promise<void>((resolve) => {
      initialized = resolve;
    });
    const watch = await kv.watch({ initializedFn: () => initialized() });
    void (async () => {
      for await (const entry of watch) {
        apply(entry);
        notify();
      }
    })().catch(report);
    await ready;
    return watch;
  };
  const watches = [await follow(membersKv, onMember), await follow(mapKv, onMap)];

  const live = (nowMs: number) =>
    [...seen.values()].filter((s) => nowMs - s.putAtMs < ttlMs).map((s) => s.member);
  return {
    ownershipTimeoutMs: ttlMs,
    members: (nowMs = Date.now()) => live(nowMs).sort((a, b) => a.shardId.localeCompare(b.shardId)),
    member: (shardId, nowMs = Date.now()) => live(nowMs).find((m) => m.shardId === shardId),
    map: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      listeners.clear();
      for (const timer of expiries.values()) clearTimeout(timer);
      expiries.clear();
      for (const watch of watches) watch.stop();
    },
  };
}

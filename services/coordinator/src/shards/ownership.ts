import { performance } from "node:perf_hooks";
import {
  encodeShardMember,
  errorMessage,
  type Logger,
  MEMBERS_BUCKET,
  openMapBucket,
  openMembersBucket,
  PARTITIONS,
  partitionOwners,
  type ShardFleet,
  type ShardMap,
  type ShardMember,
  StateError,
  watchShardFleet,
} from "@heed/shared";
import type { KV, NatsConnection } from "nats";
import { ensureShardMap, isRevisionConflict } from "./map-store.js";

/**
 * A shard's claim on its partitions. The member record is put every ttl/3
 * into a bucket whose TTL is the ownership timeout; the shard issues leases
 * for a partition only while the map gives it that partition AND its last
 * acknowledged put was sent less than ttl − ttl/3 ago by this process's
 * monotonic clock. The key expires no earlier than ttl after that send, so a
 * shard cut off from NATS stops issuing at least ttl/3 before any other shard
 * may treat it as gone. A partition gained from another shard while running
 * waits out the longest lease lifetime first.
 */
export interface ShardOwnership {
  readonly shardId: string;
  /** The one question the lease path asks: array lookup and one comparison. */
  owns(partition: number, nowMono?: number): boolean;
  /** Whether the membership is fresh enough to issue leases at all. */
  fresh(nowMono?: number): boolean;
  /** The map as last seen, and its KV revision. */
  map(): { map: ShardMap; revision: number } | undefined;
  /** The fleet as seen by this shard (members and map). */
  readonly fleet: ShardFleet;
  /** Monotonic time (performance.now()) the last acknowledged member put was sent; -Infinity before the first. */
  lastAckedPutMono(): number;
  readonly mapBucket: KV;
  /** Stops renewing (the key then expires) and watching. */
  stop(): Promise<void>;
}

export interface ShardOwnershipOptions {
  nc: NatsConnection;
  member: ShardMember;
  /** Ownership timeout = members bucket TTL. */
  ownershipTimeoutMs: number;
  /** When known (a fleet started together), the map is created as evenMap(ids) if there is none. */
  initialShardIds?: readonly string[];
  /**
   * The longest a lease issued by another shard may still be used (the longest fetch timeout of any
   * crawl plus the lease margin): a partition this shard gains from another while running is not
   * leased from until this long after the map change, so a fetch under the previous owner's last
   * lease never overlaps one of its own.
   */
  quietAfterGainMs: () => number;
  /** Copies JetStream keeps of the shard buckets (1 on a single nats-server). */
  replicas?: number;
  log: Logger;
}

export async function startShardOwnership(options: ShardOwnershipOptions): Promise<ShardOwnership> {
  const { nc, member, ownershipTimeoutMs: ttl, log } = options;
  const membersKv = await openMembersBucket(nc, ttl, options.replicas);
  const mapKv = await openMapBucket(nc, options.replicas);
  if (options.initialShardIds !== undefined) await ensureShardMap(mapKv, options.initialShardIds);
  const record = encodeShardMember(member);
  const sameRecord = (value: Uint8Array) => Buffer.compare(Buffer.from(value), Buffer.from(record)) === 0;
  const renewEveryMs = Math.floor(ttl / 3);
  const freshForMs = ttl - Math.floor(ttl / 3);

  let lastAckedSentMono = Number.NEGATIVE_INFINITY;
  let revision = 0;
  let lost = false;
  let stopped = false;

  // Renewals are revision-checked: a second process claiming this shard id makes the first one's renewal fail,
  // and a shard that finds its record replaced stops issuing for good rather than enforce keys twice.
  const renew = async () => {
    const sent = performance.now();
    try {
      revision =
        revision === 0
          ? await membersKv.put(member.shardId, record)
          : await membersKv.update(member.shardId, record, revision);
      lastAckedSentMono = sent;
      return;
    } catch (err) {
      if (!isRevisionConflict(err)) throw err;
    }
    const entry = await membersKv.get(member.shardId);
    if (entry === null || entry.operation !== "PUT") {
      // Expired while this shard was cut off: claim it again only if nobody else has meanwhile.
      revision = await membersKv.create(member.shardId, record);
      lastAckedSentMono = sent;
      log.warn({ shardId: member.shardId }, "shard membership had expired; renewed");
    } else if (sameRecord(entry.value)) {
      revision = entry.revision;
    } else {
      lost = true;
      throw new StateError(
        `another coordinator holds shard ${member.shardId} (${MEMBERS_BUCKET}); this one stops issuing leases`,
      );
    }
  };

  await renew();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped || lost) return;
    timer = setTimeout(() => {
      inFlight = renew()
        .catch((err: unknown) => {
          if (lost) log.error({ shardId: member.shardId, err: errorMessage(err) }, "shard membership lost");
          else
            log.warn({ shardId: member.shardId, err: errorMessage(err) }, "shard membership renewal failed");
        })
        .finally(schedule);
    }, renewEveryMs);
    timer.unref?.();
  };
  schedule();

  const fleet = await watchShardFleet(nc, {
    onError: (err) => log.warn({ err: err.message }, "unreadable shard fleet record"),
  });
  // 1 where the map gives the partition to this shard and no move covers it.
  const mine = new Uint8Array(PARTITIONS);
  // Monotonic time before which a partition gained from another shard is not leased from.
  const quietUntil = new Float64Array(PARTITIONS);
  let owners: (string | undefined)[] | undefined;
  const refresh = () => {
    const current = fleet.map()?.map;
    if (current === undefined) return;
    const next = partitionOwners(current);
    const now = performance.now();
    let quiet: number | undefined;
    for (let p = 0; p < PARTITIONS; p++) {
      const gained = next[p] === member.shardId && mine[p] === 0;
      // The map as first read is this shard's own state (its leases are in its frontier); later gains are not.
      if (gained && owners !== undefined && owners[p] !== member.shardId) {
        quiet ??= options.quietAfterGainMs();
        quietUntil[p] = now + quiet;
      }
      mine[p] = next[p] === member.shardId ? 1 : 0;
    }
    owners = next;
  };
  refresh();
  fleet.onChange(refresh);

  const fresh = (nowMono = performance.now()) => !lost && nowMono < lastAckedSentMono + freshForMs;
  return {
    shardId: member.shardId,
    owns: (partition, nowMono = performance.now()) =>
      mine[partition] === 1 && nowMono >= (quietUntil[partition] as number) && fresh(nowMono),
    fresh,
    map: () => fleet.map(),
    fleet,
    lastAckedPutMono: () => lastAckedSentMono,
    mapBucket: mapKv,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await inFlight;
      await fleet.stop();
    },
  };
}

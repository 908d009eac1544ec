import { decodeShardMap, encodeShardMap, evenMap, MAP_KEY, type ShardMap, StateError } from "@heed/shared";
import type { KV } from "nats";

/** JetStream's "wrong last sequence": someone else wrote the key since it was read. */
export function isRevisionConflict(err: unknown): boolean {
  const api = (err as { api_error?: { err_code?: number } } | undefined)?.api_error;
  return api?.err_code === 10071 || /wrong last sequence/i.test(String((err as Error | undefined)?.message));
}

/**
 * Creates the map as `evenMap(ids)` if the fleet has none yet. Exactly one
 * of several coordinators starting together wins (`kv.create` fails when the
 * key exists); the others read the winner's map.
 */
export async function ensureShardMap(
  kv: KV,
  shardIds: readonly string[],
): Promise<{ map: ShardMap; revision: number }> {
  try {
    const map = evenMap(shardIds);
    return { map, revision: await kv.create(MAP_KEY, encodeShardMap(map)) };
  } catch (err) {
    if (!isRevisionConflict(err)) throw err;
  }
  const current = await readShardMap(kv);
  if (current === undefined) throw new StateError("the shard map was removed while it was being created");
  return current;
}

export async function readShardMap(kv: KV): Promise<{ map: ShardMap; revision: number } | undefined> {
  const entry = await kv.get(MAP_KEY);
  if (entry === null || entry.operation !== "PUT") return undefined;
  return { map: decodeShardMap(entry.value), revision: entry.revision };
}

/**
 * Applies `change` to the current map with a revision-checked update; when
 * another writer got there first, reads again and reapplies, so no change is
 * computed from a stale map. `change` may throw to refuse (the map as it now
 * is makes the change wrong); it returns undefined when nothing is to be done.
 */
export async function updateShardMap(
  kv: KV,
  change: (map: ShardMap) => ShardMap | undefined,
  attempts = 10,
): Promise<{ map: ShardMap; revision: number }> {
  for (let attempt = 1; ; attempt++) {
    const current = await readShardMap(kv);
    if (current === undefined) throw new StateError("there is no shard map to change");
    const next = change(current.map);
    if (next === undefined) return current;
    const versioned = { ...next, version: current.map.version + 1 };
    try {
      return {
        map: versioned,
        revision: await kv.update(MAP_KEY, encodeShardMap(versioned), current.revision),
      };
    } catch (err) {
      if (!isRevisionConflict(err) || attempt >= attempts) throw err;
    }
  }
}

/**
 * The operator's move for a shard that is gone: its ranges go to `target`.
 * Refused while the shard's member key lives: it may still be issuing, and
 * its last leases may still be running. The key outlives the shard's fence
 * by at least ttl/3, so no partition is ever owned twice. (The new owner
 * starts each moved host no earlier than now plus the longest lease lifetime.)
 */
export async function takeOverShard(
  mapKv: KV,
  membersKv: KV,
  goneShard: string,
  target: string,
): Promise<{ map: ShardMap; revision: number }> {
  const member = await membersKv.get(goneShard);
  if (member !== null && member.operation === "PUT")
    throw new StateError(`shard ${goneShard} is still a member; its ranges move only after its key expires`);
  return updateShardMap(mapKv, (map) => {
    if (!map.ranges.some((r) => r.shard === goneShard)) return undefined;
    if (map.moves.some((m) => m.source === goneShard || m.target === goneShard))
      throw new StateError(`shard ${goneShard} is part of a move in progress`);
    return { ...map, ranges: map.ranges.map((r) => (r.shard === goneShard ? { ...r, shard: target } : r)) };
  });
}

import { z } from "zod";
import { PARTITIONS } from "./keys.js";
import { decodeJson, shardIdSchema } from "./members.js";

const partitionBound = z.number().int().min(0).max(PARTITIONS);

/** Partitions [from, to) belong to `shard`. */
export const shardRangeSchema = z.object({ from: partitionBound, to: partitionBound, shard: shardIdSchema });
export type ShardRange = z.infer<typeof shardRangeSchema>;

export const SHARD_MOVE_PHASES = ["fencing", "exporting", "importing"] as const;
export type ShardMovePhase = (typeof SHARD_MOVE_PHASES)[number];

/** Partitions [from, to) on their way from `source` to `target`: owned by nobody meanwhile. */
export const shardMoveSchema = z.object({
  from: partitionBound,
  to: partitionBound,
  source: shardIdSchema,
  target: shardIdSchema,
  phase: z.enum(SHARD_MOVE_PHASES),
});
export type ShardMove = z.infer<typeof shardMoveSchema>;

export const shardMapSchema = z
  .object({
    version: z.number().int().nonnegative(),
    ranges: z.array(shardRangeSchema),
    moves: z.array(shardMoveSchema),
  })
  .superRefine((map, ctx) => {
    // Every partition has exactly one range: a gap or an overlap would leave keys unowned or owned twice.
    const sorted = [...map.ranges].sort((a, b) => a.from - b.from);
    let next = 0;
    for (const range of sorted) {
      if (range.from !== next || range.to <= range.from) {
        ctx.addIssue({
          code: "custom",
          message: `ranges must tile [0, ${PARTITIONS}) without gaps or overlaps`,
        });
        return;
      }
      next = range.to;
    }
    if (next !== PARTITIONS)
      ctx.addIssue({
        code: "custom",
        message: `ranges must tile [0, ${PARTITIONS}) without gaps or overlaps`,
      });
    for (const move of map.moves)
      if (move.to <= move.from)
        ctx.addIssue({ code: "custom", message: "a move covers at least one partition" });
  });
export type ShardMap = z.infer<typeof shardMapSchema>;

/** Contiguous, equal (±1) ranges over the sorted ids. */
export function evenMap(shardIds: readonly string[]): ShardMap {
  const ids = [...new Set(shardIds)].sort();
  if (ids.length === 0) throw new RangeError("a shard map needs at least one shard");
  const ranges = ids.map((shard, i) => ({
    from: Math.floor((i * PARTITIONS) / ids.length),
    to: Math.floor(((i + 1) * PARTITIONS) / ids.length),
    shard,
  }));
  return shardMapSchema.parse({ version: 1, ranges, moves: [] });
}

/** The owner of every partition, indexed by partition: undefined while a move covers it. */
export function partitionOwners(map: ShardMap): (string | undefined)[] {
  const owners: (string | undefined)[] = new Array(PARTITIONS).fill(undefined);
  for (const range of map.ranges) for (let p = range.from; p < range.to; p++) owners[p] = range.shard;
  for (const move of map.moves) for (let p = move.from; p < move.to; p++) owners[p] = undefined;
  return owners;
}

export function ownerOf(map: ShardMap, partition: number): string | undefined {
  if (map.moves.some((m) => partition >= m.from && partition < m.to)) return undefined;
  return map.ranges.find((r) => partition >= r.from && partition < r.to)?.shard;
}

const encoder = new TextEncoder();

export function encodeShardMap(map: ShardMap): Uint8Array {
  return encoder.encode(JSON.stringify(shardMapSchema.parse(map)));
}

export function decodeShardMap(bytes: Uint8Array): ShardMap {
  return decodeJson(bytes, shardMapSchema, "HEED_SHARD_MAP_INVALID", "shard map");
}

import type { ShardMap, ShardMove, ShardRange } from "@heed/shared";

/** The same move (its phase aside): a move is named by its range and its two shards. */
export function sameMove(a: ShardMove, b: Omit<ShardMove, "phase">): boolean {
  return a.from === b.from && a.to === b.to && a.source === b.source && a.target === b.target;
}

/** A word for logs, subjects and store keys: `s0_s3_512_768` (shard ids hold no `_`). */
export function moveName(m: Omit<ShardMove, "phase">): string {
  return `${m.source}_${m.target}_${m.from}_${m.to}`;
}

/** The move a name stands for (undefined: not a move's name). */
export function parseMoveName(name: string): Omit<ShardMove, "phase"> | undefined {
  const [source, target, from, to, ...rest] = name.split("_");
  if (source === undefined || target === undefined || rest.length > 0) return undefined;
  const move = { source, target, from: Number(from), to: Number(to) };
  return Number.isInteger(move.from) && Number.isInteger(move.to) && move.to > move.from ? move : undefined;
}

function overlapsMove(map: ShardMap, from: number, to: number): boolean {
  return map.moves.some((m) => m.from < to && from < m.to);
}

/**
 * A shard the map does not know joins: it gets the upper half of the biggest
 * range of the shard that owns the most partitions (ranges under a move are
 * left alone). Undefined when the shard has partitions or a move already, or
 * no range can be split.
 */
export function joinMove(map: ShardMap, shardId: string): ShardMove | undefined {
  if (map.ranges.some((r) => r.shard === shardId) || map.moves.some((m) => m.target === shardId))
    return undefined;
  const owned = new Map<string, number>();
  for (const r of map.ranges) owned.set(r.shard, (owned.get(r.shard) ?? 0) + r.to - r.from);
  const candidates = map.ranges
    .filter((r) => r.to - r.from >= 2 && !overlapsMove(map, r.from, r.to))
    .sort(
      (a, b) =>
        (owned.get(b.shard) ?? 0) - (owned.get(a.shard) ?? 0) ||
        b.to - b.from - (a.to - a.from) ||
        a.from - b.from,
    );
  const range = candidates[0];
  if (range === undefined) return undefined;
  const mid = range.from + Math.floor((range.to - range.from) / 2);
  return { from: mid, to: range.to, source: range.shard, target: shardId, phase: "fencing" };
}

/** The map with a new move added; refused (undefined) when its range is not wholly the source's or already moving. */
export function withMove(map: ShardMap, move: ShardMove): ShardMap | undefined {
  if (overlapsMove(map, move.from, move.to)) return undefined;
  for (let p = move.from; p < move.to; p++) {
    const r = map.ranges.find((x) => p >= x.from && p < x.to);
    if (r?.shard !== move.source) return undefined;
  }
  return { ...map, moves: [...map.moves, move] };
}

/** The map with a move's phase advanced; undefined when that move is not in the phase expected. */
export function withPhase(
  map: ShardMap,
  move: Omit<ShardMove, "phase">,
  from: ShardMove["phase"],
  to: ShardMove["phase"],
): ShardMap | undefined {
  const current = map.moves.find((m) => sameMove(m, move));
  if (current?.phase !== from) return undefined;
  return { ...map, moves: map.moves.map((m) => (sameMove(m, move) ? { ...m, phase: to } : m)) };
}

/**
 * The hand-over, one map update: the move's partitions become the target's
 * and the move is gone. Adjacent ranges of one shard are merged.
 * Undefined when the move is not there in its importing phase.
 */
export function handedOver(map: ShardMap, move: Omit<ShardMove, "phase">): ShardMap | undefined {
  const current = map.moves.find((m) => sameMove(m, move));
  if (current?.phase !== "importing") return undefined;
  const pieces: ShardRange[] = [];
  for (const r of map.ranges) {
    if (r.to <= move.from || r.from >= move.to) {
      pieces.push(r);
      continue;
    }
    if (r.from < move.from) pieces.push({ from: r.from, to: move.from, shard: r.shard });
    if (r.to > move.to) pieces.push({ from: move.to, to: r.to, shard: r.shard });
  }
  pieces.push({ from: move.from, to: move.to, shard: move.target });
  pieces.sort((a, b) => a.from - b.from);
  const ranges: ShardRange[] = [];
  for (const r of pieces) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.shard === r.shard && last.to === r.from) last.to = r.to;
    else ranges.push({ ...r });
  }
  return { ...map, ranges, moves: map.moves.filter((m) => !sameMove(m, move)) };
}

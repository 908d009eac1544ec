/**
 * How a worker in a sharded fleet divides its free capacity among the shards
 * it leases from. Pure: the lease loops call it with what they know.
 */

/**
 * What a worker knows of one shard's demand, from its last lease answer:
 * - `hungry`: it filled the last request (or has not been asked yet), so it
 *   may have more due hosts than it was asked for;
 * - `idle`: its last answer held fewer leases than asked (or it did not
 *   answer), and it is about to ask again: it gets its leases in flight plus
 *   a small probe share, so it is asked again without holding capacity
 *   others could use;
 * - `resting`: it is not asking now (waiting to ask again after an empty or
 *   failed answer): it holds its leases in flight and nothing more;
 * - `blocked`: its reports cannot be delivered (its coordinator is down or
 *   the buffer is full): no new leases until they flow again.
 */
export type ShardDemandState = "hungry" | "idle" | "resting" | "blocked";

export interface ShardDemand {
  shard: string;
  /** Leases of this shard being fetched, plus those asked for in a request still unanswered. */
  inFlight: number;
  state: ShardDemandState;
}

export interface SplitInput {
  /** The worker's concurrency: the most leases it holds at once. */
  concurrency: number;
  /** How many more leases the worker may take now over all shards (0 while it is paused). */
  free: number;
  shards: readonly ShardDemand[];
  /**
   * Rotates who gets what does not divide evenly (and, when there are more
   * shards than capacity, whose turn it is). The caller advances it with
   * every lease answer, so every shard gets its turn.
   */
  turn: number;
  /** Share of a shard that had nothing due; default 1. */
  probe?: number;
  /**
   * The shard about to ask. If it is idle, it may also take what no other
   * shard's demand claims: a guess that it has little due must not leave
   * the worker empty when nobody else wants the room.
   */
  asking?: string;
}

/**
 * Max-min fair shares of `concurrency`: an idle shard wants its leases in
 * flight plus `probe`, a hungry one wants all it can get, a blocked one what
 * it already holds; each gets at most an equal part of what the ones wanting
 * less leave over. A shard's allowance is what its share leaves above its
 * leases in flight, and all allowances together never exceed `free`. So a
 * shard that filled the worker before another had due hosts gets no new
 * lease until it is down to its share, and each freed slot goes to the
 * shard furthest below its share.
 */
export function splitCapacity(input: SplitInput): Map<string, number> {
  const probe = input.probe ?? 1;
  const n = input.shards.length;
  const out = new Map<string, number>();
  if (n === 0) return out;
  const order = rotated(input.shards, input.turn);
  const demand = (s: ShardDemand) =>
    s.state === "hungry" ? Number.POSITIVE_INFINITY : s.state === "idle" ? s.inFlight + probe : s.inFlight;
  // Water-filling: settle the shards wanting less than an equal part first.
  const share = new Map<string, number>();
  let open = [...order].sort((a, b) => demand(a) - demand(b));
  let remaining = Math.max(0, input.concurrency);
  while (open.length > 0) {
    const equal = Math.floor(remaining / open.length);
    const first = open[0] as ShardDemand;
    if (demand(first) <= equal) {
      share.set(first.shard, demand(first));
      remaining -= demand(first);
      open = open.slice(1);
      continue;
    }
    // Everyone left wants more than an equal part: equal parts, the remainder by turn.
    let extra = remaining - equal * open.length;
    const left = new Set(open.map((s) => s.shard));
    for (const s of order) {
      if (!left.has(s.shard)) continue;
      const bonus = extra > 0 && demand(s) > equal ? 1 : 0;
      extra -= bonus;
      share.set(s.shard, equal + bonus);
    }
    break;
  }
  const asking = input.shards.find((s) => s.shard === input.asking);
  if (asking?.state === "idle" && open.length === 0) {
    // Every demand is met and room is left: nobody else claims it.
    share.set(asking.shard, (share.get(asking.shard) ?? 0) + remaining);
  }
  let free = Math.max(0, Math.min(input.free, input.concurrency - sumInFlight(input.shards)));
  // Slots too few for every allowance go first to the shards holding the least of their share.
  const held = (s: ShardDemand) => s.inFlight / Math.max(1, share.get(s.shard) ?? 0);
  const neediest = [...order].sort((a, b) => held(a) - held(b));
  for (const s of neediest) {
    const allowance = Math.min(free, Math.max(0, (share.get(s.shard) ?? 0) - s.inFlight));
    free -= allowance;
    out.set(s.shard, allowance);
  }
  return out;
}

function sumInFlight(shards: readonly ShardDemand[]): number {
  let sum = 0;
  for (const s of shards) sum += s.inFlight;
  return sum;
}

/** The shards in a stable order (by id), starting at `turn`. */
function rotated(shards: readonly ShardDemand[], turn: number): ShardDemand[] {
  const sorted = [...shards].sort((a, b) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : 0));
  const start = ((turn % sorted.length) + sorted.length) % sorted.length;
  return [...sorted.slice(start), ...sorted.slice(0, start)];
}

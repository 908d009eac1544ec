import {
  type LimitedWarn,
  type Logger,
  type proto,
  type ShardFleet,
  type ShardMember,
  shardOfLeaseId,
} from "@heed/shared";
import type { NatsConnection } from "nats";
import { type Puller, pullLeases } from "../leases/puller.js";
import type { RunningLease } from "../leases/runner.js";
import type { ShardKeys } from "./keys.js";
import type { ShardReporters } from "./reports.js";
import { type ShardDemand, type ShardDemandState, splitCapacity } from "./split.js";

/** Members expire without a watch event: the worker looks again this often. */
const MEMBERS_RECHECK_MS = 1000;

export interface FleetLeaseOptions {
  nc: NatsConnection;
  fleet: ShardFleet;
  keys: ShardKeys;
  reporters: ShardReporters;
  workerId: string;
  workerVersion: string;
  requestTimeoutMs: number;
  idlePollMaxMs: number;
  concurrency: number;
  /** The worker takes no lease from any shard now (captures cannot be written or stored). */
  paused: () => boolean;
  running: ReadonlyMap<string, RunningLease>;
  onLease: (lease: proto.Lease) => void;
  onBatch?: (leases: number) => void;
  signal: AbortSignal;
  log: Logger;
  token?: string;
  warn: LimitedWarn;
}

interface ShardLoop {
  member: ShardMember;
  /** What its last answer said: more may be due (hungry), or nothing more was (idle). */
  state: "hungry" | "idle";
  /**
   * Its loop waits for room to ask: its demand counts in the others' shares.
   * A loop resting after an answer holds only its leases in flight.
   */
  waiting: boolean;
  /** Capacity asked for in a request not answered yet: held for this shard until it is. */
  asking: number;
  stop: AbortController;
  /** Set right after the loop is registered: its first capacity call already finds it. */
  puller?: Puller;
}

/**
 * Leases from every live shard of a sharded fleet: one pull loop per shard,
 * on its own lease subject, each asking for the part of the worker's free
 * capacity `splitCapacity` gives it. Loops start and stop as members come
 * and go; report clients follow the same members (see ShardReporters).
 */
export function pullFromFleet(options: FleetLeaseOptions): Puller {
  const { fleet, reporters, log, running } = options;
  const loops = new Map<string, ShardLoop>();
  const finished: Promise<void>[] = [];
  let refusedBefore = 0;
  let turn = 0;

  const demands = (caller: ShardLoop): ShardDemand[] => {
    const inFlight = new Map<string, number>();
    for (const id of running.keys()) {
      const shard = shardOfLeaseId(id) ?? "";
      inFlight.set(shard, (inFlight.get(shard) ?? 0) + 1);
    }
    const out: ShardDemand[] = [];
    for (const [shard, loop] of loops) {
      out.push({
        shard,
        inFlight: (inFlight.get(shard) ?? 0) + loop.asking,
        state: stateOf(shard, loop, caller),
      });
      inFlight.delete(shard);
    }
    // Leases of shards that left still hold their slots until they end.
    for (const [shard, n] of inFlight) out.push({ shard: `~${shard}`, inFlight: n, state: "blocked" });
    return out;
  };

  const stateOf = (shard: string, loop: ShardLoop, caller: ShardLoop): ShardDemandState => {
    if (reporters.blocked(shard)) return "blocked";
    // The shard about to ask wants what it can get: its share is bounded by the others' claims alone.
    // What it said last counts in the others' shares: a shard that had nothing due claims a probe.
    if (loop === caller) return "hungry";
    return loop.waiting ? loop.state : "resting";
  };

  const capacityOf = (shardId: string): number => {
    const loop = loops.get(shardId);
    if (loop === undefined || options.paused()) return 0;
    const shares = splitCapacity({
      concurrency: options.concurrency,
      free: options.concurrency,
      shards: demands(loop),
      turn,
    });
    const n = shares.get(shardId) ?? 0;
    loop.asking = Math.max(0, n);
    // No room now: the loop waits and asks again; meanwhile its demand counts in the others' shares.
    loop.waiting = n <= 0;
    return n;
  };

  const start = (member: ShardMember) => {
    const shardId = member.shardId;
    const stop = new AbortController();
    const loop: ShardLoop = {
      member,
      // Not asked yet: it may have due hosts, so it starts with a full share.
      state: "hungry",
      waiting: true,
      asking: 0,
      stop,
    };
    loops.set(shardId, loop);
    const puller = pullLeases({
      nc: options.nc,
      subject: member.leaseSubject,
      workerId: options.workerId,
      workerVersion: options.workerVersion,
      requestTimeoutMs: options.requestTimeoutMs,
      idlePollMaxMs: options.idlePollMaxMs,
      capacity: () => capacityOf(shardId),
      // Not held: a held request would keep its share of the capacity from the other shards until
      // answered (splitCapacity), so a shard with nothing due would starve one with hosts due.
      mayWait: () => false,
      onLease: options.onLease,
      ...(options.onBatch !== undefined ? { onBatch: options.onBatch } : {}),
      onAnswered: (asked, received) => {
        loop.asking = 0;
        loop.waiting = false;
        loop.state = received !== undefined && received >= asked ? "hungry" : "idle";
        // Every answer moves the turn on, so with fewer slots than shards none is left out for long.
        turn++;
      },
      refuse: (lease) =>
        shardOfLeaseId(lease.id) === shardId
          ? undefined
          : `shard ${shardId} sent a lease of another shard; not fetched`,
      signal: AbortSignal.any([options.signal, stop.signal]),
      log: log.child({ shardId }),
      ...(options.token !== undefined ? { token: options.token } : {}),
      trust: options.keys.forShard(shardId),
      warn: options.warn,
    });
    loop.puller = puller;
    finished.push(puller.done);
    log.info(
      { shardId, leaseSubject: member.leaseSubject, grpcAddress: member.grpcAddress },
      "leasing from shard",
    );
  };

  const end = (shardId: string, why: string) => {
    const loop = loops.get(shardId);
    if (loop === undefined) return;
    loop.stop.abort();
    loop.puller?.wake();
    refusedBefore += loop.puller?.refusedDuplicates ?? 0;
    loops.delete(shardId);
    log.info({ shardId }, why);
  };

  const sync = () => {
    if (options.signal.aborted) return;
    const members = fleet.members();
    // Report clients first: a lease is only taken from a shard its result can be sent to.
    void reporters.sync(members);
    const live = new Set(members.map((m) => m.shardId));
    for (const shardId of [...loops.keys()]) {
      if (!live.has(shardId)) end(shardId, "shard left the fleet; no more leases from it");
    }
    for (const m of members) {
      const loop = loops.get(m.shardId);
      if (loop !== undefined && loop.member.leaseSubject !== m.leaseSubject) {
        end(m.shardId, "shard moved to another lease subject");
      }
      const current = loops.get(m.shardId);
      if (current !== undefined) current.member = m;
      else start(m);
    }
  };

  sync();
  const unsubscribe = fleet.onChange(sync);
  const timer = setInterval(sync, MEMBERS_RECHECK_MS);
  timer.unref();

  const done = new Promise<void>((resolve) => {
    const close = async () => {
      unsubscribe();
      clearInterval(timer);
      for (const loop of loops.values()) loop.puller?.wake();
      // Loops started late are in `finished` too; none start once the signal is aborted.
      await Promise.all(finished);
      resolve();
    };
    if (options.signal.aborted) void close();
    else options.signal.addEventListener("abort", () => void close(), { once: true });
  });

  return {
    done,
    wake: () => {
      for (const loop of loops.values()) loop.puller?.wake();
    },
    get refusedDuplicates() {
      let n = refusedBefore;
      for (const loop of loops.values()) n += loop.puller?.refusedDuplicates ?? 0;
      return n;
    },
  };
}

import type { ChannelCredentials } from "@grpc/grpc-js";
import { errorMessage, type Logger, type proto, type ShardMember, shardOfLeaseId } from "@heed/shared";
import { createReporter, type Reporter } from "../report/reporter.js";

export interface ShardReportersOptions {
  workerId: string;
  batchMax: number;
  flushMs: number;
  /** Per shard: a shard that is down keeps this many results before the worker stops leasing from it. */
  bufferMax: number;
  log: Logger;
  credentials: ChannelCredentials;
  token?: string;
  /** A shard refused the worker token: nothing it reports will be taken. */
  onRefused: (details: string) => void;
  /** Whether the worker still fetches leases of this shard (their results are yet to be sent). */
  holds: (shardId: string) => boolean;
}

/**
 * One report client per shard, and every call routed by the shard its lease
 * id names: the shard that issued a lease is the only one that can take its
 * result. A shard that is down keeps its results queued in its own client
 * while the others' flow.
 */
export interface ShardReporters extends Reporter {
  /**
   * Follows the live members: a client for each new shard (its token checked
   * first), a new client when a shard's address changes (unsent results move
   * to it), and a departed shard's client closed once nothing of it is left
   * to send. Resolves when the new clients are checked.
   */
  sync(members: readonly ShardMember[]): Promise<void>;
  /** The shard's results cannot be delivered now (unreachable, or its buffer is full). */
  blocked(shardId: string): boolean;
  /** Shards with a client, live or still holding results. */
  shards(): string[];
}

interface ShardClient {
  address: string;
  reporter: Reporter;
}

export function createShardReporters(options: ShardReportersOptions): ShardReporters {
  const { log } = options;
  const clients = new Map<string, ShardClient>();
  const open = (shardId: string, address: string): Reporter =>
    createReporter({
      address,
      workerId: options.workerId,
      batchMax: options.batchMax,
      flushMs: options.flushMs,
      bufferMax: options.bufferMax,
      log: log.child({ shardId }),
      credentials: options.credentials,
      ...(options.token !== undefined ? { token: options.token } : {}),
      onRefused: options.onRefused,
    });
  const clientOf = (leaseId: string): ShardClient | undefined => {
    const shard = shardOfLeaseId(leaseId);
    return shard === undefined ? undefined : clients.get(shard);
  };
  const all = () => [...clients.values()].map((c) => c.reporter);

  return {
    async sync(members) {
      const probes: Promise<void>[] = [];
      const live = new Set<string>();
      for (const m of members) {
        live.add(m.shardId);
        const known = clients.get(m.shardId);
        if (known !== undefined && known.address === m.grpcAddress) continue;
        const reporter = open(m.shardId, m.grpcAddress);
        if (known !== undefined) {
          const moved = known.reporter.handOver();
          for (const result of moved) reporter.submit(result);
          log.info(
            { shardId: m.shardId, from: known.address, to: m.grpcAddress, results: moved.length },
            "shard moved; its reports follow",
          );
        }
        clients.set(m.shardId, { address: m.grpcAddress, reporter });
        probes.push(
          reporter.probe().catch((err: unknown) => {
            // The token was refused: the worker gives up as it would with one coordinator.
            options.onRefused(errorMessage(err));
          }),
        );
      }
      for (const [shardId, c] of clients) {
        if (live.has(shardId)) continue;
        // A shard that is away keeps its client while results for it wait: they go out when it is back.
        if (c.reporter.pending > 0 || options.holds(shardId)) continue;
        c.reporter.close();
        clients.delete(shardId);
      }
      await Promise.all(probes);
    },
    blocked(shardId) {
      const c = clients.get(shardId);
      return c === undefined || c.reporter.full || c.reporter.stalled;
    },
    shards: () => [...clients.keys()],
    submit(result) {
      const c = clientOf(result.leaseId);
      if (c === undefined) {
        // Only leases of known shards are fetched, so this is a bug, not a network fault.
        log.error({ leaseId: result.leaseId }, "result for a lease of no known shard; not reported");
        return;
      }
      c.reporter.submit(result);
    },
    get pending() {
      return all().reduce((n, r) => n + r.pending, 0);
    },
    get full() {
      return all().some((r) => r.full);
    },
    get stalled() {
      return all().some((r) => r.stalled);
    },
    async renew(leaseIds) {
      const byShard = new Map<ShardClient, string[]>();
      for (const id of leaseIds) {
        const c = clientOf(id);
        if (c === undefined) continue;
        byShard.set(c, [...(byShard.get(c) ?? []), id]);
      }
      const settled = await Promise.allSettled([...byShard].map(([c, ids]) => c.reporter.renew(ids)));
      const acks: proto.RenewAck[] = [];
      const errors: unknown[] = [];
      for (const s of settled) {
        if (s.status === "fulfilled") acks.push(...s.value);
        else errors.push(s.reason);
      }
      // One shard down must not hide the renewals the others granted.
      if (acks.length === 0 && errors.length > 0) throw errors[0];
      for (const err of errors) log.warn({ err: errorMessage(err) }, "lease renewal failed at one shard");
      return acks;
    },
    async lookupDigest(leaseId, payloadDigest) {
      return clientOf(leaseId)?.reporter.lookupDigest(leaseId, payloadDigest);
    },
    async probe() {
      await Promise.all(all().map((r) => r.probe()));
    },
    async flush(timeoutMs) {
      const left = await Promise.all(all().map((r) => r.flush(timeoutMs)));
      return left.reduce((a, b) => a + b, 0);
    },
    close() {
      for (const r of all()) r.close();
      clients.clear();
    },
    handOver() {
      const left = all().flatMap((r) => r.handOver());
      clients.clear();
      return left;
    },
  };
}

/**
 * Host affinity: a host's next lease goes, when it can without waiting long,
 * to the worker that fetched the host last, which may still hold an open
 * connection to it. Without it a host's consecutive requests land on whichever
 * worker asks first, and each one opens a connection of its own (a TCP and,
 * on the web, a TLS handshake the site pays for too), as a single-process
 * crawler keeping one connection per host would not.
 *
 * It only ever delays a lease, never moves one earlier: a due host is left
 * for its worker for at most `graceMs`, and only while that worker is asking
 * for leases; past that, anyone may take it, and a worker asking takes the
 * hosts it fetched last (or nobody did) first, and other workers' late hosts
 * only with the room it has left. When a fleet runs behind, every host is
 * late, and without that order each request went to a worker at random.
 */
export interface HostAffinity {
  /** A worker asked for leases. */
  asked(workerId: string, nowMs: number): void;
  /** A host's request was leased to a worker. */
  leased(hostKey: string, workerId: string, nowMs: number): void;
  /**
   * What a worker asking does with a host due since `dueMs`: takes it (it fetched it last, nobody
   * did, or that worker stopped asking), leaves it for the worker that fetched it last (due for
   * less than the grace), or takes it only with room left over (another worker's, and late).
   */
  claim(hostKey: string, workerId: string, dueMs: number, nowMs: number): Claim;
  /** Hosts remembered (they were leased within the keep time). */
  readonly size: number;
}

export type Claim = "take" | "leave" | "spare";

export interface AffinityOptions {
  /** How long a due host waits for the worker that fetched it last (0: no affinity). */
  graceMs: number;
  /** A host is remembered this long after its lease: about as long as a worker keeps an idle connection. */
  keepMs: number;
  /** A worker that has not asked for this long is not waited for. */
  aliveMs: number;
}

export const DEFAULT_AFFINITY: AffinityOptions = { graceMs: 50, keepMs: 10_000, aliveMs: 2_000 };

export function createHostAffinity(options: AffinityOptions): HostAffinity {
  // Insertion order is lease order (a host leased again moves to the end), so forgetting the
  // hosts past the keep time looks at the oldest entries only.
  const lastWorker = new Map<string, { workerId: string; atMs: number }>();
  const lastAsked = new Map<string, number>();

  const forgetOld = (nowMs: number) => {
    for (const [hostKey, entry] of lastWorker) {
      if (nowMs - entry.atMs < options.keepMs) break;
      lastWorker.delete(hostKey);
    }
  };

  return {
    asked(workerId, nowMs) {
      if (options.graceMs <= 0) return;
      lastAsked.delete(workerId);
      lastAsked.set(workerId, nowMs);
      for (const [id, at] of lastAsked) {
        if (nowMs - at < options.aliveMs) break;
        lastAsked.delete(id);
      }
    },
    leased(hostKey, workerId, nowMs) {
      if (options.graceMs <= 0) return;
      lastWorker.delete(hostKey);
      lastWorker.set(hostKey, { workerId, atMs: nowMs });
      forgetOld(nowMs);
    },
    claim(hostKey, workerId, dueMs, nowMs) {
      if (options.graceMs <= 0) return "take";
      const last = lastWorker.get(hostKey);
      if (last === undefined || last.workerId === workerId || nowMs - last.atMs >= options.keepMs)
        return "take";
      const asked = lastAsked.get(last.workerId);
      if (asked === undefined || nowMs - asked >= options.aliveMs) return "take";
      return nowMs - dueMs < options.graceMs ? "leave" : "spare";
    },
    get size() {
      return lastWorker.size;
    },
  };
}

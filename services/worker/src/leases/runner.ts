import { errorMessage, type Logger, proto, sleep } from "@heed/shared";
import type { WorkerMetrics } from "../metrics.js";
import type { Reporter } from "../report/reporter.js";

/** A lease being fetched: its task, its current expiry (renewals move it) and a way to hand it back. */
export interface RunningLease {
  task: Promise<void>;
  lease: proto.Lease;
  expiresAtMs: number;
  release: AbortController;
}

/**
 * How a lease is fetched: given the lease, its live expiry and a signal that
 * hands it back. When the request is over before its result is final (the
 * capture is still being made durable), the fetch may say so through
 * `requestEnded` with the request's end (phase one of the report).
 */
export type LeaseFetch = (
  lease: proto.Lease,
  expiresAt: () => number,
  release: AbortSignal,
  requestEnded: (end: proto.FetchResult) => void,
) => Promise<proto.FetchResult>;

export interface LeaseRunner {
  run(lease: proto.Lease): void;
  /** Leases being fetched, by id. */
  readonly running: ReadonlyMap<string, RunningLease>;
  readonly fetched: number;
  /**
   * Lets running fetches finish within `graceMs`, then hands the rest back
   * (reported as released, so the coordinator re-leases them at once).
   */
  drain(graceMs: number): Promise<void>;
}

/**
 * Runs each lease's fetch and submits its result. A lease handed back
 * mid-fetch is reported as released rather than as a partial fetch.
 */
export function createLeaseRunner(options: {
  fetch: LeaseFetch;
  reporter: Reporter;
  metrics: WorkerMetrics;
  log: Logger;
  /** Called whenever a lease finishes, so a waiting pull loop can take more. */
  onSettled: () => void;
}): LeaseRunner {
  const { reporter, metrics, log } = options;
  const running = new Map<string, RunningLease>();
  let fetched = 0;
  return {
    run(lease) {
      const release = new AbortController();
      const entry: RunningLease = { task: Promise.resolve(), lease, expiresAtMs: lease.expiresAtMs, release };
      // Sent at once, so the host's slot is free while the capture is written; the result follows.
      const requestEnded = (end: proto.FetchResult) => {
        if (!release.signal.aborted) reporter.submit(end);
      };
      entry.task = options
        .fetch(lease, () => entry.expiresAtMs, release.signal, requestEnded)
        .then((result) => {
          fetched++;
          metrics.fetched(lease, result);
          if (release.signal.aborted) {
            result.error = {
              kind: proto.FetchErrorKind.FETCH_ERROR_KIND_RELEASED,
              code: "HEED_LEASE_RELEASED",
              message: "worker draining",
            };
          } else if (result.error) {
            log.debug({ leaseId: lease.id, url: lease.url, error: result.error.code }, "fetch failed");
          }
          reporter.submit(result);
        })
        .catch((err) => log.error({ leaseId: lease.id, err: errorMessage(err) }, "fetch task crashed"))
        .finally(() => {
          running.delete(lease.id);
          options.onSettled();
        });
      running.set(lease.id, entry);
    },
    running,
    get fetched() {
      return fetched;
    },
    async drain(graceMs) {
      const grace = new AbortController();
      await Promise.race([
        Promise.all([...running.values()].map((e) => e.task)),
        sleep(graceMs, grace.signal),
      ]);
      grace.abort();
      if (running.size === 0) return;
      log.info({ leases: running.size }, "drain time is up; handing unfinished leases back");
      for (const e of running.values()) e.release.abort();
      await Promise.all([...running.values()].map((e) => e.task));
    },
  };
}

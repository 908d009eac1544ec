import { randomBytes } from "node:crypto";
import { backoffMs, errorMessage, type Logger, proto, sleep } from "@heed/shared";
import type { NatsConnection } from "nats";
import { createSeenLeases } from "./seen.js";

export interface PullOptions {
  nc: NatsConnection;
  subject: string;
  workerId: string;
  workerVersion: string;
  requestTimeoutMs: number;
  idlePollMaxMs: number;
  /** How many more leases the worker can take now (0 or less: none). */
  capacity: () => number;
  /** A lease to fetch: new, never seen before. */
  onLease: (lease: proto.Lease) => void;
  onBatch?: (leases: number) => void;
  signal: AbortSignal;
  log: Logger;
}

export interface Puller {
  /** Resolves when the loop stops (the signal aborted). */
  done: Promise<void>;
  /** Wakes the loop when capacity frees up, instead of waiting for its next poll. */
  wake(): void;
  readonly refusedDuplicates: number;
}

/**
 * Asks the coordinator for leases over NATS whenever the worker has room,
 * drops leases delivered twice, and backs off while nobody answers.
 */
export function pullLeases(options: PullOptions): Puller {
  const { log, signal } = options;
  const seen = createSeenLeases();
  let refusedDuplicates = 0;
  let wake: (() => void) | undefined;

  async function loop(): Promise<void> {
    let failures = 0;
    // Kept until a reply arrives: asking again with the same id after a lost reply gets the same
    // leases back instead of leaving their hosts busy until the leases expire.
    let requestId = newRequestId();
    while (!signal.aborted) {
      const free = options.capacity();
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          };
          const timer = setTimeout(done, 200);
          signal.addEventListener("abort", done, { once: true });
          wake = done;
        });
        wake = undefined;
        continue;
      }
      let batch: proto.LeaseBatch;
      try {
        const req = proto.LeaseRequest.encode({
          workerId: options.workerId,
          capacity: free,
          workerVersion: options.workerVersion,
          requestId,
        }).finish();
        const msg = await options.nc.request(options.subject, req, { timeout: options.requestTimeoutMs });
        batch = proto.LeaseBatch.decode(msg.data);
        requestId = newRequestId();
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const wait = backoffMs(failures, 100, 2000);
        // No coordinator answering is normal during restarts; keep asking, slowly.
        log.warn({ err: errorMessage(err), retryInMs: wait }, "lease request failed");
        await sleep(wait, signal);
        continue;
      }
      const now = Date.now();
      options.onBatch?.(batch.leases.length);
      for (const lease of batch.leases) {
        if (!seen.admit(lease.id, lease.expiresAtMs, now)) {
          refusedDuplicates++;
          log.warn({ leaseId: lease.id }, "lease delivered twice; not fetching it again");
          continue;
        }
        options.onLease(lease);
      }
      if (batch.leases.length === 0) {
        await sleep(Math.min(batch.retryAfterMs || 100, options.idlePollMaxMs), signal);
      }
    }
  }

  const done = loop().catch((err) => log.error({ err: errorMessage(err) }, "lease loop stopped"));
  return {
    done,
    wake: () => wake?.(),
    get refusedDuplicates() {
      return refusedDuplicates;
    },
  };
}

function newRequestId(): string {
  return randomBytes(12).toString("base64url");
}

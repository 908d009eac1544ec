import { randomBytes } from "node:crypto";
import {
  backoffMs,
  errorMessage,
  type LimitedWarn,
  type Logger,
  PROOF_HEADER,
  proto,
  SIGNATURE_HEADER,
  sleep,
  workerProof,
} from "@heed/shared";
import { createInbox, headers, type NatsConnection } from "nats";
import { createSeenLeases } from "./seen.js";
import type { MessageTrust } from "./trust.js";

export interface PullOptions {
  nc: NatsConnection;
  subject: string;
  workerId: string;
  workerVersion: string;
  requestTimeoutMs: number;
  /** The longest an idle worker goes without asking: the coordinator holds its requests this long at most. */
  idlePollMaxMs: number;
  /**
   * Whether the next request may be held by the coordinator until a lease is due (a long poll, up to
   * `idlePollMaxMs`); default: always. A request holding capacity that other shards could use may not.
   */
  mayWait?: () => boolean;
  /** How many more leases the worker can take now (0 or less: none). */
  capacity: () => number;
  /** A lease to fetch: new, never seen before. */
  onLease: (lease: proto.Lease) => void;
  onBatch?: (leases: number) => void;
  /**
   * After each request settles, before its leases are handed on: how many
   * were asked for and how many came (undefined: no usable answer).
   */
  onAnswered?: (asked: number, received: number | undefined) => void;
  /** A lease the answer's signer may not issue (another shard's id): refused, never fetched. */
  refuse?: (lease: proto.Lease) => string | undefined;
  signal: AbortSignal;
  log: Logger;
  /** The worker token: each request carries its proof (no proof, no lease). */
  token?: string;
  /** Only batches the coordinator signed are acted on. */
  trust: MessageTrust;
  warn: LimitedWarn;
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
      let answered = false;
      const settle = (received: number | undefined) => {
        if (answered) return;
        answered = true;
        options.onAnswered?.(free, received);
      };
      const waitMs = (options.mayWait?.() ?? true) ? options.idlePollMaxMs : 0;
      try {
        const req = proto.LeaseRequest.encode({
          workerId: options.workerId,
          capacity: free,
          workerVersion: options.workerVersion,
          sentAtMs: Date.now(),
          requestId,
          waitMs,
        }).finish();
        // A fresh inbox per request: the proof covers it, so a copied request cannot send leases elsewhere.
        const reply = createInbox();
        const h = headers();
        if (options.token !== undefined)
          h.set(PROOF_HEADER, workerProof(options.token, "lease-request", reply, req));
        const msg = await untilStopped(
          options.nc.request(options.subject, req, {
            timeout: options.requestTimeoutMs + waitMs,
            noMux: true,
            reply,
            headers: h,
          }),
          signal,
        );
        // Stopped while the coordinator held the request: it answers a stopping worker's requests at
        // once (its heartbeat says so); one that does not is not waited for.
        if (msg === undefined) {
          settle(undefined);
          break;
        }
        if (
          !(await options.trust.signed("lease-batch", reply, msg.data, msg.headers?.get(SIGNATURE_HEADER)))
        ) {
          // Not from this worker's coordinator: act on none of it. The request went to another member of
          // the queue group, so the coordinator never saw it: ask again after the idle pause, never longer.
          // A back-off growing with each such answer let a rogue member that answers part of the requests
          // stall the worker for seconds at a time; the idle pause alone keeps a rogue answering all of
          // them at the rate of an idle worker's polls.
          settle(undefined);
          options.warn("lease-batch-signature", {}, "lease answer not signed by the coordinator; ignored");
          const wait = idlePauseMs(0, options.idlePollMaxMs);
          log.debug({ retryInMs: wait }, "lease answer not signed; asking again");
          await sleep(wait, signal);
          continue;
        }
        batch = proto.LeaseBatch.decode(msg.data);
        requestId = newRequestId();
        failures = 0;
      } catch (err) {
        settle(undefined);
        if (signal.aborted) break;
        failures++;
        const wait = backoffMs(failures, 100, 2000);
        // No coordinator answering is normal during restarts; keep asking, slowly.
        log.warn(
          { err: errorMessage(err), subject: options.subject, retryInMs: wait },
          "lease request failed",
        );
        await sleep(wait, signal);
        continue;
      }
      settle(batch.leases.length);
      log.debug({ leases: batch.leases.length, retryAfterMs: batch.retryAfterMs }, "lease answer");
      const now = Date.now();
      options.onBatch?.(batch.leases.length);
      for (const lease of batch.leases) {
        const refusal = options.refuse?.(lease);
        if (refusal !== undefined) {
          options.warn("lease-foreign", { leaseId: lease.id }, refusal);
          continue;
        }
        if (!seen.admit(lease.id, lease.expiresAtMs, now)) {
          refusedDuplicates++;
          log.warn({ leaseId: lease.id }, "lease delivered twice; not fetching it again");
          continue;
        }
        // Counted from receipt as well as by the coordinator's clock: a worker clock running ahead of
        // the coordinator's would start a lease issued shortly before its host is due too early.
        if (lease.startAfterMs > 0) lease.notBeforeMs = Math.max(lease.notBeforeMs, now + lease.startAfterMs);
        options.onLease(lease);
      }
      // An answer held for its whole wait: nothing was due all that time, and asking again is the next wait.
      if (batch.leases.length === 0 && !batch.waited) {
        await sleep(idlePauseMs(batch.retryAfterMs, options.idlePollMaxMs), signal);
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

/** The pause before asking again after an answer with no lease: the coordinator's hint, else 100 ms, at most the cap. */
function idlePauseMs(retryAfterMs: number, idlePollMaxMs: number): number {
  return Math.min(retryAfterMs || 100, idlePollMaxMs);
}

/** How long a request held by the coordinator is still waited for once the worker stops. */
const STOP_ANSWER_WAIT_MS = 1000;

/** The request's answer, or undefined when the worker stopped and no answer came soon after. */
async function untilStopped<T>(request: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<undefined>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve(undefined), STOP_ANSWER_WAIT_MS);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([request, stopped]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
    if (timer !== undefined) clearTimeout(timer);
  }
}

function newRequestId(): string {
  return randomBytes(12).toString("base64url");
}

import {
  checkWorkerProof,
  DRAIN_SUBJECT,
  errorMessage,
  HEARTBEAT_SUBJECT,
  isFresh,
  type LimitedWarn,
  type Logger,
  PROOF_HEADER,
  proto,
  SIGNATURE_HEADER,
  signControl,
} from "@heed/shared";
import { headers, type NatsConnection, type Subscription } from "nats";
import type { SigningKey } from "../leases/signing-key.js";
import type { WorkerRegistry } from "./registry.js";

/** Heartbeats are small; anything this large is not one. */
const MAX_HEARTBEAT_BYTES = 4096;

/**
 * Feeds worker heartbeats on NATS into the registry. With a worker token, a
 * heartbeat must carry its proof: nobody else can put a worker on the list.
 */
export function followHeartbeats(
  nc: NatsConnection,
  registry: WorkerRegistry,
  options: {
    log: Logger;
    warn: LimitedWarn;
    workerToken: string | undefined;
    /** A worker said it is draining or stopped. */
    onStopping?: (workerId: string) => void;
  },
): Subscription {
  const { log, warn, workerToken } = options;
  return nc.subscribe(HEARTBEAT_SUBJECT, {
    callback: (err, msg) => {
      if (err) {
        log.warn({ err: errorMessage(err) }, "heartbeat subscription failed");
        return;
      }
      if (msg.data.length > MAX_HEARTBEAT_BYTES)
        return warn("heartbeat-size", { bytes: msg.data.length }, "oversized worker heartbeat ignored");
      if (
        workerToken !== undefined &&
        !checkWorkerProof(workerToken, "heartbeat", "", msg.data, msg.headers?.get(PROOF_HEADER))
      )
        return warn("heartbeat-proof", {}, "worker heartbeat without a valid worker-token proof ignored");
      let hb: proto.WorkerHeartbeat;
      try {
        hb = proto.WorkerHeartbeat.decode(msg.data);
      } catch (e) {
        return warn("heartbeat-undecodable", { err: errorMessage(e) }, "undecodable worker heartbeat");
      }
      const now = Date.now();
      if (workerToken !== undefined && !isFresh(hb.sentAtMs, now))
        return warn(
          "heartbeat-stale",
          { sentAtMs: hb.sentAtMs },
          "stale or replayed worker heartbeat ignored",
        );
      const refusal = registry.observe(hb, now);
      if (refusal !== undefined)
        return warn("heartbeat-invalid", { reason: refusal }, "worker heartbeat refused");
      if (
        hb.state === proto.WorkerState.WORKER_STATE_DRAINING ||
        hb.state === proto.WorkerState.WORKER_STATE_STOPPED
      )
        options.onStopping?.(hb.workerId);
    },
  });
}

/** Broadcasts a signed drain: to one worker, or to every worker when `workerId` is empty. */
export async function publishDrain(nc: NatsConnection, key: SigningKey, workerId: string): Promise<void> {
  const data = proto.WorkerDrain.encode({ workerId, sentAtMs: Date.now() }).finish();
  const h = headers();
  h.set(SIGNATURE_HEADER, signControl(key.privateKey, "drain", "", data));
  nc.publish(DRAIN_SUBJECT, data, { headers: h });
  // Flushed before answering, so "drain sent" means the NATS server has it.
  await nc.flush();
}

import { DRAIN_SUBJECT, errorMessage, HEARTBEAT_SUBJECT, type Logger, proto } from "@heed/shared";
import type { NatsConnection, Subscription } from "nats";
import type { WorkerRegistry } from "./registry.js";

/** Feeds every worker heartbeat on NATS into the registry. */
export function followHeartbeats(nc: NatsConnection, registry: WorkerRegistry, log: Logger): Subscription {
  return nc.subscribe(HEARTBEAT_SUBJECT, {
    callback: (err, msg) => {
      if (err) {
        log.warn({ err: errorMessage(err) }, "heartbeat subscription failed");
        return;
      }
      try {
        registry.observe(proto.WorkerHeartbeat.decode(msg.data), Date.now());
      } catch (e) {
        log.warn({ err: errorMessage(e) }, "undecodable worker heartbeat");
      }
    },
  });
}

/** Broadcasts a drain: to one worker, or to every worker when `workerId` is empty. */
export async function publishDrain(nc: NatsConnection, workerId: string): Promise<void> {
  nc.publish(DRAIN_SUBJECT, proto.WorkerDrain.encode({ workerId }).finish());
  // Flushed before answering, so "drain sent" means the NATS server has it.
  await nc.flush();
}

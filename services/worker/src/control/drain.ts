import { DRAIN_SUBJECT, errorMessage, type Logger, proto } from "@heed/shared";
import type { NatsConnection, Subscription } from "nats";

/**
 * Listens for drain broadcasts: one naming this worker, or one naming none
 * (every worker). The operator's DrainWorkers call publishes them.
 */
export function listenForDrain(
  nc: NatsConnection,
  workerId: string,
  onDrain: () => void,
  log: Logger,
): Subscription {
  return nc.subscribe(DRAIN_SUBJECT, {
    callback: (err, msg) => {
      if (err) {
        log.warn({ err: errorMessage(err) }, "drain subscription failed");
        return;
      }
      let drain: proto.WorkerDrain;
      try {
        drain = proto.WorkerDrain.decode(msg.data);
      } catch (e) {
        log.warn({ err: errorMessage(e) }, "undecodable drain message");
        return;
      }
      if (drain.workerId !== "" && drain.workerId !== workerId) return;
      log.info({ all: drain.workerId === "" }, "drain requested");
      onDrain();
    },
  });
}

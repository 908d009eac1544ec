import {
  DRAIN_SUBJECT,
  errorMessage,
  isFresh,
  type LimitedWarn,
  type Logger,
  proto,
  SIGNATURE_HEADER,
} from "@heed/shared";
import type { NatsConnection, Subscription } from "nats";
import type { MessageTrust } from "../leases/trust.js";

/**
 * Listens for drain broadcasts: one naming this worker, or one naming none
 * (every worker). The operator's DrainWorkers call makes the coordinator
 * publish them, signed; anything unsigned, signed by another key or stale is
 * ignored, so a client on NATS cannot stop the fleet.
 */
export function listenForDrain(
  nc: NatsConnection,
  options: {
    workerId: string;
    trust: MessageTrust;
    onDrain: () => void;
    log: Logger;
    warn: LimitedWarn;
  },
): Subscription {
  const { workerId, trust, onDrain, log, warn } = options;
  return nc.subscribe(DRAIN_SUBJECT, {
    callback: (err, msg) => {
      if (err) {
        log.warn({ err: errorMessage(err) }, "drain subscription failed");
        return;
      }
      void (async () => {
        if (!(await trust.signed("drain", "", msg.data, msg.headers?.get(SIGNATURE_HEADER))))
          return warn("drain-signature", {}, "drain not signed by the coordinator; ignored");
        let drain: proto.WorkerDrain;
        try {
          drain = proto.WorkerDrain.decode(msg.data);
        } catch (e) {
          return warn("drain-undecodable", { err: errorMessage(e) }, "undecodable drain message");
        }
        if (!isFresh(drain.sentAtMs, Date.now()))
          return warn("drain-stale", { sentAtMs: drain.sentAtMs }, "stale drain (a replay?); ignored");
        if (drain.workerId !== "" && drain.workerId !== workerId) return;
        log.info({ all: drain.workerId === "" }, "drain requested");
        onDrain();
      })();
    },
  });
}

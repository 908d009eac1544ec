import { errorMessage, HEARTBEAT_SUBJECT, type Logger, PROOF_HEADER, proto, workerProof } from "@heed/shared";
import { headers, type NatsConnection } from "nats";

export interface Heartbeat {
  /** Publishes now (state changes should not wait for the next beat). */
  beat(): void;
  /** Stops beating; publishes one last heartbeat first if `last` is given. */
  stop(last?: proto.WorkerHeartbeat): Promise<void>;
}

/**
 * Announces the worker on NATS every `intervalMs`. Heartbeats are
 * fire-and-forget: a lost one costs nothing because counters are cumulative,
 * and the coordinator only forgets a worker after three missed beats.
 */
export function startHeartbeat(
  nc: NatsConnection,
  intervalMs: number,
  /** The worker token: heartbeats carry its proof, so nobody else can pose as this worker. */
  token: string | undefined,
  snapshot: () => proto.WorkerHeartbeat,
  log: Logger,
): Heartbeat {
  const publish = (hb: proto.WorkerHeartbeat) => {
    try {
      const data = proto.WorkerHeartbeat.encode(hb).finish();
      const h = headers();
      if (token !== undefined) h.set(PROOF_HEADER, workerProof(token, "heartbeat", "", data));
      nc.publish(HEARTBEAT_SUBJECT, data, { headers: h });
    } catch (err) {
      // Closed or reconnecting: the next beat tries again.
      log.debug({ err: errorMessage(err) }, "heartbeat not sent");
    }
  };
  const timer = setInterval(() => publish(snapshot()), intervalMs);
  timer.unref();
  publish(snapshot());
  return {
    beat: () => publish(snapshot()),
    async stop(last) {
      clearInterval(timer);
      if (last === undefined || nc.isClosed()) return;
      publish(last);
      await nc.flush().catch(() => undefined);
    },
  };
}

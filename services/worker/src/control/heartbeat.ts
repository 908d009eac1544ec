import { errorMessage, HEARTBEAT_SUBJECT, type Logger, proto } from "@heed/shared";
import type { NatsConnection } from "nats";

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
  snapshot: () => proto.WorkerHeartbeat,
  log: Logger,
): Heartbeat {
  const publish = (hb: proto.WorkerHeartbeat) => {
    try {
      nc.publish(HEARTBEAT_SUBJECT, proto.WorkerHeartbeat.encode(hb).finish());
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

import {
  type CoordinatorConfig,
  errorMessage,
  type Logger,
  type ProbeServer,
  sleep,
  startProbeServer,
  UnavailableError,
} from "@heed/shared";
import { connect, type NatsConnection } from "nats";
import { type Frontier, openFrontier } from "./frontier/frontier.js";
import { startGrpcServer } from "./grpc/server.js";
import { serveLeases } from "./leases/responder.js";

export interface Coordinator {
  frontier: Frontier;
  /** The port the gRPC server listens on (useful when configured as :0). */
  grpcPort: number;
  /** The port of /livez and /readyz, when enabled. */
  httpPort: number | undefined;
  close(): Promise<void>;
}

/** Starts a coordinator: opens the frontier, answers lease requests over NATS and reports over gRPC. */
export async function startCoordinator(config: CoordinatorConfig, log: Logger): Promise<Coordinator> {
  const frontier = openFrontier({
    dataDir: config.dataDir,
    settings: {
      leaseMarginMs: config.leaseMarginMs,
      leaseTtlMs: config.leaseTtlMs,
      maxWaitHintMs: config.maxWaitHintMs,
    },
    log: log.child({ component: "frontier" }),
  });
  let nc: NatsConnection | undefined;
  try {
    const grpc = await startGrpcServer(config.grpcListen, frontier, log.child({ component: "grpc" }));
    try {
      nc = await connect({ servers: config.natsUrl, name: "heed-coordinator", maxReconnectAttempts: -1 });
    } catch (err) {
      await grpc.close();
      throw new UnavailableError(
        "HEED_NATS_CONNECT",
        `cannot reach NATS at ${config.natsUrl}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    const conn = nc;
    const sub = serveLeases(conn, config.leaseSubject, frontier, log.child({ component: "leases" }));
    const sweep = setInterval(() => {
      try {
        const n = frontier.expire();
        if (n > 0) log.info({ expired: n }, "leases expired and re-queued");
      } catch (err) {
        log.error({ err: errorMessage(err) }, "lease expiry sweep failed");
      }
    }, config.sweepIntervalMs);
    let closed = false;
    let probe: ProbeServer | undefined;
    if (config.httpListen !== "") {
      probe = await startProbeServer(config.httpListen, { ready: () => !closed && !conn.isClosed() });
    }
    log.info({ grpcPort: grpc.port, httpPort: probe?.port, dataDir: config.dataDir }, "coordinator started");
    return {
      frontier,
      grpcPort: grpc.port,
      httpPort: probe?.port,
      async close() {
        if (closed) return;
        closed = true;
        await probe?.close();
        // Stop leasing, then give workers time to report what they hold before the gRPC server goes.
        sub.unsubscribe();
        const drainUntil = Date.now() + config.drainTimeoutMs;
        while (frontier.activeLeaseCount() > 0 && Date.now() < drainUntil) await sleep(50);
        if (frontier.activeLeaseCount() > 0) {
          log.warn(
            { activeLeases: frontier.activeLeaseCount() },
            "closing with leases out; they expire and are re-queued after restart",
          );
        }
        clearInterval(sweep);
        await conn.drain().catch(() => conn.close());
        await grpc.close();
        await frontier.close();
        log.info("coordinator stopped");
      },
    };
  } catch (err) {
    await frontier.close();
    throw err;
  }
}

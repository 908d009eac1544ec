import { join } from "node:path";
import {
  AlreadyExistsError,
  COORDINATOR_INBOX_PREFIX,
  type CoordinatorConfig,
  createLimitedWarn,
  drainAndClose,
  errorMessage,
  grpcServerCredentials,
  type Logger,
  natsConnectOptions,
  type ProbeServer,
  partitionOfHost,
  setParsedRobotsBudget,
  shardAdminSubject,
  sleep,
  startProbeServer,
  UnavailableError,
} from "@heed/shared";
import { connect, type NatsConnection } from "nats";
import { checkExposure, createAuth, loadTokens } from "./admin/auth.js";
import { adminFleetView } from "./admin/fleet-view.js";
import { adminService } from "./admin/service.js";
import { serveShardAdmin } from "./admin/shard-rpc.js";
import { createRateSampler } from "./admin/stats.js";
import { type Frontier, openFrontier } from "./frontier/frontier.js";
import { startGrpcServer } from "./grpc/server.js";
import { identityRoutes } from "./identity/routes.js";
import { serveLeases } from "./leases/responder.js";
import { loadSigningKey } from "./leases/signing-key.js";
import { createCoordinatorMetrics } from "./metrics.js";
import { lateShard } from "./shards/frontier-shard.js";
import { type ShardMode, startShardMode } from "./shards/shard-mode.js";
import { followHeartbeats, publishDrain } from "./workers/presence.js";
import { createWorkerRegistry, type WorkerRegistry } from "./workers/registry.js";

/** Lease audit retention runs this often; each pass deletes a bounded number of records. */
const LEASE_RETENTION_INTERVAL_MS = 10_000;
/** Recrawls are scheduled in days: looking once a minute starts them on time. */
const RECRAWL_CHECK_INTERVAL_MS = 60_000;

export interface Coordinator {
  frontier: Frontier;
  /** Live workers, from their heartbeats. */
  workers: WorkerRegistry;
  /** The port the gRPC server listens on (useful when configured as :0). */
  grpcPort: number;
  /** The port of /livez and /readyz, when enabled. */
  httpPort: number | undefined;
  /** Sharded mode (a shard id is configured): the fleet's crawls and the URL stream. */
  shard: ShardMode | undefined;
  close(): Promise<void>;
}

/** Starts a coordinator: opens the frontier, answers lease requests over NATS and reports over gRPC. */
export async function startCoordinator(config: CoordinatorConfig, log: Logger): Promise<Coordinator> {
  // Tokens, certificates and NATS credentials are read and checked before anything is opened or bound.
  const tokens = loadTokens(config);
  checkExposure(config, tokens);
  const auth = createAuth(tokens);
  const identity = identityRoutes(config, () =>
    (opened?.crawls() ?? [])
      .filter((c) => c.spec.signRequests === true && c.state !== "cancelled")
      .map((c) => c.spec),
  );
  const tls = grpcServerCredentials(config);
  const nats = natsConnectOptions(config, "heed-coordinator");
  nats.options.inboxPrefix = COORDINATOR_INBOX_PREFIX;
  let opened: Frontier | undefined;
  setParsedRobotsBudget(config.robotsParsedMiB);
  const metrics = createCoordinatorMetrics(() => opened);
  const shard = config.shardId !== "" ? lateShard(config.shardId) : undefined;
  const frontier = openFrontier({
    ...(shard !== undefined ? { shard } : {}),
    observer: metrics.observer,
    dataDir: config.dataDir,
    settings: {
      leaseMarginMs: config.leaseMarginMs,
      leaseTtlMs: config.leaseTtlMs,
      maxWaitHintMs: config.maxWaitHintMs,
      hostAffinityGraceMs: config.hostAffinityGraceMs,
      leaseLingerMs: config.leaseLingerMs,
      leaseAheadMs: config.leaseAheadMs,
      leaseRecordsKeep: config.leaseRecordsKeep,
      leaseRecordsMaxAgeMs: config.leaseRecordsMaxAgeMs,
    },
    log: log.child({ component: "frontier" }),
  });
  opened = frontier;
  let key: ReturnType<typeof loadSigningKey>;
  try {
    key = loadSigningKey(config.dataDir);
  } catch (err) {
    await frontier.close();
    throw err;
  }
  const natsLog = log.child({ component: "nats" });
  const warn = createLimitedWarn(natsLog, metrics.refused);
  let nc: NatsConnection | undefined;
  let sharded: ShardMode | undefined;
  const workers = createWorkerRegistry();
  const rates = createRateSampler();
  const admin = adminService({
    frontier,
    auth,
    workers,
    rates,
    drain: (workerId) =>
      nc !== undefined
        ? publishDrain(nc, key, workerId)
        : Promise.reject(new UnavailableError("HEED_NATS_CONNECT", "not connected to NATS yet")),
    log,
    warcDir: config.warcDir !== "" ? config.warcDir : join(config.dataDir, "warc"),
    ...(shard !== undefined
      ? {
          // Admin calls answer for the whole sharded crawl (the fleet is known once shard mode starts).
          shard: {
            id: shard.id,
            fleet: adminFleetView({
              selfId: shard.id,
              fleet: () => sharded?.fleet,
              placement: (host) => sharded?.placement(host) ?? partitionOfHost(host),
            }),
            nats: () => nc,
            timeoutMs: config.adminFanOutTimeoutMs,
            crawls: () => sharded?.crawls,
          },
        }
      : {}),
  });
  try {
    const grpc = await startGrpcServer({
      listen: config.grpcListen,
      coordinatorKey: key.publicKeyDer,
      credentials: tls.credentials,
      frontier,
      auth,
      admin: admin.implementation,
      log: log.child({ component: "grpc" }),
    });
    try {
      nc = await connect(nats.options);
    } catch (err) {
      admin.close();
      await grpc.close();
      throw new UnavailableError(
        "HEED_NATS_CONNECT",
        `cannot reach NATS at ${nats.display}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    const conn = nc;
    if (shard !== undefined) {
      try {
        sharded = await startShardMode({
          nc: conn,
          shard,
          frontier,
          leaseSubject: config.leaseSubject,
          grpcListen: config.grpcListen,
          grpcPort: grpc.port,
          grpcAdvertise: config.grpcAdvertise,
          signingPublicKeyDer: key.publicKeyDer,
          ownershipTimeoutMs: config.shardOwnershipTimeoutMs,
          jetstreamReplicas: config.jetstreamReplicas,
          leaseMarginMs: config.leaseMarginMs,
          shardIds: config.shardIds,
          join: config.shardJoin,
          log: log.child({ component: "shard", shardId: shard.id }),
        });
      } catch (err) {
        admin.close();
        await drainAndClose(conn, 1000);
        await grpc.close();
        throw err;
      }
    }
    // Other shards' admin questions, answered from this shard's own frontier.
    const shardAdmin =
      sharded !== undefined
        ? serveShardAdmin(
            conn,
            shardAdminSubject(sharded.shardId),
            admin.local,
            log.child({ component: "shard-admin" }),
          )
        : undefined;
    const sub = serveLeases(conn, {
      subject: sharded?.leaseSubject ?? config.leaseSubject,
      frontier,
      log: log.child({ component: "leases" }),
      workerToken: tokens.worker,
      key,
      warn,
    });
    const heartbeats = followHeartbeats(conn, workers, {
      log: natsLog,
      warn,
      workerToken: tokens.worker,
      // Its held lease requests are answered now: it stops waiting for them, and leases sent later would go nowhere.
      onStopping: (workerId) => frontier.releaseWorker(workerId),
    });
    const sampleRates = () => {
      try {
        rates.sample(frontier.crawls(), Date.now());
      } catch (err) {
        log.warn({ err: errorMessage(err) }, "rate sampling failed");
      }
    };
    sampleRates();
    const sampler = setInterval(sampleRates, 1000);
    const sweep = setInterval(() => {
      try {
        frontier.probe();
        const n = frontier.expire();
        if (n > 0) log.info({ expired: n }, "leases expired and re-queued");
      } catch (err) {
        log.error({ err: errorMessage(err) }, "lease expiry sweep failed");
      }
    }, config.sweepIntervalMs);
    const prune = setInterval(() => {
      try {
        const n = frontier.pruneLeaseRecords();
        if (n > 0) log.debug({ deleted: n }, "lease audit records past retention deleted");
      } catch (err) {
        log.error({ err: errorMessage(err) }, "lease record retention failed");
      }
    }, LEASE_RETENTION_INTERVAL_MS);
    const startRecrawls = () => {
      try {
        if (sharded === undefined) frontier.startDueRecrawls();
        else {
          // Every shard may propose it when its part is done; the crawls bucket takes the first (ids are fixed).
          const book = sharded.crawls;
          for (const input of frontier.dueRecrawls())
            book.create(input).catch((err: unknown) => {
              if (!(err instanceof AlreadyExistsError))
                log.error({ err: errorMessage(err) }, "starting a scheduled recrawl failed");
            });
        }
      } catch (err) {
        log.error({ err: errorMessage(err) }, "starting scheduled recrawls failed");
      }
    };
    startRecrawls();
    const recrawls = setInterval(startRecrawls, RECRAWL_CHECK_INTERVAL_MS);
    let closed = false;
    // A file-size limit (ulimit -f) reached by the frontier is a failed write to report and recover
    // from (see frontier.health()), not a reason to die.
    const ignoreFileSizeSignal = () => {};
    if (process.platform !== "win32") process.on("SIGXFSZ", ignoreFileSizeSignal);
    let probe: ProbeServer | undefined;
    if (config.httpListen !== "") {
      probe = await startProbeServer(config.httpListen, {
        // Not ready while the frontier cannot commit: nothing it would answer could be kept.
        ready: () => !closed && !conn.isClosed() && frontier.health().writable,
        route: (path, host) => {
          if (path === "/metrics") return metrics.render();
          const answer = identity(path, host);
          return answer === undefined ? undefined : Promise.resolve(answer);
        },
      });
    }
    log.info(
      {
        grpcPort: grpc.port,
        httpPort: probe?.port,
        dataDir: config.dataDir,
        nats: nats.display,
        ...(sharded !== undefined ? { shardId: sharded.shardId, leaseSubject: sharded.leaseSubject } : {}),
        tls: tls.tls,
        mtls: tls.mtls,
        adminTokensSet: tokens.operator !== undefined || tokens.readOnly !== undefined,
        workerTokenSet: tokens.worker !== undefined,
      },
      "coordinator started",
    );
    return {
      frontier,
      workers,
      grpcPort: grpc.port,
      httpPort: probe?.port,
      shard: sharded,
      async close() {
        if (closed) return;
        closed = true;
        await probe?.close();
        // Stop leasing (held requests are answered with nothing), then give workers time to report
        // what they hold before the gRPC server goes.
        sub.unsubscribe();
        await frontier.settle();
        const drainUntil = Date.now() + config.drainTimeoutMs;
        while (frontier.activeLeaseCount() > 0 && Date.now() < drainUntil) await sleep(50);
        if (frontier.activeLeaseCount() > 0) {
          log.warn(
            { activeLeases: frontier.activeLeaseCount() },
            "closing with leases out; they expire and are re-queued after restart",
          );
        }
        clearInterval(sweep);
        clearInterval(prune);
        clearInterval(recrawls);
        clearInterval(sampler);
        process.off("SIGXFSZ", ignoreFileSizeSignal);
        heartbeats.unsubscribe();
        shardAdmin?.unsubscribe();
        // A lease batch still committing is use the shard's budget share must count before it gives the rest back.
        await frontier.settle();
        await sharded?.close();
        admin.close();
        const unclean = await drainAndClose(conn, 2000);
        if (unclean !== undefined)
          log.debug({ reason: unclean }, "NATS connection closed without a full drain");
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

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { type CaptureStorage, s3SettingsFrom, startCaptureStorage } from "@heed/archive";
import {
  ConfigError,
  createLimitedWarn,
  errorMessage,
  grpcClientCredentials,
  HeedError,
  type Logger,
  natsConnectOptions,
  type ProbeServer,
  proto,
  readSecret,
  startProbeServer,
  UnavailableError,
  type WorkerConfig,
} from "@heed/shared";
import { connect, type NatsConnection } from "nats";
import { revisitSources } from "./capture/dedup.js";
import type { Exchange } from "./capture/exchange.js";
import { keepCapture } from "./capture/keep.js";
import { refusalOf } from "./capture/refusal.js";
import { createWarcWriter, type WarcStats, type WarcWriter } from "./capture/warc-writer.js";
import { listenForDrain } from "./control/drain.js";
import { startHeartbeat } from "./control/heartbeat.js";
import { createFetchAgent } from "./fetch/agent.js";
import { fetchLease } from "./fetch/fetch-lease.js";
import { requestSignerFromConfig } from "./fetch/signer-config.js";
import { joinShardFleet } from "./fleet/join.js";
import { createShardKeys } from "./fleet/keys.js";
import { pullFromFleet } from "./fleet/leases.js";
import { createShardReporters } from "./fleet/reports.js";
import { type Puller, pullLeases } from "./leases/puller.js";
import { startRenewals } from "./leases/renewals.js";
import { createLeaseRunner, type LeaseFetch } from "./leases/runner.js";
import { createCoordinatorTrust, type MessageTrust } from "./leases/trust.js";
import { createWorkerMetrics } from "./metrics.js";
import { createReporter, type Reporter } from "./report/reporter.js";
import { reportsEndFirst, requestEndOf } from "./report/request-end.js";

export const WORKER_VERSION = "0.1.0";

export interface WorkerStats {
  fetched: number;
  inFlight: number;
  pendingReports: number;
  refusedDuplicates: number;
  /** What this worker's WARC writer has written, when captures are on. */
  warc?: WarcStats;
}

export interface Worker {
  id: string;
  /** The port of /livez and /readyz, when enabled. */
  httpPort: number | undefined;
  stats(): WorkerStats;
  /** Stops taking leases, lets in-flight fetches finish and reports flush, within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /**
   * Resolves when the worker stops taking leases: by stop(), by an operator's
   * drain (the worker then stops itself within its drain timeout), or because
   * the coordinator refused its token (see failure()).
   */
  done: Promise<void>;
  /** Why the worker gave up on its own, if it did. */
  failure(): Error | undefined;
}

/**
 * A worker pulls leases over NATS whenever it has free capacity, fetches each
 * exactly as its lease allows, and reports over gRPC. It holds no state that
 * matters: killing it loses nothing the coordinator cannot re-lease.
 */
export interface WorkerHooks {
  /** Replaces the HTTP fetch (benchmarks measure the lease and report paths alone with it). */
  fetch?: (lease: proto.Lease) => Promise<proto.FetchResult>;
  /** Called with each closed WARC file's path: indexing and upload plug in here. */
  onWarcClosed?: (path: string) => void | Promise<void>;
}

/** Software named in every warcinfo record. */
const WARC_SOFTWARE = `Heed/${WORKER_VERSION} (warcio.js 2.4.11)`;

/** After a capture could not be written, no lease is taken for this long: fetching on would lose captures. */
const CAPTURE_FAILURE_PAUSE_MS = 30_000;

export async function startWorker(
  config: WorkerConfig,
  log: Logger,
  hooks: WorkerHooks = {},
): Promise<Worker> {
  const id = config.id ?? `${hostname().slice(0, 96)}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const wlog = log.child({ workerId: id });
  // Every file and secret is read before anything connects, so a bad one costs nothing.
  const token = readSecret(config.tokenFile, "tokenFile", "HEED_WORKER_TOKEN");
  const signer = requestSignerFromConfig(config);
  const s3Settings = s3SettingsFrom(config);
  const grpcCredentials = grpcClientCredentials(config);
  const nats = natsConnectOptions(config, `heed-worker-${id}`);
  let nc: NatsConnection;
  try {
    nc = await connect(nats.options);
  } catch (err) {
    throw new UnavailableError(
      "HEED_NATS_CONNECT",
      `cannot reach NATS at ${nats.display}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  let failure: Error | undefined;
  const stopping = new AbortController();
  const metrics = createWorkerMetrics();
  const warn = createLimitedWarn(wlog, metrics.refused);
  const onRefused = (details: string) => {
    // Fetching on would only cost the sites requests whose results nobody takes.
    failure ??= new HeedError("HEED_WORKER_REFUSED", `the coordinator refused the worker token: ${details}`);
    stopping.abort();
  };
  const fleet = await joinShardFleet(nc, config.shards, wlog).catch(async (err: unknown) => {
    await nc.close();
    throw err;
  });
  // Running leases by id, filled by the runner; the fleet's report clients and capacity split read it.
  let running: ReadonlyMap<string, unknown> = new Map();
  const shardReporters =
    fleet !== undefined
      ? createShardReporters({
          workerId: id,
          batchMax: config.reportBatchMax,
          flushMs: config.reportFlushMs,
          bufferMax: config.reportBufferMax,
          log: wlog,
          credentials: grpcCredentials,
          ...(token !== undefined ? { token } : {}),
          onRefused,
          holds: (shardId) => [...running.keys()].some((leaseId) => leaseId.startsWith(`${shardId}~`)),
        })
      : undefined;
  const shardKeys = fleet !== undefined ? createShardKeys(fleet, wlog) : undefined;
  let learnKey: (der: Uint8Array) => void = () => undefined;
  const reporter: Reporter =
    shardReporters ??
    createReporter({
      address: config.coordinator,
      workerId: id,
      batchMax: config.reportBatchMax,
      flushMs: config.reportFlushMs,
      bufferMax: config.reportBufferMax,
      log: wlog,
      credentials: grpcCredentials,
      ...(token !== undefined ? { token } : {}),
      onCoordinatorKey: (der) => learnKey(der),
      onRefused,
    });
  let trust: MessageTrust;
  if (shardKeys !== undefined) {
    trust = shardKeys.anyShard();
  } else {
    const coordinatorTrust = createCoordinatorTrust(() => reporter.renew([]), wlog);
    learnKey = coordinatorTrust.learn;
    trust = coordinatorTrust;
  }
  try {
    if (fleet !== undefined && shardReporters !== undefined) {
      await shardReporters.sync(fleet.members());
      if (failure !== undefined) throw new ConfigError("tokenFile", failure.message);
    } else {
      await reporter.probe();
    }
  } catch (err) {
    reporter.close();
    await fleet?.stop();
    await nc.close();
    throw err;
  }
  // The address each host name resolved to last, reported with results (politeness by IP).
  const resolved = new Map<string, string>();
  const remember = (hostname: string, address: string) => {
    if (resolved.size > 50_000) resolved.clear();
    resolved.set(hostname, address);
  };
  const guarded = createFetchAgent(true, remember);
  const open = createFetchAgent(false, remember);
  // What happens to a closed WARC file: its CDXJ index beside it, then upload when a bucket is set.
  // Started before the writer, whose recovery of files left open calls the hook at once.
  const storage: CaptureStorage | undefined =
    config.warcDir !== ""
      ? await startCaptureStorage({
          warcDir: config.warcDir,
          s3: s3Settings,
          maxPendingBytes: config.s3MaxPendingBytes,
          retryMaxMs: config.s3RetryMaxMs,
          log: wlog,
        })
      : undefined;
  const warc: WarcWriter | undefined =
    config.warcDir !== "" && storage !== undefined
      ? createWarcWriter({
          dir: config.warcDir,
          workerId: id,
          maxBytes: config.warcMaxBytes,
          software: WARC_SOFTWARE,
          log: wlog,
          ...(signer !== undefined ? { signer } : {}),
          onClosed: async (path) => {
            await storage.onClosed(path);
            await hooks.onWarcClosed?.(path);
          },
        })
      : undefined;
  if (warc === undefined) wlog.warn("no WARC directory configured: nothing fetched is kept");
  let captureFailedAtMs = Number.NEGATIVE_INFINITY;
  const fetch: LeaseFetch =
    hooks.fetch ??
    (async (lease, expiresAt, release, requestEnded) => {
      const exchanges: Exchange[] = [];
      const result = await fetchLease(
        lease,
        {
          guarded,
          open,
          allowPrivateAddresses: config.allowPrivateAddresses,
          leaseExpiresAt: expiresAt,
          addressOf: (hostname) => resolved.get(hostname),
          onExchange: (ex) => exchanges.push(ex),
          ...(signer !== undefined ? { signer } : {}),
        },
        release,
      );
      if (warc === undefined) return result;
      if (reportsEndFirst(lease, result, exchanges.length)) requestEnded(requestEndOf(result));
      const refusal = refusalOf(lease, result);
      const sources = await revisitSources(lease, exchanges, reporter.lookupDigest, wlog, refusal?.notKept);
      const kept = await keepCapture(warc, lease, result, exchanges, wlog, sources, refusal);
      if (kept.error === undefined) {
        exchanges.forEach((ex, i) => {
          if (sources[i]?.revisitOf !== undefined) metrics.revisit(ex.bodyBytes);
        });
      }
      if (kept.error?.code === "HEED_CAPTURE_FAILED") captureFailedAtMs = Date.now();
      return kept;
    });
  const runner = createLeaseRunner({ fetch, reporter, metrics, log: wlog, onSettled: () => puller.wake() });
  running = runner.running;
  const stopRenewals = startRenewals(runner.running, reporter, wlog);
  // No lease while captures cannot be written: the sites would be fetched for nothing. Nor while
  // closed captures cannot be stored (object store unreachable or full, upload backlog too large):
  // they wait on disk, and more fetching would only add to them.
  const capturesBlocked = () =>
    Date.now() - captureFailedAtMs < CAPTURE_FAILURE_PAUSE_MS || storage?.healthy() === false;
  const puller: Puller =
    fleet !== undefined && shardReporters !== undefined && shardKeys !== undefined
      ? pullFromFleet({
          nc,
          fleet,
          keys: shardKeys,
          reporters: shardReporters,
          workerId: id,
          workerVersion: WORKER_VERSION,
          requestTimeoutMs: config.leaseRequestTimeoutMs,
          idlePollMaxMs: config.idlePollMaxMs,
          concurrency: config.concurrency,
          // A shard whose reports cannot be delivered gets no new lease (see splitCapacity); the others go on.
          paused: capturesBlocked,
          running: runner.running,
          onLease: (lease) => runner.run(lease),
          onBatch: (n) => metrics.leasesReceived(n),
          signal: stopping.signal,
          log: wlog,
          ...(token !== undefined ? { token } : {}),
          warn,
        })
      : pullLeases({
          nc,
          subject: config.leaseSubject,
          workerId: id,
          workerVersion: WORKER_VERSION,
          requestTimeoutMs: config.leaseRequestTimeoutMs,
          idlePollMaxMs: config.idlePollMaxMs,
          // Nor while reports cannot reach the coordinator: new fetches would only be fetched again
          // after their leases expire.
          capacity: () =>
            reporter.full || reporter.stalled || capturesBlocked()
              ? 0
              : config.concurrency - runner.running.size,
          onLease: (lease) => runner.run(lease),
          onBatch: (n) => metrics.leasesReceived(n),
          signal: stopping.signal,
          log: wlog,
          ...(token !== undefined ? { token } : {}),
          trust,
          warn,
        });

  const probe: ProbeServer | undefined =
    config.httpListen !== ""
      ? await startProbeServer(config.httpListen, {
          ready: () => !stopping.signal.aborted && !nc.isClosed(),
          route: (path) =>
            path === "/metrics"
              ? metrics.render({ inFlight: runner.running.size, pendingReports: reporter.pending })
              : undefined,
        })
      : undefined;
  const startedAtMs = Date.now();
  const heartbeatOf = (state: proto.WorkerState): proto.WorkerHeartbeat => ({
    workerId: id,
    version: WORKER_VERSION,
    state,
    inFlight: runner.running.size,
    concurrency: config.concurrency,
    fetched: runner.fetched,
    startedAtMs,
    sentAtMs: Date.now(),
    intervalMs: config.heartbeatMs,
    hostname: hostname(),
    pid: process.pid,
  });
  const heartbeat = startHeartbeat(
    nc,
    config.heartbeatMs,
    token,
    () =>
      heartbeatOf(
        stopping.signal.aborted
          ? proto.WorkerState.WORKER_STATE_DRAINING
          : proto.WorkerState.WORKER_STATE_RUNNING,
      ),
    wlog,
  );
  wlog.info(
    {
      concurrency: config.concurrency,
      nats: nats.display,
      ...(fleet !== undefined
        ? { shards: fleet.members().map((m) => m.shardId) }
        : { coordinator: config.coordinator }),
      // The key's public name only: which key signs, never the key.
      signingKeyId: signer?.keyid ?? null,
    },
    "worker started",
  );

  let stopped: Promise<void> | undefined;
  const worker: Worker = {
    id,
    httpPort: probe?.port,
    stats: () => ({
      fetched: runner.fetched,
      inFlight: runner.running.size,
      pendingReports: reporter.pending,
      refusedDuplicates: puller.refusedDuplicates,
      ...(warc !== undefined ? { warc: warc.stats() } : {}),
    }),
    done: puller.done,
    failure: () => failure,
    stop(graceMs = 10_000) {
      stopped ??= (async () => {
        stopping.abort();
        puller.wake();
        drainSub.unsubscribe();
        heartbeat.beat();
        await puller.done;
        const deadline = Date.now() + graceMs;
        await runner.drain(graceMs);
        stopRenewals();
        await warc
          ?.close()
          .catch((err: unknown) => wlog.error({ err: errorMessage(err) }, "closing WARC files"));
        // Uploads not finished by now resume on the next start: the files stay in the WARC directory.
        await storage?.close();
        const left = await reporter.flush(Math.max(1000, deadline - Date.now()));
        if (left > 0) {
          wlog.warn(
            { unreported: left },
            "stopping with unreported results; their leases will expire and be retried",
          );
        }
        reporter.close();
        await fleet?.stop();
        await probe?.close();
        await heartbeat.stop(heartbeatOf(proto.WorkerState.WORKER_STATE_STOPPED));
        await nc.close();
        await Promise.all([guarded.close(), open.close()]);
        wlog.info({ fetched: runner.fetched }, "worker stopped");
      })();
      return stopped;
    },
  };
  // An operator's drain stops the worker as SIGTERM would; whoever awaits `done` then sees it.
  const drainSub = listenForDrain(nc, {
    workerId: id,
    trust,
    onDrain: () => void worker.stop(config.drainTimeoutMs),
    log: wlog,
    warn,
  });
  return worker;
}

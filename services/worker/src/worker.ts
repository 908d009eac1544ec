import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  backoffMs,
  createLimitedWarn,
  errorMessage,
  grpcClientCredentials,
  HeedError,
  type Logger,
  natsConnectOptions,
  PROOF_HEADER,
  type ProbeServer,
  proto,
  readSecret,
  SIGNATURE_HEADER,
  sleep,
  startProbeServer,
  UnavailableError,
  type WorkerConfig,
  workerProof,
} from "@heed/shared";
import { connect, createInbox, headers, type NatsConnection } from "nats";
import { Agent } from "undici";
import { listenForDrain } from "./control/drain.js";
import { startHeartbeat } from "./control/heartbeat.js";
import { fetchLease } from "./fetch/fetch-lease.js";
import { createLookup } from "./fetch/guard.js";
import { createSeenLeases } from "./leases/seen.js";
import { createCoordinatorTrust } from "./leases/trust.js";
import { createWorkerMetrics } from "./metrics.js";
import { createReporter } from "./report/reporter.js";

export const WORKER_VERSION = "0.1.0";

export interface WorkerStats {
  fetched: number;
  inFlight: number;
  pendingReports: number;
  refusedDuplicates: number;
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

function agent(guard: boolean, onResolved: (hostname: string, address: string) => void): Agent {
  return new Agent({
    connect: { timeout: 10_000, lookup: createLookup({ guard, onResolved }) },
    keepAliveTimeout: 4_000,
    maxHeaderSize: 64 * 1024,
    connections: 64,
  });
}

/**
 * A worker pulls leases over NATS whenever it has free capacity, fetches each
 * exactly as its lease allows, and reports over gRPC. It holds no state that
 * matters: killing it loses nothing the coordinator cannot re-lease.
 */
export interface WorkerHooks {
  /** Replaces the HTTP fetch (benchmarks measure the lease and report paths alone with it). */
  fetch?: (lease: proto.Lease) => Promise<proto.FetchResult>;
}

export async function startWorker(
  config: WorkerConfig,
  log: Logger,
  hooks: WorkerHooks = {},
): Promise<Worker> {
  const id = config.id ?? `${hostname().slice(0, 96)}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const wlog = log.child({ workerId: id });
  // Every file and secret is read before anything connects, so a bad one costs nothing.
  const token = readSecret(config.tokenFile, "tokenFile", "HEED_WORKER_TOKEN");
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
  let learnKey: (der: Uint8Array) => void = () => undefined;
  const reporter = createReporter({
    address: config.coordinator,
    workerId: id,
    batchMax: config.reportBatchMax,
    flushMs: config.reportFlushMs,
    bufferMax: config.reportBufferMax,
    log: wlog,
    credentials: grpcCredentials,
    ...(token !== undefined ? { token } : {}),
    onCoordinatorKey: (der) => learnKey(der),
    onRefused: (details) => {
      // Fetching on would only cost the sites requests whose results nobody takes.
      failure ??= new HeedError(
        "HEED_WORKER_REFUSED",
        `the coordinator refused the worker token: ${details}`,
      );
      stopping.abort();
      wake?.();
    },
  });
  const trust = createCoordinatorTrust(() => reporter.renew([]), wlog);
  learnKey = trust.learn;
  try {
    await reporter.probe();
  } catch (err) {
    reporter.close();
    await nc.close();
    throw err;
  }
  // The address each host name resolved to last, reported with results (politeness by IP).
  const resolved = new Map<string, string>();
  const remember = (hostname: string, address: string) => {
    if (resolved.size > 50_000) resolved.clear();
    resolved.set(hostname, address);
  };
  const guarded = agent(true, remember);
  const open = agent(false, remember);
  const seen = createSeenLeases();
  /** Leases being fetched: their task, current expiry (renewals move it) and a way to hand them back. */
  const inFlight = new Map<
    string,
    { task: Promise<void>; lease: proto.Lease; expiresAtMs: number; release: AbortController }
  >();
  let fetched = 0;
  let refusedDuplicates = 0;
  let wake: (() => void) | undefined;

  function runLease(lease: proto.Lease): void {
    const release = new AbortController();
    const entry = { task: Promise.resolve(), lease, expiresAtMs: lease.expiresAtMs, release };
    const fetching = hooks.fetch
      ? hooks.fetch(lease)
      : fetchLease(
          lease,
          {
            guarded,
            open,
            allowPrivateAddresses: config.allowPrivateAddresses,
            leaseExpiresAt: () => entry.expiresAtMs,
            addressOf: (hostname) => resolved.get(hostname),
          },
          release.signal,
        );
    entry.task = fetching
      .then((result) => {
        fetched++;
        metrics.fetched(lease, result);
        if (release.signal.aborted) {
          // Drained before it could finish: hand the lease back rather than report a partial fetch.
          result.error = {
            kind: proto.FetchErrorKind.FETCH_ERROR_KIND_RELEASED,
            code: "HEED_LEASE_RELEASED",
            message: "worker draining",
          };
        } else if (result.error) {
          wlog.debug({ leaseId: lease.id, url: lease.url, error: result.error.code }, "fetch failed");
        }
        reporter.submit(result);
      })
      .catch((err) => wlog.error({ leaseId: lease.id, err: errorMessage(err) }, "fetch task crashed"))
      .finally(() => {
        inFlight.delete(lease.id);
        wake?.();
      });
    inFlight.set(lease.id, entry);
  }

  // Long downloads: renew leases past half their life so a slow but healthy fetch keeps its host slot.
  const keeper = setInterval(() => {
    const now = Date.now();
    const due = [...inFlight.values()].filter(
      (e) => e.expiresAtMs - now < (e.lease.expiresAtMs - e.lease.issuedAtMs) / 2,
    );
    if (due.length === 0) return;
    reporter.renew(due.map((e) => e.lease.id)).then(
      (acks) => {
        for (const ack of acks) {
          const e = inFlight.get(ack.leaseId);
          if (e !== undefined && ack.renewed) e.expiresAtMs = ack.expiresAtMs;
          else if (!ack.renewed) wlog.warn({ leaseId: ack.leaseId, reason: ack.reason }, "lease not renewed");
        }
      },
      (err: unknown) => wlog.warn({ err: errorMessage(err) }, "lease renewal failed"),
    );
  }, 500);
  keeper.unref();

  async function pullLoop(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      const free = config.concurrency - inFlight.size;
      // While reports cannot reach the coordinator, new fetches would only be fetched again after
      // their leases expire: take none until reports flow.
      if (free <= 0 || reporter.full || reporter.stalled) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 200);
        });
        wake = undefined;
        continue;
      }
      let batch: proto.LeaseBatch;
      try {
        const req = proto.LeaseRequest.encode({
          workerId: id,
          capacity: free,
          workerVersion: WORKER_VERSION,
          sentAtMs: Date.now(),
        }).finish();
        // A fresh inbox per request: the proof covers it, so a copied request cannot send leases elsewhere.
        const reply = createInbox();
        const h = headers();
        if (token !== undefined) h.set(PROOF_HEADER, workerProof(token, "lease-request", reply, req));
        const msg = await nc.request(config.leaseSubject, req, {
          timeout: config.leaseRequestTimeoutMs,
          noMux: true,
          reply,
          headers: h,
        });
        if (!(await trust.signed("lease-batch", reply, msg.data, msg.headers?.get(SIGNATURE_HEADER)))) {
          // Not from this worker's coordinator: act on none of it, and do not hammer whoever sent it.
          warn("lease-batch-signature", {}, "lease answer not signed by the coordinator; ignored");
          failures++;
          await sleep(backoffMs(failures, 500, 5000), stopping.signal);
          continue;
        }
        batch = proto.LeaseBatch.decode(msg.data);
        failures = 0;
      } catch (err) {
        if (stopping.signal.aborted) break;
        failures++;
        const wait = backoffMs(failures, 100, 2000);
        // No coordinator answering is normal during restarts; keep asking, slowly.
        wlog.warn({ err: errorMessage(err), retryInMs: wait }, "lease request failed");
        await sleep(wait, stopping.signal);
        continue;
      }
      const now = Date.now();
      metrics.leasesReceived(batch.leases.length);
      for (const lease of batch.leases) {
        if (!seen.admit(lease.id, lease.expiresAtMs, now)) {
          refusedDuplicates++;
          wlog.warn({ leaseId: lease.id }, "lease delivered twice; not fetching it again");
          continue;
        }
        runLease(lease);
      }
      if (batch.leases.length === 0) {
        await sleep(Math.min(batch.retryAfterMs || 100, config.idlePollMaxMs), stopping.signal);
      }
    }
  }

  const probe: ProbeServer | undefined =
    config.httpListen !== ""
      ? await startProbeServer(config.httpListen, {
          ready: () => !stopping.signal.aborted && !nc.isClosed(),
          route: (path) =>
            path === "/metrics"
              ? metrics.render({ inFlight: inFlight.size, pendingReports: reporter.pending })
              : undefined,
        })
      : undefined;
  const done = pullLoop().catch((err) => wlog.error({ err: errorMessage(err) }, "lease loop stopped"));
  const startedAtMs = Date.now();
  const heartbeatOf = (state: proto.WorkerState): proto.WorkerHeartbeat => ({
    workerId: id,
    version: WORKER_VERSION,
    state,
    inFlight: inFlight.size,
    concurrency: config.concurrency,
    fetched,
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
    { concurrency: config.concurrency, nats: nats.display, coordinator: config.coordinator },
    "worker started",
  );

  let stopped: Promise<void> | undefined;
  const worker: Worker = {
    id,
    httpPort: probe?.port,
    stats: () => ({ fetched, inFlight: inFlight.size, pendingReports: reporter.pending, refusedDuplicates }),
    done,
    failure: () => failure,
    stop(graceMs = 10_000) {
      stopped ??= (async () => {
        stopping.abort();
        wake?.();
        drainSub.unsubscribe();
        heartbeat.beat();
        await done;
        const deadline = Date.now() + graceMs;
        const grace = new AbortController();
        await Promise.race([
          Promise.all([...inFlight.values()].map((e) => e.task)),
          sleep(graceMs, grace.signal),
        ]);
        grace.abort();
        if (inFlight.size > 0) {
          wlog.info({ leases: inFlight.size }, "drain time is up; handing unfinished leases back");
          for (const e of inFlight.values()) e.release.abort();
          await Promise.all([...inFlight.values()].map((e) => e.task));
        }
        clearInterval(keeper);
        const left = await reporter.flush(Math.max(1000, deadline - Date.now()));
        if (left > 0) {
          wlog.warn(
            { unreported: left },
            "stopping with unreported results; their leases will expire and be retried",
          );
        }
        reporter.close();
        await probe?.close();
        await heartbeat.stop(heartbeatOf(proto.WorkerState.WORKER_STATE_STOPPED));
        await nc.close();
        await Promise.all([guarded.close(), open.close()]);
        wlog.info({ fetched }, "worker stopped");
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

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Coordinator, startCoordinator } from "@heed/coordinator";
import {
  type CrawlSpecInput,
  coordinatorConfigSchema,
  createLogger,
  type Logger,
  parseConfig,
  workerConfigSchema,
} from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { startWorker, type Worker } from "@heed/worker";

export const TEST_UA = { product: "HeedBot", version: "0.1", contact: "heed-tests@example.org" } as const;

export function testLogger(): Logger {
  return createLogger({ level: process.env.HEED_TEST_LOG ?? "silent", pretty: false });
}

export interface Cluster {
  nats: NatsServerHandle;
  coordinator: Coordinator;
  workers: Worker[];
  dataDir: string;
  log: Logger;
  startWorkers(n: number, overrides?: Record<string, unknown>): Promise<Worker[]>;
  restartCoordinator(): Promise<Coordinator>;
  stop(): Promise<void>;
}

/** Real parts only: a nats-server on a free port, a coordinator on LMDB in a temp dir, real workers. */
export async function startCluster(
  options: { workers?: number; coordinator?: Record<string, unknown>; worker?: Record<string, unknown> } = {},
): Promise<Cluster> {
  const log = testLogger();
  const dataDir = mkdtempSync(join(tmpdir(), "heed-test-"));
  const nats = await startNatsServer();
  const coordinatorConfig = parseConfig(coordinatorConfigSchema, {
    dataDir,
    natsUrl: nats.url,
    grpcListen: "127.0.0.1:0",
    leaseMarginMs: 1000,
    drainTimeoutMs: 500,
    sweepIntervalMs: 50,
    maxWaitHintMs: 50,
    ...options.coordinator,
  });
  let coordinator = await startCoordinator(coordinatorConfig, log);
  const workers: Worker[] = [];
  const cluster: Cluster = {
    nats,
    get coordinator() {
      return coordinator;
    },
    workers,
    dataDir,
    log,
    async startWorkers(n, overrides = {}) {
      const started = await Promise.all(
        Array.from({ length: n }, () =>
          startWorker(
            parseConfig(workerConfigSchema, {
              natsUrl: nats.url,
              coordinator: `127.0.0.1:${coordinator.grpcPort}`,
              concurrency: 4,
              allowPrivateAddresses: true,
              reportFlushMs: 5,
              idlePollMaxMs: 50,
              warcDir: join(dataDir, "warc"),
              ...options.worker,
              ...overrides,
            }),
            log,
          ),
        ),
      );
      workers.push(...started);
      return started;
    },
    async restartCoordinator() {
      const port = coordinator.grpcPort;
      await coordinator.close();
      coordinator = await startCoordinator({ ...coordinatorConfig, grpcListen: `127.0.0.1:${port}` }, log);
      return coordinator;
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop(2000)));
      await coordinator.close();
      await nats.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await cluster.startWorkers(options.workers ?? 0);
  return cluster;
}

export function crawlSpec(seeds: string[], overrides: Partial<CrawlSpecInput> = {}): CrawlSpecInput {
  return {
    seeds,
    userAgent: TEST_UA,
    allowPrivateAddresses: true,
    maxDepth: 10,
    ...overrides,
    politeness: {
      minDelayMs: 100,
      robotsRetryBaseMs: 100,
      robotsRetryMaxMs: 200,
      robotsMaxAttempts: 2,
      errorBackoffBaseMs: 200,
      errorBackoffMaxMs: 1000,
      ...overrides.politeness,
    },
    fetch: { timeoutMs: 5000, retryBaseMs: 100, retryMaxMs: 500, ...overrides.fetch },
  };
}

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CrawlRecord, FrontierCheck, LeaseRecord, UrlRecord } from "@heed/coordinator";
import type { CrawlSpecInput } from "@heed/shared";
import { sleep } from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { freePort } from "./ports.js";
import { exited, spawnHeed } from "./processes.js";
import { frontierReaders, listening } from "./readers.js";
import { stuckReport } from "./stuck.js";

/**
 * How long one process of the fleet may take to start. On the two shared cores under load a
 * `heed worker` took 10–15 s from spawn to "worker started" and a coordinator over 10 s to create
 * its crawl, so a test's own bound (pages crawled, a crawl finished) counts from when its
 * processes are up, and this one covers only their start.
 */
const STARTUP_MS = 60_000;

/** A worker's start as its log tells it: settled when it logs "worker started" or exits. */
interface WorkerStart {
  settled: boolean;
  done: Promise<void>;
  log(): string;
}

/**
 * A fleet of real processes for fault tests: a nats-server, one `heed
 * coordinator` and any number of `heed worker`s, each of which the test may
 * kill, stop or restart. Every process it starts, stop() ends.
 */
export interface Fleet {
  dataDir: string;
  /** Where the workers write their WARC captures. */
  warcDir: string;
  crawlId: string;
  nats: NatsServerHandle;
  grpcPort: number;
  coordinator: ChildProcess;
  workers: ChildProcess[];
  /** `httpPort` turns on /readyz and /metrics; `logLevel` (default silent) fills coordinatorLog(). */
  startCoordinator(options?: { httpPort?: number; logLevel?: string }): Promise<void>;
  /** What the current coordinator process logged so far. */
  coordinatorLog(): string;
  startWorker(options?: { coordinatorPort?: number }): ChildProcess;
  /** Waits until every worker started so far logged "worker started" (or exited); waitUntil and waitFinished do first. */
  workersStarted(): Promise<void>;
  /** Stops every live worker with SIGTERM (each drains and closes its WARC files) and waits for it. */
  stopWorkers(): Promise<void>;
  restartNats(): Promise<void>;
  crawl(): CrawlRecord | undefined;
  urls(): UrlRecord[];
  leases(): LeaseRecord[];
  check(): FrontierCheck;
  waitFinished(timeoutMs: number): Promise<CrawlRecord>;
  waitUntil(predicate: (crawl: CrawlRecord | undefined) => boolean, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startFleet(spec: CrawlSpecInput & { id: string }): Promise<Fleet> {
  const dataDir = mkdtempSync(join(tmpdir(), "heed-fleet-"));
  const crawlFile = join(dataDir, "crawl.json");
  writeFileSync(crawlFile, JSON.stringify(spec));
  let nats = await startNatsServer();
  const grpcPort = await freePort();
  let coordinatorLog = "";
  const readers = frontierReaders();
  const children = new Set<ChildProcess>();
  const starts = new Map<ChildProcess, WorkerStart>();
  const track = (c: ChildProcess) => {
    children.add(c);
    c.stderr?.resume();
    c.once("exit", () => children.delete(c));
    return c;
  };
  const fleet: Fleet = {
    dataDir,
    warcDir: join(dataDir, "warc"),
    crawlId: spec.id,
    get nats() {
      return nats;
    },
    grpcPort,
    coordinator: undefined as unknown as ChildProcess,
    workers: [],
    coordinatorLog: () => coordinatorLog,
    async startCoordinator(options = {}) {
      coordinatorLog = "";
      fleet.coordinator = track(
        spawnHeed([
          "coordinator",
          "--data-dir",
          dataDir,
          "--nats-url",
          nats.url,
          "--grpc-listen",
          `127.0.0.1:${grpcPort}`,
          "--crawl-file",
          crawlFile,
          "--lease-margin-ms",
          "1000",
          "--sweep-interval-ms",
          "50",
          "--max-wait-hint-ms",
          "50",
          "--drain-timeout-ms",
          "500",
          ...(options.httpPort !== undefined ? ["--http-listen", `127.0.0.1:${options.httpPort}`] : []),
          "--log-level",
          options.logLevel ?? "silent",
        ]),
      );
      fleet.coordinator.stderr?.on("data", (d) => {
        coordinatorLog += d;
      });
      // Ready when the crawl exists in the frontier (read once the coordinator serves, so after it
      // opened the frontier); a coordinator that exits first fails at once.
      const coordinator = fleet.coordinator;
      const deadline = Date.now() + STARTUP_MS;
      let serving = false;
      while (fleet.crawl() === undefined) {
        if (!serving && (await listening(grpcPort))) {
          serving = true;
          readers.allow(dataDir);
        }
        if (coordinator.exitCode !== null || coordinator.signalCode !== null) {
          throw new Error(
            `coordinator exited (${coordinator.exitCode ?? coordinator.signalCode}) before creating the crawl: ${coordinatorLog.slice(-3000)}`,
          );
        }
        if (Date.now() > deadline)
          throw new Error(
            `coordinator did not create the crawl in ${STARTUP_MS} ms: ${coordinatorLog.slice(-3000)}`,
          );
        await sleep(50);
      }
    },
    startWorker(options = {}) {
      const worker = track(
        spawnHeed([
          "worker",
          "--nats-url",
          nats.url,
          "--coordinator",
          `127.0.0.1:${options.coordinatorPort ?? grpcPort}`,
          "--allow-private-addresses",
          "--concurrency",
          "3",
          "--report-flush-ms",
          "5",
          "--idle-poll-max-ms",
          "50",
          "--drain-timeout-ms",
          "3000",
          "--warc-dir",
          fleet.warcDir,
          // Info is a handful of lines per worker, among them "worker started".
          "--log-level",
          "info",
        ]),
      );
      starts.set(worker, watchStart(worker));
      fleet.workers.push(worker);
      return worker;
    },
    workersStarted: () => workersStarted(),
    async stopWorkers() {
      const live = fleet.workers.filter((w) => w.exitCode === null && w.signalCode === null);
      for (const w of live) w.kill("SIGTERM");
      await Promise.all(live.map(exited));
    },
    async restartNats() {
      const port = nats.port;
      await nats.stop();
      await sleep(2000);
      nats = await startNatsServer({ port });
    },
    crawl: () => readers.read(dataDir, (frontier) => frontier.crawl(spec.id)),
    urls: () => readers.read(dataDir, (frontier) => frontier.urls(spec.id)) ?? [],
    leases: () => readers.read(dataDir, (frontier) => frontier.leases()) ?? [],
    check: () => {
      const result = readers.read(dataDir, (frontier) => frontier.check());
      if (result === undefined) throw new Error(`no frontier in ${dataDir}`);
      return result;
    },
    async waitUntil(predicate, timeoutMs) {
      await workersStarted();
      const until = Date.now() + timeoutMs;
      while (!predicate(fleet.crawl())) {
        if (Date.now() > until)
          throw new Error(
            `condition not met after ${timeoutMs} ms: ${JSON.stringify(fleet.crawl()?.counts)}`,
          );
        await sleep(50);
      }
    },
    async waitFinished(timeoutMs) {
      await workersStarted();
      const until = Date.now() + timeoutMs;
      for (;;) {
        const crawl = fleet.crawl();
        if (crawl !== undefined && crawl.state !== "running") return crawl;
        if (Date.now() > until)
          throw new Error(
            `crawl not finished after ${timeoutMs} ms: ${JSON.stringify(crawl?.counts)}; ` +
              (readers.read(dataDir, (frontier) => stuckReport(frontier, spec.id)) ?? "") +
              `; coordinator ${fleet.coordinator.exitCode === null && fleet.coordinator.signalCode === null ? "running" : `exited ${fleet.coordinator.exitCode ?? fleet.coordinator.signalCode}`}`,
          );
        await sleep(100);
      }
    },
    async stop() {
      for (const c of children) c.kill("SIGKILL");
      await Promise.all([...children].map(exited));
      await readers.close();
      await nats.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  /** Waits for every worker started so far to be up (or gone), at most STARTUP_MS in all. */
  async function workersStarted(): Promise<void> {
    const deadline = Date.now() + STARTUP_MS;
    for (const [worker, start] of starts) {
      if (start.settled) continue;
      if (!(await settlesWithin(start.done, deadline - Date.now())))
        throw new Error(
          `worker ${worker.pid} did not start in ${STARTUP_MS} ms: ${start.log().slice(-2000)}`,
        );
    }
  }
  return fleet;
}

function watchStart(worker: ChildProcess): WorkerStart {
  let log = "";
  const start: WorkerStart = { settled: false, done: Promise.resolve(), log: () => log };
  start.done = new Promise<void>((resolve) => {
    const settle = () => {
      start.settled = true;
      resolve();
    };
    worker.stderr?.on("data", (d) => {
      // Kept short: the start line is near the beginning, and a chunk may end mid-line.
      if (log.length < 20_000) log += d;
      if (!start.settled && log.includes('"msg":"worker started"')) settle();
    });
    worker.once("exit", settle);
  });
  return start;
}

async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

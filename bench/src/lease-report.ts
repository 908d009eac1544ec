import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsServerHandle } from "@heed/test-support";
import { type BenchChild, startChild } from "./procs/child.js";

/**
 * Lease + report throughput with the coordinator in its own process and
 * workers (fetches stubbed) in others, through a real nats-server, gRPC and
 * LMDB, next to the raw pipeline ceiling measured in the same run: the same
 * message flow (a NATS request for a batch of leases, a gRPC report of the
 * batch, one LMDB transaction writing its records) without Heed's logic.
 */

const HOSTS = Number(process.env.BENCH_HOSTS ?? 2000);
const PAGES_PER_HOST = Number(process.env.BENCH_PAGES_PER_HOST ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);

interface Run {
  leases: number;
  seconds: number;
  perSecond: number;
  /** CPU time of the coordinator (or raw server) and of all workers (or raw clients), per lease. */
  serverMicrosPerLease: number;
  workerMicrosPerLease: number;
}

async function cpuOf(children: BenchChild[]): Promise<number[]> {
  return Promise.all(children.map((c) => c.cpuMicros()));
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

async function measure(
  server: BenchChild,
  workers: BenchChild[],
  work: () => Promise<number>,
  untimed?: () => Promise<void>,
): Promise<Run> {
  await untimed?.();
  const [s0, ...w0] = await cpuOf([server, ...workers]);
  const t0 = process.hrtime.bigint();
  const leases = await work();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const [s1, ...w1] = await cpuOf([server, ...workers]);
  return {
    leases,
    seconds,
    perSecond: leases / seconds,
    serverMicrosPerLease: ((s1 as number) - (s0 as number)) / leases,
    workerMicrosPerLease: (sum(w1) - sum(w0)) / leases,
  };
}

async function rawPipeline(natsUrl: string, leases: number, durable: boolean): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), "heed-bench-raw-"));
  const server = await startChild("./raw-pipeline.js", [
    "server",
    natsUrl,
    dataDir,
    ...(durable ? ["durable", String(HOSTS), String(PAGES_PER_HOST)] : []),
  ]);
  const children: BenchChild[] = [server];
  try {
    const address = `127.0.0.1:${Number(server.details.grpcPort)}`;
    const clients = await Promise.all(
      Array.from({ length: WORKERS }, () => startChild("./raw-pipeline.js", ["client", natsUrl, address])),
    );
    children.push(...clients);
    const share = Math.ceil(leases / WORKERS);
    return await measure(server, clients, async () => {
      const done = await Promise.all(
        clients.map((c) =>
          c.ask<{ type: string; leases: number }>({ type: "run", leases: share, batch: CONCURRENCY }),
        ),
      );
      return sum(done.map((d) => d.leases));
    });
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function heedPipeline(natsUrl: string): Promise<Run & { pages: number; createSeconds: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "heed-bench-lease-"));
  const coordinator = await startChild("./heed-coordinator.js", [natsUrl, dataDir, "20"]);
  const children: BenchChild[] = [coordinator];
  try {
    const address = `127.0.0.1:${Number(coordinator.details.grpcPort)}`;
    const workers = await Promise.all(
      Array.from({ length: WORKERS }, () =>
        startChild("./heed-stub-worker.js", [natsUrl, address, String(CONCURRENCY)]),
      ),
    );
    children.push(...workers);
    const seeds: string[] = [];
    for (let h = 0; h < HOSTS; h++)
      for (let p = 0; p < PAGES_PER_HOST; p++) seeds.push(`http://h${h}.bench.invalid/p${p}`);
    let pages = 0;
    let id = "";
    let createSeconds = 0;
    const run = await measure(
      coordinator,
      workers,
      async () => {
        const crawled = await coordinator.ask<{ type: string; done: number }>({ type: "wait", id });
        pages = crawled.done;
        return crawled.done + HOSTS; // every page lease plus one robots lease per host
      },
      // Creating the crawl (seeding every URL) is not leasing: the raw pipeline has no frontier to fill.
      // The workers lease from the moment it exists, so the few leases before the clocks start count too.
      async () => {
        const t0 = process.hrtime.bigint();
        const created = await coordinator.ask<{ type: string; id: string }>({
          type: "crawl",
          wait: false,
          definition: {
            seeds,
            maxDepth: 0,
            maxPages: seeds.length,
            userAgent: { product: "HeedBench", contact: "bench@example.org" },
            politeness: { minDelayMs: 0 },
          },
        });
        createSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
        id = created.id;
      },
    );
    return { ...run, pages, createSeconds };
  } finally {
    // Workers first, so none is left asking a coordinator that has gone.
    await Promise.all(children.slice(1).map((c) => c.stop()));
    await coordinator.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function leaseReportBenchmark(nats: NatsServerHandle): Promise<void> {
  const heed = await heedPipeline(nats.url);
  const raw = await rawPipeline(nats.url, heed.leases, false);
  const durable = await rawPipeline(nats.url, heed.leases, true);
  const fmt = (n: number) => n.toFixed(0).padStart(9);
  const cpu = (r: Run) =>
    `CPU/lease: server ${r.serverMicrosPerLease.toFixed(0)} µs, workers ${r.workerMicrosPerLease.toFixed(0)} µs`;
  process.stdout.write(
    [
      "lease/report benchmark (own processes: nats-server, coordinator, workers; gRPC, LMDB; fetches stubbed)",
      `  hosts ${HOSTS}, pages ${heed.pages}, worker processes ${WORKERS} x concurrency ${CONCURRENCY}, lease batch ≤ ${CONCURRENCY}`,
      `  raw pipeline ceiling      ${fmt(raw.perSecond)} leases/s   (baseline; ${raw.leases} in ${raw.seconds.toFixed(2)} s; ${cpu(raw)})`,
      `  raw durable pipeline      ${fmt(durable.perSecond)} leases/s   (leases committed before they are sent, URL records keyed by URL; ${cpu(durable)})`,
      `  Heed                      ${fmt(heed.perSecond)} leases/s   (${heed.leases} in ${heed.seconds.toFixed(2)} s; ${cpu(heed)})`,
      `  (creating the crawl, not timed above: ${heed.createSeconds.toFixed(2)} s for ${heed.pages} seeds)`,
      `  ratio Heed / raw          ${(heed.perSecond / raw.perSecond).toFixed(2).padStart(9)}x`,
      `  ratio Heed / raw durable  ${(heed.perSecond / durable.perSecond).toFixed(2).padStart(9)}x`,
      "",
    ].join("\n"),
  );
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { crawlSpecToProto, parseCrawlSpec, proto, sleep } from "@heed/shared";
import { startNatsServer } from "@heed/test-support";
import { type BenchChild, startChild } from "./procs/child.js";

/**
 * Leases + reports per second of one crawl served by 1, 2 and 3 shards, each
 * shard a coordinator in its own process, through a real nats-server with
 * JetStream, gRPC and LMDB; worker processes lease from every shard with
 * their fetches stubbed (as in lease-report). Each shard count gets a fresh
 * nats-server and fresh data. Next to the measured rate: the rate projected
 * to one core per shard, from each shard's CPU seconds (the busiest shard
 * bounds the fleet), since on this machine the shards share its cores.
 */

const HOSTS = Number(process.env.BENCH_SHARDS_HOSTS ?? 1000);
const PAGES_PER_HOST = Number(process.env.BENCH_SHARDS_PAGES_PER_HOST ?? 10);
const WORKERS = Number(process.env.BENCH_SHARDS_WORKERS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_SHARDS_CONCURRENCY ?? 64);
const COUNTS = (process.env.BENCH_SHARDS_COUNTS ?? "1,2,3").split(",").map(Number);
const TIMEOUT_MS = 600_000;

export interface ShardRun {
  shards: number;
  leases: number;
  seconds: number;
  perSecond: number;
  /** CPU seconds of each shard's process over the run. */
  shardCpuSeconds: number[];
  workerCpuSeconds: number;
  /** leases / the busiest shard's CPU seconds: the rate with one core per shard. */
  projectedPerSecond: number;
}

function adminClient(address: string): proto.AdminServiceClient {
  return new proto.AdminServiceClient(address, credentials.createInsecure());
}

function call<Req, Res>(
  fn: (req: Req, cb: (err: Error | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function cpuSeconds(children: BenchChild[]): Promise<number[]> {
  return (await Promise.all(children.map((c) => c.cpuMicros()))).map((us) => us / 1e6);
}

async function runShards(n: number): Promise<ShardRun> {
  const nats = await startNatsServer({ jetstream: true });
  const dataDir = mkdtempSync(join(tmpdir(), "heed-bench-shards-"));
  const children: BenchChild[] = [];
  const ids = Array.from({ length: n }, (_, i) => `s${i}`);
  try {
    const shards = await Promise.all(
      ids.map((id) => startChild("./heed-shard.js", [nats.url, join(dataDir, id), id, ids.join(","), "20"])),
    );
    children.push(...shards);
    const first = `127.0.0.1:${Number(shards[0]?.details.grpcPort)}`;
    const workers = await Promise.all(
      Array.from({ length: WORKERS }, () =>
        startChild("./heed-stub-worker.js", [nats.url, first, String(CONCURRENCY), "shards"]),
      ),
    );
    children.push(...workers);
    const seeds: string[] = [];
    for (let h = 0; h < HOSTS; h++)
      for (let p = 0; p < PAGES_PER_HOST; p++) seeds.push(`http://h${h}.bench${h % 97}.invalid/p${p}`);
    const admin = adminClient(first);
    try {
      const cpu0 = await cpuSeconds(children);
      const t0 = process.hrtime.bigint();
      const definition = crawlSpecToProto(
        parseCrawlSpec({
          id: `bench-${n}`,
          seeds,
          maxDepth: 0,
          maxPages: seeds.length,
          userAgent: { product: "HeedBench", contact: "bench@example.org" },
          politeness: { minDelayMs: 0 },
        }),
      );
      await call(admin.createCrawl.bind(admin), { definition });
      // Done when every shard has settled its part: the fan-out stats add the shards up.
      const deadline = Date.now() + TIMEOUT_MS;
      let done = 0;
      for (;;) {
        const stats = await call<proto.GetStatsRequest, proto.GetStatsResponse>(admin.getStats.bind(admin), {
          crawlId: `bench-${n}`,
        });
        const c = stats.total?.counts;
        const settled = (c?.done ?? 0) + (c?.failed ?? 0) + (c?.skipped ?? 0);
        if (stats.missingShards.length === 0 && settled >= seeds.length) {
          done = c?.done ?? 0;
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`${n} shards: ${settled} of ${seeds.length} settled in time`);
        await sleep(50);
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu1 = await cpuSeconds(children);
      const used = cpu1.map((c, i) => c - (cpu0[i] as number));
      const shardCpuSeconds = used.slice(0, n);
      const leases = done + HOSTS; // every page lease plus one robots lease per host
      return {
        shards: n,
        leases,
        seconds,
        perSecond: leases / seconds,
        shardCpuSeconds,
        workerCpuSeconds: used.slice(n).reduce((a, b) => a + b, 0),
        projectedPerSecond: leases / Math.max(...shardCpuSeconds),
      };
    } finally {
      admin.close();
    }
  } finally {
    // Workers first, so none is left asking a shard that has gone.
    await Promise.all(children.slice(n).map((c) => c.stop()));
    await Promise.all(children.slice(0, n).map((c) => c.stop()));
    await nats.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function shardsBenchmark(): Promise<ShardRun[]> {
  const runs: ShardRun[] = [];
  for (const n of COUNTS) runs.push(await runShards(n));
  const base = runs[0] as ShardRun;
  const fmt = (x: number) => x.toFixed(0).padStart(7);
  const lines = [
    "sharded fleet: leases+reports/s of one crawl over 1, 2 and 3 shards (own processes: nats-server with JetStream, shards, workers; gRPC, LMDB; fetches stubbed)",
    `  hosts ${HOSTS}, pages ${HOSTS * PAGES_PER_HOST}, worker processes ${WORKERS} x concurrency ${CONCURRENCY}`,
  ];
  for (const r of runs)
    lines.push(
      `  ${r.shards} shard${r.shards > 1 ? "s" : " "}  measured ${fmt(r.perSecond)} leases/s  x${(r.perSecond / base.perSecond).toFixed(2)}` +
        `   one core per shard ${fmt(r.projectedPerSecond)} leases/s  x${(r.projectedPerSecond / base.projectedPerSecond).toFixed(2)}` +
        `   (${r.leases} in ${r.seconds.toFixed(2)} s; shard CPU s ${r.shardCpuSeconds.map((c) => c.toFixed(2)).join(", ")}; workers ${r.workerCpuSeconds.toFixed(2)})` +
        (r === base ? "  (baseline)" : ""),
    );
  lines.push("");
  process.stdout.write(lines.join("\n"));
  return runs;
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchMessage, startChild } from "./procs/child.js";

/**
 * Frontier scale: a synthetic crawl of many URLs over many hosts loaded into
 * a frontier in its own process (no network), then served by a fresh process
 * as a restarted coordinator, next to a small one (10 000 URLs over 1 000
 * hosts) in the same run: insert rate (overall and over the last tenth), LMDB
 * size, anonymous RSS loaded and restarted, restart time, the lease rate and
 * CPU per lease at both sizes, and the disk after the leases with lease audit
 * retention on.
 */
export interface LoadFigures {
  insertPerSecond: number;
  /** URLs per CPU second of the loading process: steadier than the wall rate on a busy machine. */
  insertPerCpuSecond: number;
  lastTenthInsertPerCpuSecond: number;
  diskBytes: number;
  loadedRssAnon: number;
}

export interface ServeFigures {
  restartSeconds: number;
  restartCpuSeconds: number;
  restartedRssAnon: number;
  servedRssAnon: number;
  servedDiskBytes: number;
  leaseRecords: number;
  pruned: number;
  leasesPerSecond: number;
  cpuMicrosPerLease: number;
}

type ScaleFigures = LoadFigures & ServeFigures;

async function inChild<T>(msg: BenchMessage): Promise<T> {
  const child = await startChild("./frontier-scale.js");
  try {
    return await child.ask<BenchMessage & T>(msg, 6 * 3_600_000);
  } finally {
    await child.stop();
  }
}

async function load(
  urls: number,
  hosts: number,
  leaseSeconds: number,
  leaseBatch: number,
): Promise<ScaleFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), "heed-bench-scale-"));
  try {
    const loaded = await inChild<LoadFigures>({ type: "load", dataDir, urls, hosts });
    const served = await inChild<ServeFigures>({ type: "serve", dataDir, leaseSeconds, leaseBatch });
    return { ...loaded, ...served };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function frontierScaleBenchmark(): Promise<void> {
  const urls = Number(process.env.BENCH_SCALE_URLS ?? 100_000);
  const hosts = Number(process.env.BENCH_SCALE_HOSTS ?? 10_000);
  const leaseSeconds = Number(process.env.BENCH_SCALE_LEASE_SECONDS ?? 5);
  // Leases asked for at once: each ask is one commit, its report another (a commit's fixed cost shows at small batches).
  const leaseBatch = Number(process.env.BENCH_SCALE_LEASE_BATCH ?? 256);
  // BENCH_SCALE_LEASE_SECONDS=0: load and restart only (no robots.txt round for every host, no leases).
  const small = await load(10_000, 1_000, leaseSeconds, leaseBatch);
  const large = await load(urls, hosts, leaseSeconds, leaseBatch);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const rows = (name: string, f: ScaleFigures, n: number, h: number) => [
    `  ${name}`,
    `    insert ${f.insertPerSecond.toFixed(0)} URLs/s, ${f.insertPerCpuSecond.toFixed(0)} per CPU second (last tenth ${f.lastTenthInsertPerCpuSecond.toFixed(0)} per CPU second)  disk ${mib(f.diskBytes)} (${(f.diskBytes / n).toFixed(0)} B/URL)  RssAnon loaded ${mib(f.loadedRssAnon)}`,
    `    restart ${f.restartSeconds.toFixed(2)} s (CPU ${f.restartCpuSeconds.toFixed(2)} s)  RssAnon restarted ${mib(f.restartedRssAnon)} (${(f.restartedRssAnon / h).toFixed(0)} B/host in all), after leasing ${mib(f.servedRssAnon)}`,
    `    leases ${f.leasesPerSecond.toFixed(0)}/s (CPU ${f.cpuMicrosPerLease.toFixed(0)} µs each, ${leaseBatch} per commit)  disk after leasing ${mib(f.servedDiskBytes)} (${f.leaseRecords} lease records kept, ${f.pruned} deleted by retention)`,
  ];
  process.stdout.write(
    [
      "frontier scale (synthetic crawl, loaded in one process, served restarted in another, no network)",
      ...rows("10 000 URLs / 1 000 hosts", small, 10_000, 1_000),
      ...rows(`${urls} URLs / ${hosts} hosts`, large, urls, hosts),
      `  ratio insert per CPU second, last tenth / whole (large) ${(large.lastTenthInsertPerCpuSecond / large.insertPerCpuSecond).toFixed(2)}x`,
      `  ratio insert per CPU second large / small ${(large.insertPerCpuSecond / small.insertPerCpuSecond).toFixed(2)}x`,
      `  ratio lease rate large / small   ${(large.leasesPerSecond / small.leasesPerSecond).toFixed(2)}x`,
      `  ratio CPU per lease large / small ${(large.cpuMicrosPerLease / small.cpuMicrosPerLease).toFixed(2)}x`,
      "",
    ].join("\n"),
  );
}

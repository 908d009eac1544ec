import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchMessage, startChild } from "./procs/child.js";

/**
 * Frontier scale: a synthetic crawl of many URLs over many hosts loaded into
 * a frontier in its own process (no network), next to a small one (10 000
 * URLs over 1 000 hosts) in the same run: insert rate, LMDB size, anonymous
 * RSS, restart time, and the lease rate at both sizes.
 */
export interface ScaleFigures {
  insertPerSecond: number;
  diskBytes: number;
  loadedRssAnon: number;
  restartedRssAnon: number;
  restartSeconds: number;
  leasesPerSecond: number;
  cpuMicrosPerLease: number;
}

async function load(urls: number, hosts: number, leaseSeconds: number): Promise<ScaleFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), "heed-bench-scale-"));
  const child = await startChild("./frontier-scale.js");
  try {
    return await child.ask<BenchMessage & ScaleFigures>(
      { type: "load", dataDir, urls, hosts, leaseSeconds },
      3_600_000,
    );
  } finally {
    await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function frontierScaleBenchmark(): Promise<void> {
  const urls = Number(process.env.BENCH_SCALE_URLS ?? 100_000);
  const hosts = Number(process.env.BENCH_SCALE_HOSTS ?? 10_000);
  const leaseSeconds = Number(process.env.BENCH_SCALE_LEASE_SECONDS ?? 5);
  const small = await load(10_000, 1_000, leaseSeconds);
  const large = await load(urls, hosts, leaseSeconds);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const row = (name: string, f: ScaleFigures, n: number) =>
    `  ${name.padEnd(26)} insert ${f.insertPerSecond.toFixed(0).padStart(7)} URLs/s  disk ${mib(f.diskBytes).padStart(10)} (${(f.diskBytes / n).toFixed(0)} B/URL)  RssAnon loaded ${mib(f.loadedRssAnon)}, restarted ${mib(f.restartedRssAnon)}  restart ${f.restartSeconds.toFixed(2)} s  leases ${f.leasesPerSecond.toFixed(0)}/s (CPU ${f.cpuMicrosPerLease.toFixed(0)} µs each)`;
  process.stdout.write(
    [
      "frontier scale (synthetic crawl, one frontier in its own process, no network)",
      row("10 000 URLs / 1 000 hosts", small, 10_000),
      row(`${urls} URLs / ${hosts} hosts`, large, urls),
      `  ratio lease rate large / small   ${(large.leasesPerSecond / small.leasesPerSecond).toFixed(2)}x`,
      `  ratio CPU per lease large / small ${(large.cpuMicrosPerLease / small.cpuMicrosPerLease).toFixed(2)}x`,
      "",
    ].join("\n"),
  );
}

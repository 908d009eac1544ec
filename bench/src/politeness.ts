import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type HostPlan, type RequestRecord, startLoopbackSite } from "@heed/loopback-site";
import type { NatsServerHandle } from "@heed/test-support";
import { largeRobotsTxt } from "./large-robots.js";
import { type BenchMessage, startChild } from "./procs/child.js";

const HEED_BIN = fileURLToPath(new URL("../../packages/cli/bin/heed.js", import.meta.url));
/** Worker processes start this long before the crawl, so their start-up is not counted as crawl CPU. */
const WORKER_SETTLE_MS = 3000;

/**
 * Politeness efficiency: H loopback hosts that all allow crawling, a delay d,
 * W workers. A perfectly polite fleet fetches at most H/d pages per second;
 * how close Heed gets, with zero violations in the site's own log, is the
 * figure that matters, and the CPU it spends per page (coordinator plus
 * workers, each in its own process) next to a raw single-process undici
 * fetch-and-parse loop over the same hosts in the same run.
 */
export interface PolitenessOptions {
  hosts: number;
  pagesPerHost: number;
  delayMs: number;
  workers: number;
  /** Concurrency of each worker. */
  concurrency: number;
  /** Stop after this long instead of when the crawl is done (hosts must not run dry meanwhile). */
  seconds?: number;
  /** Workers write WARC captures (durable before each report). */
  warc?: boolean;
  /** Each host's robots.txt is about this long (rules for paths the crawl never meets; 0: two lines). */
  robotsBytes?: number;
}

export interface CrawlFigures {
  pages: number;
  seconds: number;
  /** Steady state: per host, its page requests over the span from its first to its last start; summed. */
  achievedPerSecond: number;
  /** Median time from the end of one request to a host to the start of the next. */
  medianGapMs: number;
  /** The shortest gap and the first percentile: how close to the delay the crawl came. */
  minGapMs: number;
  p1GapMs: number;
  violations: number;
  cpuMsPerPage: number;
  /** Requests (robots.txt too) and the connections they came on, as the site saw them. */
  requests: number;
  connections: number;
}

export interface PolitenessFigures extends PolitenessOptions {
  idealPerSecond: number;
  heed: CrawlFigures & {
    coordinatorCpuMsPerPage: number;
    workersCpuMsPerPage: number;
    /** Coordinator CPU spent creating the crawl (seeding every URL), outside CPU per page. */
    seedingCpuMs: number;
    /** The coordinator's event-loop delay while crawling (ms). */
    lag: { p50: number; p99: number; max: number };
  };
  raw: CrawlFigures;
}

function violations(log: RequestRecord[], delayMs: number): number {
  let n = 0;
  for (const list of byHost(log).values()) {
    for (let i = 1; i < list.length; i++) {
      if ((list[i] as RequestRecord).startMs - (list[i - 1] as RequestRecord).endMs < delayMs - 1) n++;
    }
  }
  return n;
}

/** Requests per host, in order of their start. */
function byHost(log: RequestRecord[]): Map<string, RequestRecord[]> {
  const out = new Map<string, RequestRecord[]>();
  for (const r of log) {
    const list = out.get(r.host);
    if (list) list.push(r);
    else out.set(r.host, [r]);
  }
  for (const list of out.values()) list.sort((a, b) => a.startMs - b.startMs);
  return out;
}

function crawlFigures(log: RequestRecord[], delayMs: number, cpuMicros: number): CrawlFigures {
  const pages = log.filter((r) => r.path !== "/robots.txt");
  let achievedPerSecond = 0;
  const gaps: number[] = [];
  for (const list of byHost(pages).values()) {
    const span = ((list.at(-1) as RequestRecord).startMs - (list[0] as RequestRecord).startMs) / 1000;
    if (list.length > 1 && span > 0) achievedPerSecond += (list.length - 1) / span;
    for (let i = 1; i < list.length; i++)
      gaps.push((list[i] as RequestRecord).startMs - (list[i - 1] as RequestRecord).endMs);
  }
  gaps.sort((a, b) => a - b);
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const r of pages) {
    first = Math.min(first, r.startMs);
    last = Math.max(last, r.endMs);
  }
  return {
    pages: pages.length,
    seconds: pages.length > 0 ? (last - first) / 1000 : 0,
    achievedPerSecond,
    medianGapMs: gaps[Math.floor(gaps.length / 2)] ?? 0,
    minGapMs: gaps[0] ?? 0,
    p1GapMs: gaps[Math.floor(gaps.length / 100)] ?? 0,
    violations: violations(log, delayMs),
    cpuMsPerPage: cpuMicros / 1000 / Math.max(1, pages.length),
    requests: log.length,
    connections: new Set(log.map((r) => r.connection)).size,
  };
}

/** A process's user + system CPU time from /proc, in microseconds (clock ticks are 1/100 s on Linux). */
function procCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function politenessEfficiency(
  nats: NatsServerHandle,
  options: PolitenessOptions,
): Promise<PolitenessFigures> {
  const robots: HostPlan["robots"] =
    (options.robotsBytes ?? 0) > 0
      ? { kind: "text", text: largeRobotsTxt(options.robotsBytes ?? 0) }
      : { kind: "allow-all" };
  const plan: HostPlan[] = Array.from({ length: options.hosts }, () => ({
    robots,
    pages: options.pagesPerHost,
  }));
  const site = await startLoopbackSite({ hosts: plan, pageLatencyMs: 2, firstOctet: 2 });
  const dataDir = mkdtempSync(join(tmpdir(), "heed-bench-polite-"));
  const coordinator = await startChild("./heed-coordinator.js", [nats.url, dataDir, "50"]);
  // Workers run as their own processes, as in a real fleet, so the site and coordinator do not share their event loop.
  const workers = Array.from({ length: options.workers }, () =>
    spawn(
      process.execPath,
      [
        // `BENCH_CPU_PROF=DIR` profiles the workers too (written when they exit on SIGTERM).
        ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : []),
        HEED_BIN,
        "worker",
        "--nats-url",
        nats.url,
        "--coordinator",
        `127.0.0.1:${Number(coordinator.details.grpcPort)}`,
        "--concurrency",
        String(options.concurrency),
        "--allow-private-addresses",
        // The worker's own report batching unless the run asks for another (BENCH_REPORT_FLUSH_MS).
        ...(process.env.BENCH_REPORT_FLUSH_MS !== undefined
          ? ["--report-flush-ms", process.env.BENCH_REPORT_FLUSH_MS]
          : []),
        "--log-level",
        "silent",
        ...(options.warc === true ? ["--warc-dir", join(dataDir, "warc")] : []),
      ],
      { stdio: "ignore" },
    ),
  );
  const raw = await startChild("./raw-crawler.js");
  try {
    await sleep(WORKER_SETTLE_MS);
    const cpu = async () => ({
      coordinator: await coordinator.cpuMicros(),
      workers: workers.reduce((sum, w) => sum + procCpuMicros(w.pid as number), 0),
    });
    // Seeding every URL is a one-off cost of the crawl's creation, not of fetching pages: it is
    // timed on its own and left out of CPU per page (the raw loop has no frontier to fill).
    const seeding = await coordinator.cpuMicros();
    const created = await coordinator.ask<BenchMessage & { id: string }>({
      type: "crawl",
      wait: false,
      definition: {
        seeds: site.hosts.flatMap((h) =>
          Array.from({ length: options.pagesPerHost }, (_, j) => `${h.origin}/p/${j}`),
        ),
        maxDepth: 0,
        // Every seed may be fetched: the default budget would stop a large crawl early.
        maxPages: options.hosts * (options.pagesPerHost + 1),
        userAgent: { product: "HeedBench", contact: "bench@example.org" },
        allowPrivateAddresses: true,
        politeness: { minDelayMs: options.delayMs, delayFactor: 0 },
      },
    });
    await coordinator.ask({ type: "lag" });
    const before = await cpu();
    const seedingCpuMs = (before.coordinator - seeding) / 1000;
    if (options.seconds !== undefined) await sleep(options.seconds * 1000);
    else await coordinator.ask({ type: "wait", id: created.id });
    const after = await cpu();
    const lag = await coordinator.ask<BenchMessage & { p50: number; p99: number; max: number }>({
      type: "lag",
    });
    const heedLog = site.log.splice(0);
    for (const w of workers) w.kill("SIGSTOP");
    const heedCpu = after.coordinator - before.coordinator + (after.workers - before.workers);
    const heed = {
      ...crawlFigures(heedLog, options.delayMs, heedCpu),
      coordinatorCpuMsPerPage: 0,
      workersCpuMsPerPage: 0,
      seedingCpuMs,
      lag: { p50: lag.p50, p99: lag.p99, max: lag.max },
    };
    heed.coordinatorCpuMsPerPage = (after.coordinator - before.coordinator) / 1000 / Math.max(1, heed.pages);
    heed.workersCpuMsPerPage = (after.workers - before.workers) / 1000 / Math.max(1, heed.pages);

    // The same hosts, fresh (a stopped fleet sends nothing more), crawled by the raw loop.
    await sleep(options.delayMs);
    site.log.splice(0);
    const rawBefore = await raw.cpuMicros();
    await raw.ask({
      type: "crawl",
      origins: site.hosts.map((h) => h.origin),
      pagesPerHost: options.pagesPerHost,
      delayMs: options.delayMs,
      ...(options.seconds !== undefined ? { seconds: options.seconds } : {}),
    });
    const rawCpu = (await raw.cpuMicros()) - rawBefore;
    return {
      ...options,
      idealPerSecond: options.hosts / (options.delayMs / 1000),
      heed,
      raw: crawlFigures(site.log.splice(0), options.delayMs, rawCpu),
    };
  } finally {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            w.once("exit", () => resolve());
            w.kill("SIGCONT");
            w.kill("SIGTERM");
          }),
      ),
    );
    await raw.stop();
    await coordinator.stop();
    await site.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function formatPoliteness(title: string, f: PolitenessFigures): string {
  const row = (name: string, c: CrawlFigures) =>
    `  ${name.padEnd(30)} ${c.achievedPerSecond.toFixed(1).padStart(8)} pages/s  ${c.cpuMsPerPage.toFixed(3).padStart(7)} ms CPU/page  ${String(c.pages).padStart(7)} pages in ${c.seconds.toFixed(1)} s, median gap ${c.medianGapMs} ms (p1 ${c.p1GapMs}, min ${c.minGapMs}), violations ${c.violations}`;
  return [
    title,
    `  hosts ${f.hosts} (${f.pagesPerHost} pages each), delay ${f.delayMs} ms, Heed worker processes ${f.workers} x concurrency ${f.concurrency}${f.seconds !== undefined ? `, ${f.seconds} s each` : ""}${(f.robotsBytes ?? 0) > 0 ? `, robots.txt ${f.robotsBytes} bytes` : ""}`,
    `  polite capacity H/d             ${f.idealPerSecond.toFixed(1).padStart(8)} pages/s`,
    row("raw undici loop (baseline)", f.raw),
    row("Heed", f.heed),
    `  Heed CPU/page: coordinator ${f.heed.coordinatorCpuMsPerPage.toFixed(3)} ms, workers ${f.heed.workersCpuMsPerPage.toFixed(3)} ms (creating the crawl, not counted: ${(f.heed.seedingCpuMs / 1000).toFixed(1)} s coordinator CPU for ${f.hosts * f.pagesPerHost} seeds)`,
    `  Heed coordinator event-loop delay: p50 ${f.heed.lag.p50.toFixed(1)} ms, p99 ${f.heed.lag.p99.toFixed(1)} ms, max ${f.heed.lag.max.toFixed(1)} ms`,
    `  ratio Heed / capacity           ${((f.heed.achievedPerSecond / f.idealPerSecond) * 100).toFixed(1).padStart(7)} %   (raw loop ${((f.raw.achievedPerSecond / f.idealPerSecond) * 100).toFixed(1)} %)`,
    `  connections opened per request: Heed ${(f.heed.connections / Math.max(1, f.heed.requests)).toFixed(2)} (${f.heed.connections} for ${f.heed.requests}), raw loop ${(f.raw.connections / Math.max(1, f.raw.requests)).toFixed(2)} (${f.raw.connections} for ${f.raw.requests})`,
    `  ratio CPU/page Heed / raw       ${(f.heed.cpuMsPerPage / Math.max(1e-9, f.raw.cpuMsPerPage)).toFixed(2).padStart(8)}x`,
    "",
  ].join("\n");
}

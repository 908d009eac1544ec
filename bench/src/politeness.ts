import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsServerHandle } from "@heed/cli";
import { startCoordinator, waitForCrawl } from "@heed/coordinator";
import { type HostPlan, type RequestRecord, startLoopbackSite } from "@heed/loopback-site";
import { coordinatorConfigSchema, parseConfig, silentLogger } from "@heed/shared";

const HEED_BIN = fileURLToPath(new URL("../../packages/cli/bin/heed.js", import.meta.url));

/**
 * Politeness efficiency: H loopback hosts that all allow crawling, a delay d,
 * W workers. A perfectly polite fleet fetches at most H/d pages per second;
 * how close Heed gets, with zero violations in the site's own log, is the
 * figure that matters.
 */
export interface PolitenessFigures {
  hosts: number;
  delayMs: number;
  workers: number;
  /** Workers wrote WARC captures (fsynced before each report). */
  warc?: boolean;
  pages: number;
  seconds: number;
  achievedPerSecond: number;
  idealPerSecond: number;
  ratio: number;
  /** Median time from the end of one request to a host to the start of the next. */
  medianGapMs: number;
  violations: number;
}

function violations(log: RequestRecord[], delayMs: number): number {
  const byHost = new Map<string, RequestRecord[]>();
  for (const r of log) byHost.set(r.host, [...(byHost.get(r.host) ?? []), r]);
  let n = 0;
  for (const list of byHost.values()) {
    list.sort((a, b) => a.startMs - b.startMs);
    for (let i = 1; i < list.length; i++) {
      if ((list[i] as RequestRecord).startMs - (list[i - 1] as RequestRecord).endMs < delayMs - 1) n++;
    }
  }
  return n;
}

export async function politenessEfficiency(
  nats: NatsServerHandle,
  options: { hosts: number; pagesPerHost: number; delayMs: number; workers: number; warc?: boolean },
): Promise<PolitenessFigures> {
  const plan: HostPlan[] = Array.from({ length: options.hosts }, () => ({
    robots: { kind: "allow-all" },
    pages: options.pagesPerHost,
  }));
  // Two /24s of loopback addresses when more than 250 hosts are asked for is not supported.
  const site = await startLoopbackSite({ hosts: plan, pageLatencyMs: 2, firstOctet: 2 });
  const dataDir = mkdtempSync(join(tmpdir(), "heed-bench-polite-"));
  const log = silentLogger();
  const coordinator = await startCoordinator(
    parseConfig(coordinatorConfigSchema, {
      dataDir,
      natsUrl: nats.url,
      grpcListen: "127.0.0.1:0",
      maxWaitHintMs: 50,
    }),
    log,
  );
  // Workers run as their own processes, as in a real fleet, so the site and coordinator do not share their event loop.
  const workers = Array.from({ length: options.workers }, () =>
    spawn(
      process.execPath,
      [
        HEED_BIN,
        "worker",
        "--nats-url",
        nats.url,
        "--coordinator",
        `127.0.0.1:${coordinator.grpcPort}`,
        "--concurrency",
        "64",
        "--allow-private-addresses",
        "--report-flush-ms",
        "2",
        "--idle-poll-max-ms",
        "50",
        "--log-level",
        "silent",
        ...(options.warc === true ? ["--warc-dir", join(dataDir, "warc")] : []),
      ],
      { stdio: "ignore" },
    ),
  );
  try {
    const crawl = coordinator.frontier.createCrawl({
      seeds: site.hosts.flatMap((h) =>
        Array.from({ length: options.pagesPerHost }, (_, j) => `${h.origin}/p/${j}`),
      ),
      maxDepth: 0,
      userAgent: { product: "HeedBench", contact: "bench@example.org" },
      allowPrivateAddresses: true,
      politeness: { minDelayMs: options.delayMs, delayFactor: 0 },
    });
    await waitForCrawl(coordinator.frontier, crawl.id, { timeoutMs: 600_000, pollMs: 50 });
    const pages = site.log.filter((r) => r.path !== "/robots.txt");
    // Steady state per host: its page requests over the span from its first to its last start.
    // A perfectly polite fleet spaces each host's requests by d, so H hosts give H/d pages/s.
    const byHost = new Map<string, RequestRecord[]>();
    for (const r of pages) byHost.set(r.host, [...(byHost.get(r.host) ?? []), r]);
    let achievedPerSecond = 0;
    const gaps: number[] = [];
    for (const list of byHost.values()) {
      list.sort((a, b) => a.startMs - b.startMs);
      const span = ((list.at(-1) as RequestRecord).startMs - (list[0] as RequestRecord).startMs) / 1000;
      if (list.length > 1 && span > 0) achievedPerSecond += (list.length - 1) / span;
      for (let i = 1; i < list.length; i++)
        gaps.push((list[i] as RequestRecord).startMs - (list[i - 1] as RequestRecord).endMs);
    }
    gaps.sort((a, b) => a - b);
    const idealPerSecond = options.hosts / (options.delayMs / 1000);
    const seconds =
      (Math.max(...pages.map((r) => r.endMs)) - Math.min(...pages.map((r) => r.startMs))) / 1000;
    return {
      ...options,
      pages: pages.length,
      seconds,
      achievedPerSecond,
      idealPerSecond,
      ratio: achievedPerSecond / idealPerSecond,
      medianGapMs: gaps[Math.floor(gaps.length / 2)] ?? 0,
      violations: violations(site.log, options.delayMs),
    };
  } finally {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once("exit", () => resolve());
            w.kill("SIGTERM");
          }),
      ),
    );
    await coordinator.close();
    await site.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

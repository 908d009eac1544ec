import { type ChildProcess, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { sleep } from "@heed/shared";
import { recoverOpenWarcs } from "@heed/worker";
import { afterEach, describe, expect, it } from "vitest";
import { countBy, gapViolations } from "./harness/audit.js";
import { captureProblems } from "./harness/captures.js";
import { TEST_UA } from "./harness/cluster.js";
import { type Fleet, startFleet } from "./harness/fleet.js";
import { freePort } from "./harness/ports.js";
import { exited, runHeedctl } from "./harness/processes.js";
import { startTcpProxy, type TcpProxy } from "./harness/tcp-proxy.js";

const MIN_DELAY_MS = 100;
const MAX_ATTEMPTS = 5;

let site: LoopbackSite | undefined;
let fleet: Fleet | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await fleet?.stop();
  await site?.close();
  proxy = undefined;
  fleet = undefined;
  site = undefined;
});

async function setUp(
  firstOctet: number,
  coordinator: Parameters<Fleet["startCoordinator"]>[0] = {},
  fetchTimeoutMs = 2000,
): Promise<{ site: LoopbackSite; fleet: Fleet }> {
  site = await startLoopbackSite({ hosts: defaultPlan(10, 6, 1), pageLatencyMs: 40, firstOctet });
  fleet = await startFleet({
    id: "faults",
    seeds: site.seeds(),
    userAgent: TEST_UA,
    allowPrivateAddresses: true,
    maxDepth: 10,
    politeness: {
      minDelayMs: MIN_DELAY_MS,
      robotsRetryBaseMs: 100,
      robotsRetryMaxMs: 300,
      robotsMaxAttempts: 2,
      errorBackoffBaseMs: 200,
      errorBackoffMaxMs: 1000,
    },
    fetch: { timeoutMs: fetchTimeoutMs, maxAttempts: MAX_ATTEMPTS, retryBaseMs: 100, retryMaxMs: 500 },
  });
  await fleet.startCoordinator(coordinator);
  return { site, fleet };
}

/** What every fault scenario must still prove once the crawl has finished. */
async function assertNothingLostNothingRude(s: LoopbackSite, f: Fleet, scenario: string): Promise<void> {
  const crawl = f.crawl();
  expect(crawl?.state).toBe("finished");
  const byUrl = new Map(f.urls().map((u) => [u.url, u]));
  const expected = s.expectedPages(10);
  for (const url of expected) expect(byUrl.get(url)?.state, url).toBe("done");
  const portOf = new Map(s.hosts.map((h) => [h.address, h.port]));
  const fetches = countBy(
    s.log.filter((r) => r.path !== "/robots.txt"),
    (r) => `http://${r.host}:${portOf.get(r.host)}${r.path}`,
  );
  for (const [url, n] of fetches) {
    expect(expected.has(url), `fetched ${url}, which the crawl must not fetch`).toBe(true);
    expect(n, url).toBeLessThanOrEqual(MAX_ATTEMPTS);
  }
  const crawlDelay = new Map(
    s.hosts.map((h) => [h.address, h.plan.robots.kind === "crawl-delay" ? h.plan.robots.seconds * 1000 : 0]),
  );
  expect(gapViolations(s.log, (h) => Math.max(MIN_DELAY_MS, crawlDelay.get(h) ?? 0))).toEqual([]);
  expect(f.check().problems).toEqual([]);
  // Nothing acknowledged without its capture: every URL marked done has a readable record at its
  // location, and no closed WARC is broken. Files of killed workers are closed as a restart would.
  await f.stopWorkers();
  const recovered = recoverOpenWarcs(f.warcDir, 0);
  expect(readdirSync(f.warcDir).filter((n) => n.endsWith(".open"))).toEqual([]);
  const done = [...byUrl.values()].filter((u) => u.state === "done");
  expect(
    await captureProblems(
      f.warcDir,
      done.map((u) => ({ url: u.url, capture: u.result?.capture })),
    ),
  ).toEqual([]);
  // The figures a release note quotes: how much was fetched again because of the fault.
  const counts = [...fetches.values()];
  console.info(
    `fault ${scenario}: ${expected.size} pages expected, ${[...byUrl.values()].filter((u) => u.state === "done").length} done, ` +
      `${counts.reduce((a, b) => a + b, 0)} page fetches, ${counts.filter((n) => n > 1).length} fetched again, ` +
      `max ${Math.max(...counts)} per URL, 0 politeness violations, frontier check clean, ` +
      `${done.length} captures readable at their locations, ${recovered.length} WARC file(s) left open recovered`,
  );
}

// Each scenario starts a coordinator, workers and often heedctl or a second set of workers, one
// after another; on two loaded cores each start can take 10–15 s (see STARTUP_MS in the fleet
// harness), so the default minute is too short for the whole of one scenario.
describe("fault tolerance with real processes", { timeout: 180_000 }, () => {
  it("survives workers killed with SIGKILL mid-fetch, repeatedly", async () => {
    const { site: s, fleet: f } = await setUp(60);
    f.startWorker();
    f.startWorker();
    for (let round = 0; round < 3; round++) {
      await sleep(700);
      const victim = f.workers.find((w) => w.exitCode === null && w.signalCode === null) as ChildProcess;
      victim.kill("SIGKILL");
      await exited(victim);
      f.startWorker();
    }
    await f.waitFinished(60_000);
    await assertNothingLostNothingRude(s, f, "worker-sigkill");
  });

  it("resumes from LMDB after the coordinator is killed with SIGKILL mid-crawl", async () => {
    const { site: s, fleet: f } = await setUp(80);
    f.startWorker();
    f.startWorker();
    await f.waitUntil((c) => (c?.counts.done ?? 0) >= 10, 20_000);
    expect(f.crawl()?.state).toBe("running");
    f.coordinator.kill("SIGKILL");
    await exited(f.coordinator);
    await sleep(500);
    await f.startCoordinator();
    await f.waitFinished(60_000);
    await assertNothingLostNothingRude(s, f, "coordinator-sigkill");
  });

  it("carries on when nats-server stops for seconds and comes back", async () => {
    const { site: s, fleet: f } = await setUp(100);
    f.startWorker();
    f.startWorker();
    await f.waitUntil((c) => (c?.counts.done ?? 0) >= 5, 20_000);
    await f.restartNats();
    await f.waitFinished(60_000);
    await assertNothingLostNothingRude(s, f, "nats-restart");
  });

  it("loses nothing when the coordinator is unreachable over gRPC for longer than a lease", async () => {
    const { site: s, fleet: f } = await setUp(120);
    proxy = await startTcpProxy(f.grpcPort);
    f.startWorker({ coordinatorPort: proxy.port });
    f.startWorker({ coordinatorPort: proxy.port });
    await f.waitUntil((c) => (c?.counts.done ?? 0) >= 5, 20_000);
    await proxy.cut();
    await sleep(4000); // the lease TTL is 2 s timeout + 1 s margin
    await proxy.restore();
    await f.waitFinished(60_000);
    await assertNothingLostNothingRude(s, f, "grpc-cut");
  });

  it("drains every worker on SIGTERM (exit 0), then finishes with new workers", async () => {
    const { site: s, fleet: f } = await setUp(140);
    const first = [f.startWorker(), f.startWorker()];
    await f.waitUntil((c) => (c?.counts.done ?? 0) >= 10, 20_000);
    for (const w of first) w.kill("SIGTERM");
    await Promise.all(first.map(exited));
    for (const w of first) expect(w.exitCode).toBe(0);
    expect(f.check().problems).toEqual([]);
    f.startWorker();
    f.startWorker();
    await f.waitFinished(60_000);
    await assertNothingLostNothingRude(s, f, "sigterm-drain");
  });

  it("answers again a lease request whose reply nats-server lost while stopped: no host waits for a lease to expire", async () => {
    // Leases live 20 s + 1 s here, so a lease whose reply was lost would hold its host that long.
    const { site: s, fleet: f } = await setUp(180, {}, 20_000);
    f.startWorker();
    f.startWorker();
    await f.waitUntil((c) => (c?.counts.done ?? 0) >= 5, 20_000);
    const pausedAt = Date.now();
    f.nats.process.kill("SIGSTOP");
    await sleep(3000); // longer than a worker's lease request timeout (2 s)
    f.nats.process.kill("SIGCONT");
    await f.waitFinished(60_000);
    const expired = f.leases().filter((l) => l.state === "expired");
    // The figure to compare: the longest a host went without a request across the pause.
    const byHost = new Map<string, number[]>();
    for (const r of s.log) byHost.set(r.host, [...(byHost.get(r.host) ?? []), r.startMs]);
    let longest = 0;
    for (const times of byHost.values()) {
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) {
        const [a, b] = [times[i - 1] as number, times[i] as number];
        if (b > pausedAt && a < pausedAt + 3000) longest = Math.max(longest, b - a);
      }
    }
    console.info(
      `fault nats-pause: ${expired.length} lease(s) expired unreported, longest host wait across the pause ${longest} ms`,
    );
    expect(expired.map((l) => l.url)).toEqual([]);
    await assertNothingLostNothingRude(s, f, "nats-pause");
  });

  it("says clearly when the frontier cannot be written, loses nothing, and carries on once there is space", async () => {
    const httpPort = await freePort();
    const { site: s, fleet: f } = await setUp(160, { httpPort, logLevel: "error" });
    const http = (path: string) => fetch(`http://127.0.0.1:${httpPort}${path}`);
    f.startWorker();
    f.startWorker();
    await f.waitUntil((c) => (c?.counts.done ?? 0) >= 5, 20_000);
    // The frontier's file may not grow, as on a full disk: the next commit that needs a new page fails.
    const pid = f.coordinator.pid as number;
    setFileSizeLimit(pid, statSync(join(f.dataDir, "frontier.lmdb")).size);
    const origin = new URL(s.seeds()[0] as string).origin;
    const many = Array.from({ length: 3000 }, (_, i) => `${origin}/not-added-${i}`);
    const refused = await runHeedctl(["seeds", "add", "faults", ...many], {
      env: { HEED_SERVER: `127.0.0.1:${f.grpcPort}`, HEED_TOKEN: "", HEEDCTL_CONFIG: "" },
    });
    expect(refused.code, refused.stderr).not.toBe(0);
    expect(
      refused.stderr,
      `coordinator exit ${f.coordinator.exitCode} ${f.coordinator.signalCode}: ${f.coordinatorLog().slice(-3000)}`,
    ).toMatch(/frontier cannot commit/);
    await until(async () => (await http("/readyz")).status === 503, 15_000, "/readyz not ready");
    const metrics = await (await http("/metrics")).text();
    expect(metrics).toMatch(/^heed_frontier_writable 0$/m);
    expect(Number(/^heed_frontier_commit_failures_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(f.coordinatorLog()).toMatch(/the frontier cannot commit \(disk full or a file-size limit\?\)/);
    await sleep(2000);
    // lmdb can abort the process after a failed page write (see docs/operations.md): say so, not "no such process".
    expect(
      f.coordinator.exitCode ?? f.coordinator.signalCode,
      `coordinator exit ${f.coordinator.exitCode} ${f.coordinator.signalCode}: ${f.coordinatorLog().slice(-3000)}`,
    ).toBeNull();
    setFileSizeLimit(pid, "unlimited");
    await until(async () => (await http("/readyz")).status === 200, 15_000, "/readyz ready again");
    await f.waitFinished(60_000);
    expect(f.coordinator.exitCode ?? f.coordinator.signalCode).toBeNull();
    await assertNothingLostNothingRude(s, f, "frontier-write-failure");
  });
});

/** Sets a running process's file-size limit (RLIMIT_FSIZE) with util-linux prlimit. */
function setFileSizeLimit(pid: number, bytes: number | "unlimited"): void {
  const r = spawnSync("prlimit", ["--pid", String(pid), `--fsize=${bytes}:unlimited`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`prlimit failed: ${r.stderr || r.error?.message}`);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await sleep(100);
  }
}

import { credentials } from "@grpc/grpc-js";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { proto, sleep } from "@heed/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster, TEST_UA } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";
import { exited, runHeedctl, startHeedctl } from "./harness/processes.js";

// Loopback addresses of this file: .180-.184.

let cluster: Cluster;
let site: LoopbackSite;
let silent: TinySite;
let server: string;
/** The identity headers the workers sent to the silent site. */
let sentHeaders: { userAgent?: string; from?: string } = {};

beforeAll(async () => {
  // .180: robots.txt allows all; .181: robots.txt answers 503; .182: the site's outsider.
  site = await startLoopbackSite({
    hosts: [...defaultPlan(1, 4, 0), { robots: { kind: "status", status: 503 }, pages: 3 }],
    firstOctet: 180,
    pageLatencyMs: 2,
  });
  // .184: robots.txt allows all, every page request is cut off without an HTTP answer.
  silent = await startTinySite("127.0.0.184", (req, res) => {
    sentHeaders = { userAgent: req.headers["user-agent"], from: req.headers.from };
    if (req.url === "/robots.txt") res.end("User-agent: *\nAllow: /\n");
    else res.socket?.destroy();
  });
  cluster = await startCluster({ workers: 0, worker: { heartbeatMs: 200 } });
  server = `127.0.0.1:${cluster.coordinator.grpcPort}`;
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
  await site?.close();
  await silent?.close();
});

function heedctl(args: string[]) {
  return runHeedctl(args, { timeoutMs: 30_000, env: { HEED_SERVER: server, HEEDCTL_CONFIG: "" } });
}

function stats(crawlId: string): Promise<proto.CrawlStats> {
  const client = new proto.AdminServiceClient(server, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.getStats({ crawlId }, (err, res) => {
      client.close();
      if (err || res.crawls[0] === undefined) reject(err ?? new Error("no stats"));
      else resolve(res.crawls[0]);
    }),
  );
}

/** Polls the crawl's stats until its stall has this reason; bounded in time. */
async function stalledAs(crawlId: string, reason: proto.StallReason, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await stats(crawlId);
    if (s.stall?.reason === reason) return s;
    if (Date.now() > until)
      throw new Error(`${crawlId} not stalled as ${proto.StallReason[reason]}: ${JSON.stringify(s)}`);
    await sleep(100);
  }
}

const R = proto.StallReason;

describe("a crawl that makes no progress says why", () => {
  it("no live workers, then paused", async () => {
    const [seed] = site.seeds();
    cluster.coordinator.frontier.createCrawl({ ...crawlSpec([seed as string]), id: "no-workers" });
    await stalledAs("no-workers", R.STALL_REASON_NO_LIVE_WORKERS);
    const text = await heedctl(["stats", "no-workers"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^no-workers {2}STALLED: no live workers/m);

    expect((await heedctl(["crawl", "get", "no-workers"])).stdout).toMatch(/^stalled\s+no live workers/m);

    expect((await heedctl(["crawl", "pause", "no-workers"])).code).toBe(0);
    expect((await stats("no-workers")).stall?.reason).toBe(R.STALL_REASON_PAUSED);
    expect((await heedctl(["stats", "no-workers"])).stdout).toMatch(/^no-workers {2}STALLED: paused/m);
    expect((await heedctl(["crawl", "cancel", "no-workers"])).code).toBe(0);
    expect((await stats("no-workers")).stall).toBeUndefined();
  });

  it("all hosts waiting until a time; robots.txt unreachable; watch prints it too; hosts listed for one crawl count only its fetches", async () => {
    const [slowSeed, robotsSeed] = site.seeds();
    await cluster.startWorkers(1);
    // A 30 s delay on the only host: after robots.txt and at most one page, nothing can happen for 30 s.
    cluster.coordinator.frontier.createCrawl({
      ...crawlSpec([slowSeed as string], { politeness: { minDelayMs: 30_000 } }),
      id: "slow-host",
    });
    // robots.txt answers 503: the next try is 30 s away.
    cluster.coordinator.frontier.createCrawl({
      ...crawlSpec([robotsSeed as string], {
        politeness: { robotsRetryBaseMs: 30_000, robotsRetryMaxMs: 60_000, robotsMaxAttempts: 5 },
      }),
      id: "robots-down",
    });
    const watch = startHeedctl(["watch", "slow-host", "--interval-ms", "200"], {
      env: { HEED_SERVER: server, HEEDCTL_CONFIG: "" },
    });
    try {
      const waiting = await stalledAs("slow-host", R.STALL_REASON_ALL_HOSTS_WAITING);
      expect(waiting.stall?.hostsWaiting).toBe(1);
      expect(waiting.stall?.untilMs).toBeGreaterThan(Date.now() + 20_000);
      const text = await heedctl(["stats", "slow-host"]);
      expect(text.stdout).toMatch(
        /^slow-host {2}STALLED: all 1 host\(s\) waiting until \d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+(\.\d)? s\)$/m,
      );

      const robots = await stalledAs("robots-down", R.STALL_REASON_ROBOTS_UNREACHABLE);
      expect(robots.stall?.hostsRobotsUnreachable).toBe(1);
      expect(robots.stall?.untilMs).toBeGreaterThan(Date.now() + 10_000);
      expect((await heedctl(["stats", "robots-down"])).stdout).toMatch(
        /^robots-down {2}STALLED: robots\.txt unreachable on 1 host\(s\): next try \S+Z \(in \d/m,
      );

      // Plain lines (not a terminal): the stall is on the progress line.
      for (let i = 0; i < 50 && !/STALLED: all 1 host/.test(watch.stdout()); i++) await sleep(100);
      expect(watch.stdout()).toMatch(
        /running {2}settled \d+ of \d+ known .* STALLED: all 1 host\(s\) waiting until/,
      );
    } finally {
      watch.child.kill("SIGTERM");
      await exited(watch.child);
    }

    // The host is shared with the cancelled crawl, which fetched nothing from it.
    const host = new URL(slowSeed as string).hostname;
    const listed = async (args: string[]) =>
      (
        JSON.parse((await heedctl(["hosts", "list", ...args, "--json"])).stdout) as {
          hosts: { hostKey: string; fetches?: string | number }[];
        }
      ).hosts.find((h) => h.hostKey === host);
    const all = Number((await listed([]))?.fetches ?? 0);
    expect(all).toBeGreaterThan(0);
    expect(Number((await listed(["--crawl", "slow-host"]))?.fetches ?? 0)).toBe(all);
    expect(Number((await listed(["--crawl", "no-workers"]))?.fetches ?? 0)).toBe(0);
  }, 60_000);
});

describe("admin answers show what was sent and what happened", () => {
  it("crawl get shows the User-Agent and From headers as sent; a URL without an HTTP answer shows no status 0", async () => {
    if (cluster.workers.length === 0) await cluster.startWorkers(1);
    cluster.coordinator.frontier.createCrawl({
      ...crawlSpec([`${silent.origin}/`], { fetch: { maxAttempts: 1 } }),
      id: "no-answer",
    });
    const until = Date.now() + 20_000;
    while (cluster.coordinator.frontier.crawl("no-answer")?.counts.failed !== 1) {
      if (Date.now() > until) throw new Error("the page did not fail in time");
      await sleep(100);
    }
    const shown = await heedctl(["url", "show", "no-answer", `${silent.origin}/`]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^state\s+failed$/m);
    expect(shown.stdout).not.toMatch(/^status\s+0$/m);
    expect(shown.stdout).toMatch(/^status\s+no HTTP answer \(\w+\)$/m);

    // The site saw what the workers sent; crawl get must say the same.
    expect(sentHeaders.userAgent).toContain("mailto:");
    const got = await heedctl(["crawl", "get", "no-answer"]);
    const field = (key: string) =>
      got.stdout
        .split("\n")
        .find((l) => l.startsWith(`${key}  `))
        ?.slice(key.length)
        .trim();
    expect(field("user agent")).toBe(sentHeaders.userAgent);
    expect(field("from")).toBe(sentHeaders.from);
    expect(sentHeaders.from).toBe(TEST_UA.contact);
  }, 30_000);
});

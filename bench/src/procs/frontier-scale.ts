import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { openFrontier } from "@heed/coordinator";
import { silentLogger } from "@heed/shared";
import type { LoadFigures, ServeFigures } from "../frontier-scale.js";
import { type BenchMessage, ready, serveParent } from "./child.js";

/**
 * One synthetic crawl in a frontier in this process, no network. `load`
 * inserts `urls` URLs over `hosts` hosts (seeds added in chunks) and answers
 * with the insert rate, the LMDB size on disk and the anonymous RSS (heap and
 * native, not LMDB's mapped file pages) once loaded. `serve`, in a fresh
 * process, opens that frontier as a restarted coordinator would (rebuilding
 * the in-memory indexes) and answers with the restart time, the anonymous RSS
 * after it and the lease rate: leases issued and reported in-process for
 * `leaseSeconds` once every host's robots.txt is known, with the CPU time per
 * lease (steadier than the rate on a busy machine).
 */
const CHUNK = 10_000;

/** Anonymous resident memory, from /proc: LMDB's mapped pages are file-backed and not counted. */
function rssAnonBytes(): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

function diskBytes(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}

const report = (leaseId: string, robots: boolean) => ({
  leaseId,
  startedAtMs: Date.now(),
  finishedAtMs: Date.now(),
  statusCode: robots ? 404 : 200,
  contentType: "text/html",
  bodyBytes: 1000,
  truncated: false,
  digestSha256: "0".repeat(64),
  outlinks: [],
  redirectLocation: "",
  retryAfter: "",
  nofollow: false,
  noindex: false,
  noarchive: false,
  remoteAddress: "10.0.0.1",
  robotsBody: "",
  sitemapIndex: false,
  tdmReserved: false,
  contentUsage: "",
  wellKnownBody: "",
});

// Lease audit records beyond the newest 10 000 are deleted as a coordinator would (retention), so
// the robots leases of a million hosts do not stay on disk.
const settings = { leaseMarginMs: 10_000, leaseTtlMs: 60_000, maxWaitHintMs: 250, leaseRecordsKeep: 10_000 };
const PRUNE_EVERY_MS = 1000;

serveParent(
  {
    load: async (msg: BenchMessage): Promise<BenchMessage & LoadFigures> => {
      const { dataDir } = msg as unknown as { dataDir: string };
      const urls = Number(msg.urls);
      const hosts = Number(msg.hosts);
      const frontier = openFrontier({ dataDir, settings, log: silentLogger() });
      const seed = (i: number) => `http://h${i % hosts}.scale.invalid/p/${Math.floor(i / hosts)}`;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const crawl = frontier.createCrawl({
        seeds: Array.from({ length: Math.min(CHUNK, urls) }, (_, i) => seed(i)),
        maxDepth: 0,
        // Every URL may be leased: past the default page budget the rest would be settled in one commit.
        maxPages: urls,
        userAgent: { product: "HeedBench", contact: "bench@example.org" },
        politeness: { minDelayMs: 0 },
      });
      // The insert rate (per CPU second) of the last tenth against the whole: flat when the cost per URL does not grow.
      const lastTenthFrom = Math.max(CHUNK, Math.floor((urls * 0.9) / CHUNK) * CHUNK);
      let lastTenthStart = t0;
      let lastTenthCpu = cpu0;
      for (let from = CHUNK; from < urls; from += CHUNK) {
        if (from === lastTenthFrom) {
          lastTenthStart = performance.now();
          lastTenthCpu = process.cpuUsage();
        }
        const to = Math.min(urls, from + CHUNK);
        frontier.addSeeds(
          crawl.id,
          Array.from({ length: to - from }, (_, k) => seed(from + k)),
        );
      }
      const t1 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      const lastCpu = process.cpuUsage(lastTenthCpu);
      const loadedRssAnon = rssAnonBytes();
      await frontier.close();
      return {
        type: "loaded",
        insertPerSecond: urls / ((t1 - t0) / 1000),
        insertPerCpuSecond: urls / ((cpu.user + cpu.system) / 1e6),
        lastTenthInsertPerCpuSecond:
          (lastTenthStart === t0 ? urls : urls - lastTenthFrom) / ((lastCpu.user + lastCpu.system) / 1e6),
        diskBytes: diskBytes(dataDir),
        loadedRssAnon,
      };
    },
    serve: async (msg: BenchMessage): Promise<BenchMessage & ServeFigures> => {
      const { dataDir } = msg as unknown as { dataDir: string };
      const t1 = performance.now();
      const restartCpu0 = process.cpuUsage();
      const frontier = openFrontier({ dataDir, settings, log: silentLogger() });
      const restartSeconds = (performance.now() - t1) / 1000;
      const restartCpu = process.cpuUsage(restartCpu0);
      const restartCpuSeconds = (restartCpu.user + restartCpu.system) / 1e6;
      const restartedRssAnon = rssAnonBytes();
      if (Number(msg.leaseSeconds) <= 0) {
        await frontier.close();
        return {
          type: "served",
          restartSeconds,
          restartCpuSeconds,
          restartedRssAnon,
          servedRssAnon: restartedRssAnon,
          servedDiskBytes: diskBytes(dataDir),
          leaseRecords: 0,
          pruned: 0,
          leasesPerSecond: 0,
          cpuMicrosPerLease: 0,
        };
      }
      // Every host's robots.txt first, untimed: a large frontier has more hosts, and timing their
      // robots leases against a small one's page leases would compare different work.
      let pruned = 0;
      let prunedAt = performance.now();
      for (;;) {
        if (performance.now() - prunedAt >= PRUNE_EVERY_MS) {
          pruned += frontier.pruneLeaseRecords();
          prunedAt = performance.now();
        }
        const round = await frontier.lease("bench", 256);
        if (round.leases.length === 0) break;
        await frontier.report(
          "bench",
          round.leases.map((g) => report(g.id, g.kind === "robots")),
        );
        if (!round.leases.some((g) => g.kind === "robots")) break;
      }
      let leased = 0;
      const until = performance.now() + Number(msg.leaseSeconds) * 1000;
      const cpu0 = process.cpuUsage();
      const t2 = performance.now();
      while (performance.now() < until) {
        const round = await frontier.lease("bench", Number(msg.leaseBatch));
        if (round.leases.length === 0) break;
        await frontier.report(
          "bench",
          round.leases.map((g) => report(g.id, g.kind === "robots")),
        );
        leased += round.leases.length;
      }
      const leasesPerSecond = leased / ((performance.now() - t2) / 1000);
      const cpu = process.cpuUsage(cpu0);
      const cpuMicrosPerLease = (cpu.user + cpu.system) / leased;
      for (let n = frontier.pruneLeaseRecords(); n > 0; n = frontier.pruneLeaseRecords()) pruned += n;
      const leaseRecords = frontier.store.leases.getKeysCount();
      const servedRssAnon = rssAnonBytes();
      await frontier.close();
      return {
        type: "served",
        restartSeconds,
        restartCpuSeconds,
        restartedRssAnon,
        servedRssAnon,
        servedDiskBytes: diskBytes(dataDir),
        leaseRecords,
        pruned,
        leasesPerSecond,
        cpuMicrosPerLease,
      };
    },
  },
  async () => {},
);
ready();

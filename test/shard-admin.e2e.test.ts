import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evenMap, ownerOf, PARTITIONS, partitionOfHost, proto } from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, type RunningBin, runHeedctl, startHeed } from "./harness/processes.js";
import { until } from "./harness/until.js";

/**
 * Operators see one crawl: three coordinator shards as separate processes on
 * a real nats-server with JetStream (its Heed roles as NATS users), and every
 * heedctl call, against any shard, answering for all of them. No worker
 * runs: the crawl's seeds spread over the shards by partition and stay
 * queued, which is what the answers are checked against. Then one shard is
 * killed and the answers say it is missing.
 */

const SHARDS = ["s0", "s1", "s2"];
const HOSTS = 30;
const PAGES = 2;
const CRAWL = "fan";
// Loopback literals (nothing listens on port 9; no worker ever asks).
const hosts = Array.from({ length: HOSTS }, (_, i) => `127.0.9.${i + 1}`);
const seeds = hosts.flatMap((h) => Array.from({ length: PAGES }, (_, p) => `http://${h}:9/p${p}`));
const map = evenMap(SHARDS);
const ownerOfHost = (h: string) => ownerOf(map, partitionOfHost(h)) as string;

const scratch = mkdtempSync(join(tmpdir(), "heed-shard-admin-"));
let nats: NatsServerHandle;
const procs = new Map<string, RunningBin>();
const addresses = new Map<string, string>();

function startShard(id: string): RunningBin {
  const proc = startHeed(
    [
      "coordinator",
      "--shard-id",
      id,
      "--shard-ids",
      SHARDS.join(","),
      "--shard-ownership-timeout-ms",
      "3000",
      "--admin-fan-out-timeout-ms",
      "1000",
      "--data-dir",
      join(scratch, id),
      "--nats-url",
      nats.urlFor("coordinator"),
      "--grpc-listen",
      "127.0.0.1:0",
      "--log-level",
      "info",
    ],
    {},
  );
  procs.set(id, proc);
  return proc;
}

/** heedctl against one shard, as JSON. */
async function ctl(
  shard: string,
  args: string[],
): Promise<{ json: unknown; stderr: string; code: number | null }> {
  const server = addresses.get(shard) as string;
  const r = await runHeedctl(["--server", server, "--json", ...args], {
    env: { HEED_TOKEN: "", HEEDCTL_CONFIG: "", HOME: scratch },
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`heedctl ${args.join(" ")} against ${shard}: ${r.code}\n${r.stderr}`);
  return { json: JSON.parse(r.stdout), stderr: r.stderr, code: r.code };
}

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true, roles: { leaseSubject: "heed.lease.request" } });
  for (const id of SHARDS) startShard(id);
  for (const id of SHARDS) {
    const proc = procs.get(id) as RunningBin;
    const port = await until(
      `shard ${id} started`,
      () => {
        if (proc.child.exitCode !== null)
          throw new Error(`shard ${id} exited: ${proc.stdout()}${proc.stderr()}`);
        const m = /"grpcPort":(\d+)[^\n]*coordinator started/.exec(proc.stderr());
        return m?.[1];
      },
      30_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${proc.stdout().slice(-3000)}${proc.stderr().slice(-3000)}`);
    });
    addresses.set(id, `127.0.0.1:${port}`);
  }
  const created = await runHeedctl(
    [
      "--server",
      addresses.get("s0") as string,
      "crawl",
      "create",
      ...seeds,
      "--id",
      CRAWL,
      "--contact",
      "heed-tests@example.org",
      "--max-depth",
      "0",
      "--allow-private-addresses",
    ],
    { env: { HEED_TOKEN: "", HEEDCTL_CONFIG: "", HOME: scratch }, timeoutMs: 30_000 },
  );
  expect(created.code, created.stderr).toBe(0);
  // Seeds of other shards travel on the URL stream; wait until every one is queued where it belongs.
  await until(
    "every seed queued on its shard",
    async () => {
      const { json } = await ctl("s1", ["stats", CRAWL]);
      const stats = proto.GetStatsResponse.fromJSON(json);
      return stats.total?.counts?.queued === seeds.length && stats.missingShards.length === 0
        ? true
        : undefined;
    },
    30_000,
  );
}, 90_000);

afterAll(async () => {
  for (const proc of procs.values()) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGTERM");
    await exited(proc.child);
  }
  await nats?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("admin calls against any shard answer for the whole sharded crawl", () => {
  it("the test's hosts spread over every shard", () => {
    for (const s of SHARDS) expect(hosts.filter((h) => ownerOfHost(h) === s).length, s).toBeGreaterThan(2);
  });

  it("stats: every shard's counts added up, whichever shard is asked", async () => {
    for (const s of SHARDS) {
      const stats = proto.GetStatsResponse.fromJSON((await ctl(s, ["stats"])).json);
      expect(stats.missingShards).toEqual([]);
      expect(stats.total?.counts?.queued, s).toBe(seeds.length);
      const crawl = stats.crawls.find((c) => c.crawlId === CRAWL);
      expect(crawl?.counts?.queued).toBe(seeds.length);
      expect(crawl?.hosts).toBe(HOSTS);
    }
  });

  it("hosts list: every host of every shard once, paged across shards", async () => {
    const { json } = await ctl("s2", ["hosts", "list", "--limit", "7", "--all"]);
    const listed = proto.ListHostsResponse.fromJSON(json).hosts.map((h) => h.hostKey);
    expect([...listed].sort()).toEqual([...hosts].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  it("url show: a URL is read from the shard that owns its host", async () => {
    const host = hosts.find((h) => ownerOfHost(h) === "s2") as string;
    const url = `http://${host}:9/p1`;
    const { json } = await ctl("s0", ["url", "show", CRAWL, url]);
    const got = proto.Url.fromJSON(json);
    expect(got.url).toBe(url);
    expect(got.hostKey).toBe(host);
    expect(got.state).toBe(proto.UrlState.URL_STATE_QUEUED);
  });

  it("export: every URL of every shard", async () => {
    const r = await runHeedctl(["--server", addresses.get("s1") as string, "export", CRAWL], {
      env: { HEED_TOKEN: "", HEEDCTL_CONFIG: "", HOME: scratch },
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const urls = r.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { url: string }).url);
    expect([...urls].sort()).toEqual([...seeds].sort());
  });

  it("hosts block: the rule reaches the shard that owns the host", async () => {
    const host = hosts.find((h) => ownerOfHost(h) === "s2") as string;
    await ctl("s0", ["hosts", "block", host, "--reason", "owner asked, ticket 1"]);
    const { json } = await ctl("s1", ["hosts", "list", "--all"]);
    const listed = proto.ListHostsResponse.fromJSON(json);
    // The owner computes the host's statuses from its own rules: blocked there, so blocked here.
    const blocked = listed.hosts.filter((h) => h.statuses.includes(proto.HostStatus.HOST_STATUS_BLOCKED));
    expect(blocked.map((h) => h.hostKey)).toEqual([host]);
    expect(listed.policies.map((p) => p.pattern)).toEqual([host]);
  });

  it("shards list: every shard with its address, ranges, hosts and queued URLs", async () => {
    const res = proto.ListShardsResponse.fromJSON((await ctl("s1", ["shards", "list"])).json);
    expect(res.shards.map((s) => s.shardId)).toEqual(SHARDS);
    expect(res.shards.reduce((n, s) => n + s.partitions, 0)).toBe(PARTITIONS);
    for (const s of res.shards) {
      expect(s.grpcAddress).toBe(addresses.get(s.shardId));
      expect(s.ranges).toEqual(
        map.ranges.filter((r) => r.shard === s.shardId).map((r) => ({ from: r.from, to: r.to })),
      );
      const own = hosts.filter((h) => ownerOfHost(h) === s.shardId);
      expect(s.hosts, s.shardId).toBe(own.length);
      expect(s.queued, s.shardId).toBe(own.length * PAGES);
      expect(s.expired || s.unanswered).toBe(false);
      expect(s.startedAtMs).toBeGreaterThan(0);
    }
    // The table for people names each shard.
    const table = await runHeedctl(["--server", addresses.get("s0") as string, "shards", "list"], {
      env: { HEED_TOKEN: "", HEEDCTL_CONFIG: "", HOME: scratch },
    });
    for (const s of SHARDS) expect(table.stdout).toContain(addresses.get(s));
  });

  it("a dead shard is named as missing, never silently left out of a count", async () => {
    const victim = "s2";
    const proc = procs.get(victim) as RunningBin;
    proc.child.kill("SIGKILL");
    await exited(proc.child);
    const own = hosts.filter((h) => ownerOfHost(h) === victim);
    const t0 = Date.now();
    const { json, stderr } = await ctl("s0", ["stats", CRAWL]);
    const stats = proto.GetStatsResponse.fromJSON(json);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(stats.missingShards).toEqual([victim]);
    expect(stats.total?.counts?.queued).toBe(seeds.length - own.length * PAGES);
    expect(stderr).toMatch(/shard s2 did not answer/);

    const listed = proto.ListHostsResponse.fromJSON((await ctl("s1", ["hosts", "list", "--all"])).json);
    expect(listed.hosts.length).toBe(HOSTS - own.length);

    const shards = proto.ListShardsResponse.fromJSON((await ctl("s0", ["shards", "list"])).json);
    const dead = shards.shards.find((s) => s.shardId === victim);
    expect(dead?.unanswered || dead?.expired).toBe(true);
    // Once its ownership timeout has passed, its member record is gone: expired, its ranges still its own.
    await until(
      "the dead shard's membership expired",
      async () => {
        const r = proto.ListShardsResponse.fromJSON((await ctl("s0", ["shards", "list"])).json);
        const d = r.shards.find((s) => s.shardId === victim);
        return d?.expired === true ? d : undefined;
      },
      15_000,
    ).then((d) => expect(d.partitions).toBeGreaterThan(0));
  }, 40_000);
});

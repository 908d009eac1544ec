import { takeOverShard } from "@heed/coordinator";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { evenMap, MAP_BUCKET, MEMBERS_BUCKET, ownerOf, partitionOfHost, sleep } from "@heed/shared";
import { connect } from "nats";
import { afterEach, describe, expect, it } from "vitest";
import { gapViolations, overlaps } from "./harness/audit.js";
import { crawlSpec } from "./harness/cluster.js";
import { freeze } from "./harness/processes.js";
import { type ShardFleetHandle, startShardFleet } from "./harness/shard-fleet.js";
import { until } from "./harness/until.js";

/**
 * A shard frozen (SIGSTOP) for longer than its ownership timeout is the
 * hardest partition: its timers do not run, and when it wakes up its socket
 * holds lease requests that arrived while it slept, ahead of the map change
 * that took its ranges. It must answer none of them with a lease.
 */
const SHARDS = ["s0", "s1"];
const TTL_MS = 3000;
const MIN_DELAY_MS = 200;

describe("a frozen shard", () => {
  let site: LoopbackSite | undefined;
  let fleet: ShardFleetHandle | undefined;
  afterEach(async () => {
    await fleet?.stop();
    await site?.close();
    fleet = undefined;
    site = undefined;
  });

  /** A 16-host site and the three shards serving crawl `id` (workers not started); each host's delay. */
  async function startFleet(id: string) {
    site = await startLoopbackSite({ hosts: defaultPlan(16, 6, 0), pageLatencyMs: 5, firstOctet: 2 });
    const hosts = site.hosts;
    const delayOf = (address: string) => {
      const r = hosts.find((h) => h.address === address)?.plan.robots;
      return Math.max(MIN_DELAY_MS, r?.kind === "crawl-delay" ? r.seconds * 1000 : 0);
    };
    fleet = await startShardFleet(
      SHARDS,
      { ...crawlSpec(site.seeds(), { politeness: { minDelayMs: MIN_DELAY_MS } }), id },
      { ownershipTimeoutMs: TTL_MS },
    );
    for (const s of SHARDS) await fleet.startShard(s);
    return { f: fleet, site, delayOf };
  }

  it("issues no lease after waking up once its ranges were taken, and no host gets an early request", async () => {
    const { f, site, delayOf } = await startFleet("frozen");
    const map = evenMap(SHARDS);
    const s0Hosts = site.hosts.filter((h) => ownerOf(map, partitionOfHost(h.address)) === "s0");
    expect(s0Hosts.length).toBeGreaterThan(2);
    f.startWorkers(2);
    const s0Leases = () => f.read("s0", (r) => r.leases()) ?? [];
    await until("s0 to lease a few pages", () => (s0Leases().length >= 6 ? true : undefined), 30_000);

    const s0 = f.shard("s0");
    if (s0 === undefined) throw new Error("s0 is not running");
    await freeze(s0);
    // Every lease stamped before the stop has a time at or before this one; none after it.
    const frozenAt = Date.now();
    const issuedBeforeFreeze = s0Leases().length;

    // The operator's take-over: refused while s0's member key lives, accepted once it has expired.
    const nc = await connect({ servers: f.nats.url });
    let takenAt = 0;
    let refusals = 0;
    try {
      const js = nc.jetstream();
      const mapKv = await js.views.kv(MAP_BUCKET, { bindOnly: true });
      const membersKv = await js.views.kv(MEMBERS_BUCKET, { bindOnly: true });
      while (takenAt === 0 && Date.now() - frozenAt < 3 * TTL_MS) {
        try {
          await takeOverShard(mapKv, membersKv, "s0", "s1");
          takenAt = Date.now();
        } catch (err) {
          expect((err as Error).message).toMatch(/still a member/);
          refusals++;
          await sleep(20);
        }
      }
    } finally {
      await nc.close();
    }
    expect(takenAt).toBeGreaterThan(0);
    expect(refusals).toBeGreaterThan(0);
    // Workers keep asking s0 while its record lives; those requests wait in its socket.
    await sleep(1000);
    s0.kill("SIGCONT");
    const resumedAt = Date.now();
    await sleep(3000);

    const after = s0Leases().filter((l) => l.issuedAtMs > frozenAt);
    console.log(
      `frozen shard (ownership timeout ${TTL_MS} ms): frozen at 0, take-over accepted at ${takenAt - frozenAt} ms ` +
        `after ${refusals} refusals, woken at ${resumedAt - frozenAt} ms; s0 issued ${issuedBeforeFreeze} leases before, ` +
        `${after.length} after; ${site.log.length} requests, ${s0Hosts.length} of ${site.hosts.length} hosts on s0`,
    );
    expect(after).toEqual([]);
    expect(gapViolations(site.log, delayOf)).toEqual([]);
    expect(overlaps(site.log, (h) => h)).toEqual([]);
  }, 90_000);
  it("a shard woken after its key expired issues nothing until it has renewed, then finishes its hosts", async () => {
    const { f, site, delayOf } = await startFleet("woken");
    f.startWorkers(2);
    const s0Leases = () => f.read("s0", (r) => r.leases()) ?? [];
    await until("s0 to lease a few pages", () => (s0Leases().length >= 6 ? true : undefined), 30_000);

    const nc = await connect({ servers: f.nats.url });
    try {
      const membersKv = await nc.jetstream().views.kv(MEMBERS_BUCKET, { bindOnly: true });
      const s0 = f.shard("s0");
      if (s0 === undefined) throw new Error("s0 is not running");
      await freeze(s0);
      // Every lease stamped before the stop has a time at or before this one; none after it.
      const frozenAt = Date.now();
      await until(
        "s0's key to expire",
        async () => ((await membersKv.get("s0")) === null ? true : undefined),
        3 * TTL_MS,
      );
      // Workers' lease requests pile up in its socket meanwhile; nobody takes its ranges.
      await sleep(500);
      s0.kill("SIGCONT");
      const wokenAt = Date.now();
      const renewed = await until(
        "s0 to renew",
        async () => (await membersKv.get("s0")) ?? undefined,
        3 * TTL_MS,
      );
      const renewedAt = renewed.created.getTime();
      const crawl = await f.waitFinished(60_000);

      const afterWake = s0Leases().filter((l) => l.issuedAtMs > frozenAt);
      const early = afterWake.filter((l) => l.issuedAtMs < renewedAt);
      console.log(
        `woken shard (ownership timeout ${TTL_MS} ms): frozen at 0, woken at ${wokenAt - frozenAt} ms, ` +
          `key renewed at ${renewedAt - frozenAt} ms; ${afterWake.length} leases after waking, the first at ` +
          `${Math.min(...afterWake.map((l) => l.issuedAtMs)) - frozenAt} ms; ${early.length} before the renewal`,
      );
      expect(afterWake.length).toBeGreaterThan(0);
      expect(early).toEqual([]);
      expect(crawl.state).toBe("finished");
      expect(crawl.counts.done).toBe(site.expectedPages(10).size);
      expect(gapViolations(site.log, delayOf)).toEqual([]);
      expect(overlaps(site.log, (h) => h)).toEqual([]);
      for (const s of SHARDS) expect(f.check(s).problems).toEqual([]);
    } finally {
      await nc.close();
    }
  }, 90_000);
});

import { performance } from "node:perf_hooks";
import {
  ensureShardMap,
  readShardMap,
  type ShardOwnership,
  startShardOwnership,
  takeOverShard,
  updateShardMap,
} from "@heed/coordinator";
import {
  evenMap,
  MEMBERS_BUCKET,
  openMapBucket,
  PARTITIONS,
  type ShardMember,
  silentLogger,
  sleep,
} from "@heed/shared";
import { startNatsServer } from "@heed/test-support";
import { connect, type NatsConnection } from "nats";
import { describe, expect, it } from "vitest";
import { startTcpProxy } from "./harness/tcp-proxy.js";
import { until } from "./harness/until.js";

const member = (shardId: string): ShardMember => ({
  shardId,
  grpcAddress: "127.0.0.1:1",
  leaseSubject: `heed.lease.request.${shardId}`,
  adminSubject: `heed.shard.${shardId}.admin`,
  signingPublicKey: "",
  startedAt: Date.now(),
});

const owned = (o: ShardOwnership, now = performance.now()) => {
  let n = 0;
  for (let p = 0; p < PARTITIONS; p++) if (o.owns(p, now)) n++;
  return n;
};

describe("shard ownership", () => {
  it("creates the map once, and each shard owns exactly its ranges", async () => {
    const nats = await startNatsServer({ jetstream: true });
    const conns: NatsConnection[] = [];
    const shards: ShardOwnership[] = [];
    try {
      for (const id of ["s0", "s1", "s2"]) {
        const nc = await connect({ servers: nats.url });
        conns.push(nc);
        shards.push(
          await startShardOwnership({
            nc,
            member: member(id),
            ownershipTimeoutMs: 3000,
            initialShardIds: ["s0", "s1", "s2"],
            quietAfterGainMs: () => 0,
            log: silentLogger(),
          }),
        );
      }
      const map = await readShardMap(await openMapBucket(conns[0] as NatsConnection));
      expect(map?.map).toEqual(evenMap(["s0", "s1", "s2"]));
      expect(map?.revision).toBe(1);
      for (let p = 0; p < PARTITIONS; p++) expect(shards.filter((s) => s.owns(p)).length).toBe(1);
      expect(shards.map((s) => owned(s))).toEqual([341, 341, 342]);
      expect(shards[0]?.fleet.members().map((m) => m.shardId)).toEqual(["s0", "s1", "s2"]);
    } finally {
      for (const s of shards) await s.stop();
      for (const nc of conns) await nc.close();
      await nats.stop();
    }
  });

  it("retries a map update that lost a race, so concurrent changes all land", async () => {
    const nats = await startNatsServer({ jetstream: true });
    const nc = await connect({ servers: nats.url });
    try {
      const kv = await openMapBucket(nc);
      await ensureShardMap(kv, ["s0", "s1"]);
      let calls = 0;
      // Eight writers each add one move on their own partitions, all from the same first read.
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          updateShardMap(kv, (m) => {
            calls++;
            return {
              ...m,
              moves: [
                ...m.moves,
                { from: i, to: i + 1, source: "s0", target: "s2", phase: "fencing" as const },
              ],
            };
          }),
        ),
      );
      const final = await readShardMap(kv);
      expect(final?.map.moves.map((m) => m.from).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(final?.map.version).toBe(9);
      expect(calls).toBeGreaterThan(8);
    } finally {
      await nc.close();
      await nats.stop();
    }
  });

  it("a second process claiming the same shard id fences the first", async () => {
    const nats = await startNatsServer({ jetstream: true });
    const a = await connect({ servers: nats.url });
    const b = await connect({ servers: nats.url });
    const opts = {
      ownershipTimeoutMs: 1500,
      initialShardIds: ["s0"],
      quietAfterGainMs: () => 0,
      log: silentLogger(),
    };
    const first = await startShardOwnership({ nc: a, member: member("s0"), ...opts });
    try {
      expect(first.owns(0)).toBe(true);
      const second = await startShardOwnership({ nc: b, member: { ...member("s0"), startedAt: 1 }, ...opts });
      try {
        await until("the first to see its record replaced", () => (first.owns(0) ? undefined : true), 3000);
        await sleep(1000);
        expect(first.owns(0)).toBe(false);
        expect(second.owns(0)).toBe(true);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
      await a.close();
      await b.close();
      await nats.stop();
    }
  });

  it("a shard cut off from NATS stops issuing before its key expires and before another shard can own its keys", async () => {
    const ttl = 3000;
    const nats = await startNatsServer({ jetstream: true });
    const proxy = await startTcpProxy(nats.port);
    const cutNc = await connect({
      servers: `nats://127.0.0.1:${proxy.port}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 200,
    });
    const nc = await connect({ servers: nats.url });
    // The longest lease lifetime, as the new owner waits it out after gaining s0's partitions.
    const quietMs = 1000;
    const opts = {
      ownershipTimeoutMs: ttl,
      initialShardIds: ["s0", "s1"],
      quietAfterGainMs: () => quietMs,
      log: silentLogger(),
    };
    const s0 = await startShardOwnership({ nc: cutNc, member: member("s0"), ...opts });
    const s1 = await startShardOwnership({ nc, member: member("s1"), ...opts });
    const membersKv = await nc.jetstream().views.kv(MEMBERS_BUCKET, { bindOnly: true });
    const p0 = 0; // s0's by the even map
    let doubleOwned = 0;
    const watchDouble = setInterval(() => {
      const now = performance.now();
      for (let p = 0; p < PARTITIONS; p++) if (s0.owns(p, now) && s1.owns(p, now)) doubleOwned++;
    }, 5);
    try {
      expect(s0.owns(p0)).toBe(true);
      await sleep(ttl / 2); // somewhere between two renewals
      const lastPut = s0.lastAckedPutMono();
      const cutAt = performance.now();
      await proxy.cut();

      let fencedAt = 0;
      let expiredAt = 0;
      let takenAt = 0;
      // When the accepted take-over was sent: s1 may see the new map before its acknowledgement is back here.
      let takeSentAt = 0;
      let refusals = 0;
      const deadline = cutAt + 4 * ttl;
      while ((fencedAt === 0 || expiredAt === 0 || takenAt === 0) && performance.now() < deadline) {
        const now = performance.now();
        if (fencedAt === 0 && !s0.owns(p0, now)) fencedAt = now;
        if (expiredAt === 0 && (await membersKv.get("s0")) === null) expiredAt = performance.now();
        if (takenAt === 0)
          try {
            const attemptAt = performance.now();
            await takeOverShard(s1.mapBucket, membersKv, "s0", "s1");
            takenAt = performance.now();
            takeSentAt = attemptAt;
            if (expiredAt === 0) expiredAt = takenAt;
          } catch (err) {
            expect((err as Error).message).toMatch(/still a member/);
            refusals++;
          }
        await sleep(10);
      }
      await until(
        "s1 to see the new map",
        () => (s1.map()?.map.ranges.every((r) => r.shard === "s1") ? true : undefined),
        3000,
      );
      const sawMapAt = performance.now();
      expect(s1.owns(p0)).toBe(false); // quiet: s0's last leases may still be in use
      await until("s1 to own s0's partitions", () => (s1.owns(p0) ? true : undefined), 3000, 5);
      const ownedByS1At = performance.now();
      expect(ownedByS1At - sawMapAt).toBeGreaterThanOrEqual(quietMs - 50);
      expect(ownedByS1At - takeSentAt).toBeGreaterThanOrEqual(quietMs);
      const rel = (t: number) => Math.round(t - lastPut);
      const fence = lastPut + (ttl - Math.floor(ttl / 3));
      console.log(
        `partition timings (ms after s0's last acknowledged put; ttl ${ttl}, fence at ttl-ttl/3 = ${ttl - Math.floor(ttl / 3)}): ` +
          `cut ${rel(cutAt)}, s0 stops issuing ${rel(fence)} (seen by the poll at ${rel(fencedAt)}), s0's key seen expired ${rel(expiredAt)}, ` +
          `take-over accepted ${rel(takenAt)} (after ${refusals} refusals), s1 sees the map ${rel(sawMapAt)} and owns after its quiet ${rel(ownedByS1At)}`,
      );
      expect(fencedAt).toBeGreaterThan(0);
      expect(expiredAt).toBeGreaterThan(0);
      expect(takenAt).toBeGreaterThan(0);
      // The fence is exact, by s0's own clock: ttl - ttl/3 after the send of its last acknowledged put.
      expect(s0.lastAckedPutMono()).toBe(lastPut);
      expect(s0.owns(p0, fence - 1)).toBe(true);
      expect(s0.owns(p0, fence)).toBe(false);
      expect(fencedAt).toBeGreaterThanOrEqual(fence);
      // The key lives at least ttl after that put, so nobody can take the ranges until ttl/3 after the fence.
      expect(expiredAt - lastPut).toBeGreaterThanOrEqual(ttl);
      expect(takenAt - lastPut).toBeGreaterThanOrEqual(ttl);
      expect(takenAt - fence).toBeGreaterThanOrEqual(Math.floor(ttl / 3));
      expect(refusals).toBeGreaterThan(0);

      // Back on the network, s0 renews but the map no longer gives it those ranges.
      await proxy.restore();
      await until("s0 to renew", () => (s0.fresh() ? true : undefined), 5000);
      await sleep(200);
      expect(s0.owns(p0)).toBe(false);
      expect(owned(s0)).toBe(0);
      expect(owned(s1)).toBe(PARTITIONS);
      expect(doubleOwned).toBe(0);
    } finally {
      clearInterval(watchDouble);
      await s0.stop();
      await s1.stop();
      await cutNc.close();
      await nc.close();
      await proxy.close();
      await nats.stop();
    }
  });
});

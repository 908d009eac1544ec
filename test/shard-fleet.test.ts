import { existsSync } from "node:fs";
import {
  encodeShardMap,
  encodeShardMember,
  evenMap,
  MAP_KEY,
  openMapBucket,
  openMembersBucket,
  requireJetStream,
  type ShardMember,
  watchShardFleet,
} from "@heed/shared";
import { startNatsServer } from "@heed/test-support";
import { connect } from "nats";
import { describe, expect, it } from "vitest";
import { until } from "./harness/until.js";

const member = (shardId: string): ShardMember => ({
  shardId,
  grpcAddress: "127.0.0.1:1",
  leaseSubject: `heed.lease.request.${shardId}`,
  adminSubject: `heed.shard.${shardId}.admin`,
  signingPublicKey: "",
  startedAt: Date.now(),
});

describe("watchShardFleet", () => {
  it("follows members and the map, and drops a member whose key outlived the ownership timeout", async () => {
    const nats = await startNatsServer({ jetstream: true });
    const nc = await connect({ servers: nats.url });
    try {
      const members = await openMembersBucket(nc, 1500);
      const maps = await openMapBucket(nc);
      await members.put("s0", encodeShardMember(member("s0")));
      const fleet = await watchShardFleet(nc);
      expect(fleet.ownershipTimeoutMs).toBe(1500);
      expect(fleet.members().map((m) => m.shardId)).toEqual(["s0"]);
      expect(fleet.map()).toBeUndefined();

      await members.put("s1", encodeShardMember(member("s1")));
      const revision = await maps.create(MAP_KEY, encodeShardMap(evenMap(["s0", "s1"])));
      await until(
        "s1 and the map",
        () => (fleet.members().length === 2 && fleet.map() ? true : undefined),
        5000,
      );
      expect(fleet.map()).toEqual({ map: evenMap(["s0", "s1"]), revision });

      const next = { ...evenMap(["s0", "s1", "s2"]), version: 2 };
      const updated = await maps.update(MAP_KEY, encodeShardMap(next), revision);
      await until("the updated map", () => (fleet.map()?.revision === updated ? true : undefined), 5000);
      expect(fleet.map()?.map).toEqual(next);

      // s0 keeps renewing, s1 stops: its key expires on the server without a notification to watchers,
      // so the fleet says so itself, once the ownership timeout has passed since s1's last put.
      const renew = setInterval(() => void members.put("s0", encodeShardMember(member("s0"))), 400);
      let changedWithoutS1 = false;
      fleet.onChange(() => {
        if (fleet.member("s1") === undefined) changedWithoutS1 = true;
      });
      try {
        await until("s1 to expire", () => (changedWithoutS1 ? true : undefined), 5000);
        expect(fleet.member("s1")).toBeUndefined();
        expect(fleet.members().map((m) => m.shardId)).toEqual(["s0"]);
      } finally {
        clearInterval(renew);
      }
      // With no KV traffic at all, the fleet still tells its listeners when the last member expires.
      let emptied = false;
      fleet.onChange(() => {
        if (fleet.members().length === 0) emptied = true;
      });
      await until("s0 to expire with no traffic", () => (emptied ? true : undefined), 4000);
      await fleet.stop();
    } finally {
      await nc.close();
      await nats.stop();
    }
    expect(existsSync(nats.storeDir ?? "")).toBe(false);
  });

  it("says when no sharded fleet exists, and when the server has no JetStream", async () => {
    const withJs = await startNatsServer({ jetstream: true });
    const plain = await startNatsServer();
    const a = await connect({ servers: withJs.url });
    const b = await connect({ servers: plain.url });
    try {
      await expect(watchShardFleet(a)).rejects.toMatchObject({ code: "HEED_SHARD_FLEET_MISSING" });
      await expect(requireJetStream(b)).rejects.toMatchObject({
        code: "HEED_JETSTREAM_MISSING",
        message: expect.stringContaining("-js"),
      });
    } finally {
      await a.close();
      await b.close();
      await withJs.stop();
      await plain.stop();
    }
  });
});

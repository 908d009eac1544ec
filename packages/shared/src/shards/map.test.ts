import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../errors.js";
import { PARTITIONS } from "./keys.js";
import { decodeShardMap, encodeShardMap, evenMap, ownerOf, partitionOwners, type ShardMap } from "./map.js";
import {
  decodeShardMember,
  encodeShardMember,
  leaseIdWithShard,
  shardLeaseSubject,
  shardOfLeaseId,
  urlSubject,
} from "./members.js";

describe("evenMap", () => {
  it("tiles the partitions in contiguous, near-equal ranges over the sorted ids", () => {
    const map = evenMap(["s2", "s0", "s1"]);
    expect(map.ranges).toEqual([
      { from: 0, to: 341, shard: "s0" },
      { from: 341, to: 682, shard: "s1" },
      { from: 682, to: PARTITIONS, shard: "s2" },
    ]);
    expect(map.moves).toEqual([]);
    const owners = partitionOwners(map);
    for (let p = 0; p < PARTITIONS; p++) expect(owners[p]).toBe(ownerOf(map, p));
  });

  it("gives one shard everything, and a hundred shards ten or eleven partitions each", () => {
    expect(evenMap(["only"]).ranges).toEqual([{ from: 0, to: PARTITIONS, shard: "only" }]);
    const sizes = evenMap(Array.from({ length: 100 }, (_, i) => `s${i}`)).ranges.map((r) => r.to - r.from);
    expect(Math.min(...sizes)).toBe(10);
    expect(Math.max(...sizes)).toBe(11);
  });
});

describe("ownerOf", () => {
  it("owns nothing for a partition under a move", () => {
    const map: ShardMap = {
      ...evenMap(["s0", "s1"]),
      moves: [{ from: 256, to: 512, source: "s0", target: "s2", phase: "fencing" }],
    };
    expect(ownerOf(map, 255)).toBe("s0");
    expect(ownerOf(map, 256)).toBeUndefined();
    expect(ownerOf(map, 511)).toBeUndefined();
    expect(ownerOf(map, 512)).toBe("s1");
    expect(partitionOwners(map)[300]).toBeUndefined();
  });
});

describe("codecs", () => {
  it("round-trip a map and a member", () => {
    const map = evenMap(["a", "b"]);
    expect(decodeShardMap(encodeShardMap(map))).toEqual(map);
    const member = {
      shardId: "s0",
      grpcAddress: "127.0.0.1:7000",
      leaseSubject: shardLeaseSubject("heed.lease.request", "s0"),
      adminSubject: "heed.shard.s0.admin",
      signingPublicKey: "MCowBQYDK2VwAyEA",
      startedAt: 1,
    };
    expect(decodeShardMember(encodeShardMember(member))).toEqual(member);
  });

  it("refuses a map with a gap or an overlap, with a stable code", () => {
    const gap = {
      version: 1,
      ranges: [
        { from: 0, to: 500, shard: "s0" },
        { from: 501, to: PARTITIONS, shard: "s1" },
      ],
      moves: [],
    };
    const overlap = {
      version: 1,
      ranges: [
        { from: 0, to: 600, shard: "s0" },
        { from: 500, to: PARTITIONS, shard: "s1" },
      ],
      moves: [],
    };
    for (const bad of [gap, overlap]) {
      const bytes = new TextEncoder().encode(JSON.stringify(bad));
      expect(() => decodeShardMap(bytes)).toThrow(InvalidInputError);
      expect(() => decodeShardMap(bytes)).toThrow(/without gaps or overlaps/);
    }
    expect(() => decodeShardMap(new TextEncoder().encode("{"))).toThrow(
      expect.objectContaining({ code: "HEED_SHARD_MAP_INVALID" }),
    );
  });

  it("refuses a member with a bad shard id", () => {
    const bytes = new TextEncoder().encode(
      JSON.stringify({
        shardId: "S 0",
        grpcAddress: "x",
        leaseSubject: "y",
        adminSubject: "z",
        signingPublicKey: "",
        startedAt: 0,
      }),
    );
    expect(() => decodeShardMember(bytes)).toThrow(
      expect.objectContaining({ code: "HEED_SHARD_MEMBER_INVALID" }),
    );
  });
});

describe("names", () => {
  it("lease ids carry the issuing shard; unsharded ids carry none", () => {
    expect(shardOfLeaseId(leaseIdWithShard("s3", "0123abcd"))).toBe("s3");
    expect(shardOfLeaseId("0123abcd")).toBeUndefined();
    expect(shardOfLeaseId("Not A Shard~x")).toBeUndefined();
    expect(urlSubject("s1")).toBe("heed.urls.s1");
    expect(shardLeaseSubject("heed.lease.request", "s1")).toBe("heed.lease.request.s1");
  });
});

import { describe, expect, it } from "vitest";
import {
  fmix32,
  fnv1a32,
  hostPlacement,
  PARTITIONS,
  partitionOf,
  partitionOfHost,
  partitionOfHostGroup,
  shardKeyOf,
} from "./keys.js";
import { evenMap, ownerOf } from "./map.js";

describe("shardKeyOf", () => {
  it("places hosts by registrable domain, so a site's host and domain keys stay together", () => {
    expect(shardKeyOf("www.example.com")).toBe("example.com");
    expect(shardKeyOf("EXAMPLE.com")).toBe("example.com");
    expect(shardKeyOf("a.b.example.co.uk")).toBe("example.co.uk");
  });

  it("uses the private section, so platform subdomains are separate sites", () => {
    expect(shardKeyOf("alice.github.io")).toBe("alice.github.io");
    expect(shardKeyOf("www.bob.blogspot.com")).toBe("bob.blogspot.com");
    expect(shardKeyOf("alice.github.io")).not.toBe(shardKeyOf("bob.github.io"));
  });

  it("places an address literal by the address and a name without a registrable domain by itself", () => {
    expect(shardKeyOf("127.0.0.2")).toBe("127.0.0.2");
    expect(shardKeyOf("[::1]")).toBe("::1");
    expect(shardKeyOf("localhost")).toBe("localhost");
    expect(shardKeyOf("github.io")).toBe("github.io");
  });
});

describe("partitionOf", () => {
  it("is FNV-1a 32 bit finalized by murmur3's fmix32, top ten bits", () => {
    // FNV-1a("") = 0x811c9dc5, FNV-1a("a") = 0xe40c292c, FNV-1a("foobar") = 0xbf9cf968 (published test vectors).
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
    expect(fmix32(0)).toBe(0);
    // The finalizer, step by step, for one value.
    let x = 0xe40c292c;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    x ^= x >>> 16;
    expect(partitionOf("a")).toBe((x >>> 0) >>> 22);
  });

  it("hashes UTF-8 bytes, so an IDN and its characters agree across runtimes", () => {
    // "é" is two bytes in UTF-8: a hash over UTF-16 code units would differ.
    let hash = 0x811c9dc5;
    for (const byte of [0xc3, 0xa9]) hash = Math.imul(hash ^ byte, 0x01000193);
    expect(fnv1a32("é")).toBe(hash >>> 0);
  });

  it("spreads keys that differ only in their last bytes", () => {
    const addresses = Array.from({ length: 40 }, (_, i) => `127.0.0.${i + 2}`);
    const map = evenMap(["s0", "s1", "s2"]);
    const perShard = new Map<string, number>();
    for (const a of addresses) {
      const owner = ownerOf(map, partitionOfHost(a)) as string;
      perShard.set(owner, (perShard.get(owner) ?? 0) + 1);
    }
    for (const s of ["s0", "s1", "s2"]) expect(perShard.get(s) ?? 0).toBeGreaterThanOrEqual(6);
    const names = new Set(Array.from({ length: 100 }, (_, i) => partitionOf(`host-${i}.test`)));
    expect(names.size).toBeGreaterThan(85);
  });

  it("covers every partition and no more", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50_000; i++) seen.add(partitionOf(`host-${i}.example`));
    expect(Math.min(...seen)).toBe(0);
    expect(Math.max(...seen)).toBe(PARTITIONS - 1);
    expect(seen.size).toBe(PARTITIONS);
  });

  it("puts every host of one site in one partition", () => {
    expect(partitionOfHost("www.example.com")).toBe(partitionOfHost("shop.example.com"));
    expect(partitionOfHost("www.example.com")).toBe(partitionOf("example.com"));
  });
});

describe("host groups", () => {
  it("place a group whole, by its first host in sorted order", () => {
    const hosts = ["zeta.example.net", "alpha.example.org", "mid.example.com"];
    expect(partitionOfHostGroup(hosts)).toBe(partitionOfHost("alpha.example.org"));
    expect(partitionOfHostGroup([...hosts].reverse())).toBe(partitionOfHostGroup(hosts));
    const place = hostPlacement([{ hosts }]);
    for (const host of hosts) expect(place(host)).toBe(partitionOfHost("alpha.example.org"));
    expect(place("other.example.com")).toBe(partitionOfHost("other.example.com"));
  });

  it("places a host listed in two groups with the first, as the frontier spaces it", () => {
    const first = ["shared.example.net", "zeta.example.com"];
    const second = ["alpha.example.org", "shared.example.net"];
    expect(partitionOfHostGroup(first)).not.toBe(partitionOfHostGroup(second));
    const place = hostPlacement([{ hosts: first }, { hosts: second }]);
    expect(place("shared.example.net")).toBe(partitionOfHostGroup(first));
  });

  it("refuses an empty group", () => {
    expect(() => partitionOfHostGroup([])).toThrow(RangeError);
  });
});

import { describe, expect, it } from "vitest";
import {
  hostPlacement,
  PARTITIONS,
  partitionOf,
  partitionOfHost,
  partitionOfHostGroup,
  shardKeyOf,
} from "./keys.js";

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
  it("is FNV-1a 32 bit, top ten bits", () => {
    // FNV-1a("") = 0x811c9dc5, FNV-1a("a") = 0xe40c292c (published test vectors).
    expect(partitionOf("")).toBe(0x811c9dc5 >>> 22);
    expect(partitionOf("a")).toBe(0xe40c292c >>> 22);
    expect(partitionOf("foobar")).toBe(0xbf9cf968 >>> 22);
  });

  it("hashes UTF-8 bytes, so an IDN and its characters agree across runtimes", () => {
    // "é" is two bytes in UTF-8: a hash over UTF-16 code units would differ.
    let hash = 0x811c9dc5;
    for (const byte of [0xc3, 0xa9]) hash = Math.imul(hash ^ byte, 0x01000193);
    expect(partitionOf("é")).toBe(hash >>> 22);
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

  it("refuses an empty group", () => {
    expect(() => partitionOfHostGroup([])).toThrow(RangeError);
  });
});

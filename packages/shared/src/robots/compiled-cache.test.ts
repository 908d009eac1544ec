import { describe, expect, it } from "vitest";
import { parsedRobotsStats, robotsVerdict } from "../robots.js";
import { createCompiledCache, estimatedCompiledBytes } from "./compiled-cache.js";

describe("the parsed robots.txt cache", () => {
  it("drops the least recently used entries once past its budget, never the one just set", () => {
    const cache = createCompiledCache<string>(3 * estimatedCompiledBytes(100));
    cache.set("a", "A", 100);
    cache.set("b", "B", 100);
    cache.set("c", "C", 100);
    expect(cache.get("a")).toBe("A"); // a is now the most recently used
    cache.set("d", "D", 100);
    expect(cache.get("b")).toBeUndefined();
    expect(["a", "c", "d"].map((k) => cache.get(k))).toEqual(["A", "C", "D"]);
    // One entry larger than the whole budget is kept alone.
    cache.set("huge", "H", 10_000_000);
    expect(cache.get("huge")).toBe("H");
    expect(cache.stats()).toMatchObject({ entries: 1, compiles: 5, evictions: 4 });
  });

  it("parses each host's file once while every host being crawled fits, however many there are", () => {
    // More hosts than the 2 000 entries the cache used to keep, each leased in turn, twice.
    const text = `User-agent: *\n${Array.from({ length: 20 }, (_, i) => `Disallow: /private-${i}/`).join("\n")}\n`;
    const policies = Array.from({ length: 3000 }, (_, i) => ({
      origin: `http://cache-${i}.example`,
      status: "parsed" as const,
      httpStatus: 200,
      fetchedAtMs: 0,
      expiresAtMs: Number.MAX_SAFE_INTEGER,
      digest: "d".repeat(64),
      text,
      failures: 0,
    }));
    const before = parsedRobotsStats().compiles;
    for (const round of [1, 2]) {
      for (const p of policies) {
        expect(robotsVerdict(p, `${p.origin}/private-3/x`, "HeedBot").allowed).toBe(false);
        expect(robotsVerdict(p, `${p.origin}/page-${round}`, "HeedBot").allowed).toBe(true);
      }
    }
    expect(parsedRobotsStats().compiles - before).toBe(3000);
  });
});

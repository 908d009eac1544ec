import { type CrawlSpec, crawlSpecSchema, parseConfig, proto } from "@heed/shared";
import { describe, expect, it } from "vitest";
import { crawlInput } from "./validate.js";
import { definitionToProto } from "./wire.js";

/** Every key path of a plain object (arrays of objects by their first element). */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object") return [];
  if (Array.isArray(value)) return value.length > 0 ? keyPaths(value[0], `${prefix}[]`) : [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
}

const full = parseConfig(crawlSpecSchema, {
  id: "wire-test",
  seeds: ["https://example.org/"],
  userAgent: { product: "ExampleBot", version: "2.0", contact: "ops@example.org" },
  politeness: { hostGroups: [{ name: "box", hosts: ["a.example.org", "b.example.org"] }] },
}) as CrawlSpec;

describe("crawl definitions on the wire", () => {
  it("carry every field of a crawl file both ways (add a field to admin.proto when the schema grows)", () => {
    const wire = definitionToProto(full);
    expect(keyPaths(wire).sort()).toEqual(keyPaths(full).sort());
    expect(keyPaths(crawlInput(wire)).sort()).toEqual(keyPaths(full).sort());
  });

  it("keep every value, defaults or not, through an encode/decode round trip", () => {
    const changed = parseConfig(crawlSpecSchema, {
      ...full,
      maxPages: 5_000_000_000,
      politeness: { ...full.politeness, key: "domain", delayFactor: 1.5, retryAfterCeilingMs: 5_000_000_000 },
      budgets: { ...full.budgets, maxBytes: 2 ** 40 },
      sitemaps: { ...full.sitemaps, enabled: true },
      fetch: { ...full.fetch, maxOutlinks: 7 },
      allowPrivateAddresses: true,
    }) as CrawlSpec;
    const decoded = proto.CrawlDefinition.decode(
      proto.CrawlDefinition.encode(definitionToProto(changed)).finish(),
    );
    expect(parseConfig(crawlSpecSchema, crawlInput(decoded))).toEqual(changed);
  });
});

import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.js";
import { type CrawlSpec, crawlSpecSchema } from "./crawl-spec.js";
import { crawlInputFromProto, crawlSpecFromProto, crawlSpecToProto, protoFieldPath } from "./crawl-wire.js";
import { ConfigError } from "./errors.js";
import * as proto from "./proto.js";

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err.key;
    throw err;
  }
  throw new Error("no error");
}

const good = proto.CrawlDefinition.fromPartial({
  seeds: ["https://example.org/"],
  userAgent: { product: "ExampleBot", contact: "ops@example.org" },
});

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
  recrawl: { of: "earlier-crawl", everyDays: 7 },
}) as CrawlSpec;

describe("crawl definitions on the wire", () => {
  it("carry every field of a crawl file both ways (add a field to admin.proto when the schema grows)", () => {
    const wire = crawlSpecToProto(full);
    expect(keyPaths(wire).sort()).toEqual(keyPaths(full).sort());
    expect(keyPaths(crawlInputFromProto(wire)).sort()).toEqual(keyPaths(full).sort());
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
      proto.CrawlDefinition.encode(crawlSpecToProto(changed)).finish(),
    );
    expect(parseConfig(crawlSpecSchema, crawlInputFromProto(decoded))).toEqual(changed);
  });
});

describe("crawl definitions from the admin API", () => {
  it("names the offending field in proto spelling", () => {
    expect(protoFieldPath(["userAgent", "contact"], "definition")).toBe("definition.user_agent.contact");
    expect(protoFieldPath(["seeds", 2], "")).toBe("seeds[2]");
    expect(fieldOf(() => crawlSpecFromProto(undefined))).toBe("definition");
    expect(
      fieldOf(() => crawlSpecFromProto({ ...good, userAgent: { product: "x", version: "", contact: "" } })),
    ).toBe("definition.user_agent.contact");
    expect(fieldOf(() => crawlSpecFromProto({ ...good, seeds: ["https://a.example/", "ftp://b/"] }))).toBe(
      "definition.seeds[1]",
    );
    expect(
      fieldOf(() =>
        crawlSpecFromProto({
          ...good,
          politeness: proto.Politeness.fromPartial({ maxConcurrencyPerHost: 100 }),
        }),
      ),
    ).toBe("definition.politeness.max_concurrency_per_host");
  });

  it("leaves unset fields to the crawl definition's defaults", () => {
    const input = crawlInputFromProto(good);
    expect(input.maxPages).toBeUndefined();
    expect(input.userAgent).toMatchObject({ product: "ExampleBot", version: undefined });
  });
});

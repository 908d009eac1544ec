import { ConfigError, proto } from "@heed/shared";
import { describe, expect, it } from "vitest";
import * as v from "./validate.js";

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

describe("admin request validation", () => {
  it("names the offending field in proto spelling", () => {
    expect(v.protoFieldPath(["userAgent", "contact"], "definition")).toBe("definition.user_agent.contact");
    expect(v.protoFieldPath(["seeds", 2], "")).toBe("seeds[2]");
    expect(fieldOf(() => v.crawlInput(undefined))).toBe("definition");
    expect(
      fieldOf(() => v.crawlInput({ ...good, userAgent: { product: "x", version: "", contact: "" } })),
    ).toBe("definition.user_agent.contact");
    expect(fieldOf(() => v.crawlInput({ ...good, seeds: ["https://a.example/", "ftp://b/"] }))).toBe(
      "definition.seeds[1]",
    );
    expect(
      fieldOf(() =>
        v.crawlInput({ ...good, politeness: proto.Politeness.fromPartial({ maxConcurrencyPerHost: 100 }) }),
      ),
    ).toBe("definition.politeness.max_concurrency_per_host");
    expect(fieldOf(() => v.seeds(["https://a.example/", "nope"]))).toBe("seeds[1]");
  });

  it("leaves unset fields to the crawl definition's defaults", () => {
    const input = v.crawlInput(good);
    expect(input.maxPages).toBeUndefined();
    expect(input.userAgent).toMatchObject({ product: "ExampleBot", version: undefined });
  });

  it("checks limits, tokens, patterns, delays, levels and drain targets", () => {
    expect(v.pageLimit(0)).toBe(100);
    expect(fieldOf(() => v.pageLimit(5000))).toBe("limit");
    expect(v.pageToken(v.encodePageToken("127.0.0.2"))).toBe("127.0.0.2");
    expect(fieldOf(() => v.pageToken("garbage"))).toBe("page_token");
    expect(v.hostPattern("Example.ORG.")).toBe("example.org");
    expect(fieldOf(() => v.hostPattern("not a host"))).toBe("pattern");
    expect(fieldOf(() => v.reason("  "))).toBe("reason");
    expect(fieldOf(() => v.slowDownMs(0))).toBe("min_delay_ms");
    expect(v.logLevel("DEBUG")).toBe("debug");
    expect(fieldOf(() => v.logLevel("loud"))).toBe("level");
    expect(v.drainTarget({ workerId: "w1", all: false })).toEqual({ workerId: "w1" });
    expect(v.drainTarget({ workerId: "", all: true })).toEqual({ all: true });
    expect(fieldOf(() => v.drainTarget({ workerId: "", all: false }))).toBe("worker_id");
    expect(fieldOf(() => v.watchIntervalMs(5))).toBe("interval_ms");
  });
});

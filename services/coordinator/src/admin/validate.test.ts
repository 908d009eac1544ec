import { ConfigError } from "@heed/shared";
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

describe("admin request validation", () => {
  it("names the offending field in proto spelling", () => {
    expect(fieldOf(() => v.seeds(["https://a.example/", "nope"]))).toBe("seeds[1]");
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

describe("blocks", () => {
  it("refuse a public suffix unless forced, and take any other host or domain", () => {
    for (const suffix of ["com", "co.uk", "github.io", "COM."]) {
      expect(() => v.blockPattern(suffix, false)).toThrow(/public suffix/);
      expect(fieldOf(() => v.blockPattern(suffix, false))).toBe("pattern");
      expect(v.blockPattern(suffix, true)).toBe(suffix.toLowerCase().replace(/\.$/, ""));
    }
    expect(v.blockPattern("example.com", false)).toBe("example.com");
    expect(v.blockPattern("me.github.io", false)).toBe("me.github.io");
    expect(v.blockPattern("127.0.0.9", false)).toBe("127.0.0.9");
  });
});

describe("export cursors", () => {
  it("round-trip, and a token from another list is refused", () => {
    expect(v.exportCursor(v.encodeExportCursor(1234))).toBe(1234);
    expect(v.exportCursor("")).toBeUndefined();
    expect(fieldOf(() => v.exportCursor(v.encodePageToken("x", "hosts")))).toBe("after");
  });
});

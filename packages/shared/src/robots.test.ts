import { describe, expect, it } from "vitest";
import {
  ROBOTS_MAX_BYTES,
  robotsCrawlDelayMs,
  robotsPolicyFromFetch,
  robotsSitemaps,
  robotsVerdict,
} from "./robots.js";

const origin = "http://example.com";
const fetched = (httpStatus: number, body = "", error?: string) =>
  robotsPolicyFromFetch({ origin, httpStatus, body, ...(error ? { error } : {}) }, 1000, 60_000);

describe("robots.txt fetch outcomes (RFC 9309 §2.3.1)", () => {
  it("parses 2xx and caches it for the configured time", () => {
    const p = fetched(200, "User-agent: *\nDisallow: /x\n");
    expect(p.status).toBe("parsed");
    expect(p.expiresAtMs).toBe(61_000);
    expect(p.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([400, 401, 403, 404, 410, 301])("treats %i as unavailable: allow all", (s) => {
    const p = fetched(s);
    expect(p.status).toBe("unavailable");
    expect(robotsVerdict(p, `${origin}/anything`, "HeedBot")).toEqual({
      allowed: true,
      reason: "robots_unavailable_allow_all",
    });
  });

  it.each([429, 500, 503])("treats %i as unreachable: disallow all and count the failure", (s) => {
    const p = fetched(s);
    expect(p.status).toBe("unreachable");
    expect(p.failures).toBe(1);
    expect(robotsVerdict(p, `${origin}/`, "HeedBot").allowed).toBe(false);
    const again = robotsPolicyFromFetch({ origin, httpStatus: s, body: "" }, 2000, 60_000, p);
    expect(again.failures).toBe(2);
  });

  it("treats a network error as unreachable even with a 2xx-looking status", () => {
    expect(fetched(200, "", "ECONNRESET").status).toBe("unreachable");
  });

  it("parses at most the first 500 KiB", () => {
    const filler = `# ${"x".repeat(ROBOTS_MAX_BYTES)}\n`;
    const p = fetched(200, `${filler}User-agent: *\nDisallow: /\n`);
    expect(p.text.length).toBe(ROBOTS_MAX_BYTES);
    expect(robotsVerdict(p, `${origin}/page`, "HeedBot").allowed).toBe(true);
  });
});

describe("robots decisions", () => {
  const p = fetched(
    200,
    [
      "User-agent: otherbot",
      "Disallow: /",
      "",
      "User-agent: heedbot",
      "Disallow: /private/",
      "Allow: /private/open",
      "Crawl-delay: 1.5",
      "",
      "User-agent: *",
      "Disallow: /everyone-else",
      "Sitemap: http://example.com/sitemap.xml",
    ].join("\n"),
  );

  it("matches the group of the crawl's product token, case-insensitively", () => {
    expect(robotsVerdict(p, `${origin}/everyone-else`, "HeedBot").allowed).toBe(true);
    expect(robotsVerdict(p, `${origin}/everyone-else`, "SomeBot").allowed).toBe(false);
    expect(robotsVerdict(p, `${origin}/x`, "otherbot").allowed).toBe(false);
  });

  it("prefers the longest match and records the deciding line", () => {
    expect(robotsVerdict(p, `${origin}/private/secret`, "HeedBot")).toEqual({
      allowed: false,
      reason: "robots_disallowed",
      line: 5,
    });
    expect(robotsVerdict(p, `${origin}/private/open`, "HeedBot")).toEqual({
      allowed: true,
      reason: "robots_allowed",
      line: 6,
    });
  });

  it("always allows /robots.txt itself", () => {
    const all = fetched(200, "User-agent: *\nDisallow: /\n");
    expect(robotsVerdict(all, `${origin}/robots.txt`, "HeedBot").allowed).toBe(true);
    expect(robotsVerdict(all, `${origin}/x`, "HeedBot").allowed).toBe(false);
  });

  it("reads fractional Crawl-delay in milliseconds and sitemaps", () => {
    expect(robotsCrawlDelayMs(p, "HeedBot")).toBe(1500);
    expect(robotsCrawlDelayMs(p, "SomeBot")).toBe(0);
    expect(robotsSitemaps(p)).toEqual(["http://example.com/sitemap.xml"]);
  });

  it("survives garbage", () => {
    const junk = fetched(200, "\u0000\u0001<html>not robots</html>\nDisallow /nope\nUser-agent:\n");
    expect(robotsVerdict(junk, `${origin}/nope`, "HeedBot").allowed).toBe(true);
  });
});

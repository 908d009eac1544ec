import { describe, expect, it } from "vitest";
import {
  ROBOTS_MAX_BYTES,
  robotsCrawlDelayMs,
  robotsLineText,
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
    expect(Buffer.byteLength(p.text)).toBe(ROBOTS_MAX_BYTES);
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
    expect(robotsVerdict(p, `${origin}/private/secret`, "HeedBot")).toMatchObject({
      allowed: false,
      reason: "robots_disallowed",
      line: 5,
    });
    expect(robotsVerdict(p, `${origin}/private/open`, "HeedBot")).toMatchObject({
      allowed: true,
      reason: "robots_allowed",
      line: 6,
    });
  });

  it("quotes the deciding line as the file has it, whatever its line breaks", () => {
    const text = "\uFEFFUser-agent: *\r\nDisallow: /a\rAllow: /a/b   \n\n  Disallow: /c # old pages\r\n";
    const policy = fetched(200, text);
    const quoted = (url: string) => {
      const verdict = robotsVerdict(policy, `${origin}${url}`, "HeedBot");
      return [verdict.line, robotsLineText(policy, verdict.line ?? 0)];
    };
    expect(quoted("/a/x")).toEqual([2, "Disallow: /a"]);
    expect(quoted("/a/b")).toEqual([3, "Allow: /a/b"]);
    expect(quoted("/c/1")).toEqual([5, "Disallow: /c # old pages"]);
    expect(quoted("/d")).toEqual([undefined, ""]);
    // Each line as splitting the file on its breaks gives it, the last one (empty) included.
    text.split(/\r\n|\r|\n/).forEach((line, i) => {
      expect(robotsLineText(policy, i + 1)).toBe(line.trim());
    });
    expect(robotsLineText(policy, 7)).toBe("");
    expect(robotsLineText(fetched(404), 1)).toBe("");
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

describe("product token matching (RFC 9309 §2.2.1, as Google's reference does it)", () => {
  const verdict = (text: string, url = `${origin}/x`) => robotsVerdict(fetched(200, text), url, "HeedBot");

  it("takes a user-agent line's leading token: a version or trailing words do not stop a match", () => {
    expect(verdict("User-agent: HeedBot/1.0\nDisallow: /x\n").allowed).toBe(false);
    expect(verdict("User-agent: heedbot crawler\nDisallow: /x\n").allowed).toBe(false);
  });

  it("does not match a longer token that merely starts with ours", () => {
    expect(verdict("User-agent: HeedBotter\nDisallow: /x\n").allowed).toBe(true);
  });

  it("lets a group naming us shadow '*' even without rules (robots-parser does not: the stricter wins)", () => {
    const p = fetched(200, "User-agent: *\nDisallow: /\n\nUser-agent: HeedBot\n");
    expect(robotsVerdict(p, `${origin}/x`, "HeedBot", ["google", "rfc9309"]).allowed).toBe(true);
    expect(robotsVerdict(p, `${origin}/x`, "HeedBot").allowed).toBe(false);
  });

  it("accepts the reference's common typos and a missing colon", () => {
    expect(verdict("useragent: HeedBot\ndisalow: /x\n").allowed).toBe(false);
    expect(verdict("User-agent HeedBot\nDisallow /x\n").allowed).toBe(false);
  });
});

describe("robots decisions, details", () => {
  it("reports no line when nothing but an empty rule matched", () => {
    const p = fetched(200, "User-agent: *\nDisallow:\n");
    const v = robotsVerdict(p, `${origin}/x`, "HeedBot");
    expect(v).toMatchObject({ allowed: true, reason: "robots_allowed" });
    expect(v.line).toBeUndefined();
  });

  it("lets Allow win a tie and reports its line", () => {
    const p = fetched(200, "User-agent: *\nDisallow: /x\nAllow: /x\n");
    expect(robotsVerdict(p, `${origin}/x`, "HeedBot")).toMatchObject({
      allowed: true,
      reason: "robots_allowed",
      line: 3,
    });
  });

  it("compares escapes case-insensitively and non-ASCII rules as UTF-8 escapes", () => {
    const p = fetched(200, "User-agent: *\nDisallow: /%c3%a9t%C3%A9\nDisallow: /café\n");
    expect(robotsVerdict(p, `${origin}/%C3%A9t%c3%a9`, "HeedBot").allowed).toBe(false);
    expect(robotsVerdict(p, new URL(`${origin}/café`).href, "HeedBot").allowed).toBe(false);
  });

  it("treats /robots.txt with a query or fragment as robots.txt itself", () => {
    const all = fetched(200, "User-agent: *\nDisallow: /\n");
    expect(robotsVerdict(all, `${origin}/robots.txt?x=1#y`, "HeedBot").reason).toBe("robots_txt_itself");
  });

  it("decides on the path of URLs it cannot parse instead of throwing", () => {
    const all = fetched(200, "User-agent: *\nDisallow: /\n");
    expect(robotsVerdict(all, "", "HeedBot").allowed).toBe(false);
    expect(robotsVerdict(all, "not a url", "HeedBot").allowed).toBe(false);
  });
});

describe("Crawl-delay and Sitemap", () => {
  it("takes Crawl-delay from the group that applies, fractional, the largest if repeated", () => {
    const p = fetched(
      200,
      [
        "User-agent: *",
        "Disallow: /private",
        "Crawl-delay: 0.25",
        "",
        "User-agent: HeedBot",
        "Crawl-delay: 2",
        "Crawl-delay: 3.5",
        "Disallow: /x",
      ].join("\n"),
    );
    expect(robotsCrawlDelayMs(p, "HeedBot")).toBe(3500);
    expect(robotsCrawlDelayMs(p, "heedbot")).toBe(3500);
    expect(robotsCrawlDelayMs(p, "OtherBot")).toBe(250);
  });

  it("does not fall back to '*' for Crawl-delay when our group has none", () => {
    const p = fetched(
      200,
      "User-agent: *\nDisallow: /y\nCrawl-delay: 5\n\nUser-agent: HeedBot\nDisallow: /x\n",
    );
    expect(robotsCrawlDelayMs(p, "HeedBot")).toBe(0);
  });

  // Only Allow/Disallow end a group's user-agent lines (reference ID_LineSyntax_Groups_OtherRules).
  it("keeps user-agent lines around a Crawl-delay in one group, like other non-rule lines", () => {
    const p = fetched(200, "User-agent: OtherBot\nCrawl-delay: 1\nUser-agent: HeedBot\nDisallow: /x\n");
    expect(robotsCrawlDelayMs(p, "HeedBot")).toBe(1000);
    expect(robotsVerdict(p, `${origin}/x`, "OtherBot").allowed).toBe(false);
  });

  it("ignores Crawl-delay values that are not a number of seconds (robots-parser reads 1e3: the longest wins)", () => {
    const p = fetched(200, "User-agent: *\nCrawl-delay: soon\nCrawl-delay: -1\nCrawl-delay: 1e3\n");
    expect(robotsCrawlDelayMs(p, "HeedBot", ["google", "rfc9309"])).toBe(0);
    expect(robotsCrawlDelayMs(p, "HeedBot")).toBe(1_000_000);
  });

  it("records every Sitemap line in order, as written, wherever it is", () => {
    const p = fetched(
      200,
      "Sitemap: http://example.com/a.xml\nUser-agent: *\nsite-map: http://example.com/ä.xml # c\nSitemap:\n",
    );
    expect(robotsSitemaps(p)).toEqual(["http://example.com/a.xml", "http://example.com/ä.xml"]);
    expect(robotsSitemaps(fetched(404))).toEqual([]);
  });
});

import { REFERENCE_DECISIONS, REFERENCE_DERIVED_DECISIONS } from "@heed/test-support/robots-cases";
import robotsParserModule from "robots-parser";
import { describe, expect, it } from "vitest";
import { type RobotsReading, robotsCrawlDelayMs, robotsPolicyFromFetch, robotsVerdict } from "./robots.js";

// Where Google's reference, a strict reading of RFC 9309 and robots-parser part ways,
// and what Heed does then: the stricter side, every time.

const origin = "http://example.com";
const policy = (text: string) => robotsPolicyFromFetch({ origin, httpStatus: 200, body: text }, 0, 60_000);

interface Divergence {
  name: string;
  robotstxt: string;
  /** As Heed's canonical URLs are: percent-encoded. */
  url: string;
  allowedBy: Record<RobotsReading, boolean>;
  /** The line that keeps the URL out (a disallowing reading's). */
  line: number;
}

const LONG = "a".repeat(16_700);

const divergences: Divergence[] = [
  {
    name: "%2F in a rule is a slash to RFC 9309, three characters to Google",
    robotstxt: "User-agent: *\nDisallow: /docs%2Fdraft\n",
    url: `${origin}/docs/draft`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": true },
    line: 2,
  },
  {
    name: "a URL's %2F is the same octet as a rule's slash to RFC 9309",
    robotstxt: "User-agent: *\nDisallow: /docs/draft\n",
    url: `${origin}/docs%2Fdraft`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": true },
    line: 2,
  },
  {
    name: "%2A in a rule is a literal star, matching a URL's raw star under RFC 9309",
    robotstxt: "User-agent: *\nDisallow: /search%2A\n",
    url: `${origin}/search*`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": true },
    line: 2,
  },
  {
    name: "%24 in a rule is a literal dollar, matching a URL's raw dollar under RFC 9309",
    robotstxt: "User-agent: *\nDisallow: /price%24\n",
    url: `${origin}/price$`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": true },
    line: 2,
  },
  {
    name: "a space in a rule is percent-encoded before comparison (RFC 9309, robots-parser), not by Google",
    robotstxt: "User-agent: *\nDisallow: /my files\n",
    url: `${origin}/my%20files/a`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": false },
    line: 2,
  },
  {
    name: "braces in a rule are percent-encoded before comparison under RFC 9309",
    robotstxt: "User-agent: *\nDisallow: /t/{id}\n",
    url: `${origin}/t/%7Bid%7D`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": false },
    line: 2,
  },
  {
    name: "an escaped unreserved character is the character itself under RFC 9309",
    robotstxt: "User-agent: *\nDisallow: /%62log\n",
    url: `${origin}/blog/post`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": true },
    line: 2,
  },
  {
    name: "Google-only: an allowed index.html allows its directory",
    robotstxt: "User-agent: *\nDisallow: /dir/\nAllow: /dir/index.html\n",
    url: `${origin}/dir/`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": false },
    line: 2,
  },
  {
    name: "Google-only: a very long Allow line is cut short and allows more",
    robotstxt: `User-agent: *\nDisallow: /\nAllow: /${LONG}/allowed\n`,
    url: `${origin}/${LONG}/other`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": false },
    line: 2,
  },
  {
    name: "Google-only: a user-agent value cut at the first space names us, and its group disallows",
    robotstxt: "User-agent: HeedBot crawler\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
    url: `${origin}/page`,
    allowedBy: { google: false, rfc9309: true, "robots-parser": true },
    line: 2,
  },
  {
    name: "Google-only: a user-agent value cut at the first space names us, and its group allows",
    robotstxt: "User-agent: HeedBot crawler\nAllow: /\n\nUser-agent: *\nDisallow: /\n",
    url: `${origin}/page`,
    allowedBy: { google: true, rfc9309: false, "robots-parser": false },
    line: 5,
  },
];

describe("robots.txt readings that disagree", () => {
  it.each(divergences.map((d) => [d.name, d] as const))("%s: the URL is not fetched", (_name, d) => {
    const p = policy(d.robotstxt);
    const verdict = robotsVerdict(p, d.url, "HeedBot");
    expect(Object.fromEntries((verdict.readings ?? []).map((v) => [v.reading, v.allowed]))).toEqual(
      d.allowedBy,
    );
    expect(verdict.allowed).toBe(false);
    expect(verdict.reason).toBe("robots_disallowed");
    expect(verdict.disagreement).toBe(true);
    expect(verdict.line).toBe(d.line);
    // Each reading alone says what it says; the one that allows would have fetched it.
    for (const [reading, allowed] of Object.entries(d.allowedBy) as [RobotsReading, boolean][])
      expect(robotsVerdict(p, d.url, "HeedBot", [reading]).allowed, reading).toBe(allowed);
  });

  it("agrees, and says so, where every reading reads the file alike", () => {
    const p = policy("User-agent: *\nDisallow: /private/\n");
    const out = robotsVerdict(p, `${origin}/private/x`, "HeedBot");
    expect(out).toMatchObject({ allowed: false, line: 2, disagreement: false });
    expect(out.readings?.map((v) => [v.reading, v.allowed, v.line])).toEqual([
      ["google", false, 2],
      ["rfc9309", false, 2],
      ["robots-parser", false, 2],
    ]);
    expect(robotsVerdict(p, `${origin}/public`, "HeedBot")).toMatchObject({
      allowed: true,
      disagreement: false,
    });
  });

  it("reads only the readings a crawl asks for", () => {
    const p = policy("User-agent: *\nDisallow: /docs%2Fdraft\n");
    const out = robotsVerdict(p, `${origin}/docs/draft`, "HeedBot", ["google", "robots-parser"]);
    expect(out.allowed).toBe(true);
    expect(out.readings?.map((v) => v.reading)).toEqual(["google", "robots-parser"]);
  });
});

describe("Crawl-delay when readings disagree", () => {
  it("keeps the longest any reading finds", () => {
    // Google cuts "HeedBot crawler" to HeedBot (2 s); robots-parser does not, so '*' applies (7 s).
    const p = policy(
      "User-agent: HeedBot crawler\nCrawl-delay: 2\nDisallow: /a\n\nUser-agent: *\nCrawl-delay: 7\nDisallow: /a\n",
    );
    expect(robotsCrawlDelayMs(p, "HeedBot", ["google"])).toBe(2000);
    expect(robotsCrawlDelayMs(p, "HeedBot", ["robots-parser"])).toBe(7000);
    expect(robotsCrawlDelayMs(p, "HeedBot", ["rfc9309"])).toBe(0);
    expect(robotsCrawlDelayMs(p, "HeedBot")).toBe(7000);
  });
});

describe("the robots-parser reading", () => {
  // The package itself, asked through its public calls: what Heed's reading of it must say.
  const robotsParser = robotsParserModule as unknown as (
    url: string,
    text: string,
  ) => {
    isAllowed(url: string, ua?: string): boolean | undefined;
    getMatchingLineNumber(url: string, ua?: string): number;
  };

  it("says what robots-parser's isAllowed and getMatchingLineNumber say, on Google's suite and a long file", () => {
    const rules = Array.from(
      { length: 300 },
      (_, i) => `${i % 4 === 0 ? "Allow" : "Disallow"}: /s${i % 17}/i${i}*`,
    );
    const long = ["User-agent: *", ...rules, "Disallow: /*.pdf$"].join("\n");
    const cases = [
      ...[...REFERENCE_DECISIONS, ...REFERENCE_DERIVED_DECISIONS].map((c) => ({
        text: c.robotstxt,
        url: c.url,
        ua: c.userAgent,
      })),
      ...Array.from({ length: 400 }, (_, i) => ({
        text: long,
        url: `${origin}${[`/s${i % 17}/i${i % 300}x`, `/s${i % 17}/doc${i}.pdf`, `/p/${i}`][i % 3]}`,
        ua: "HeedBot",
      })),
    ];
    const seen = { allowed: 0, disallowed: 0, lines: 0 };
    for (const c of cases) {
      const origins = c.url.match(/^https?:\/\/[^/?#]*/)?.[0] ?? origin;
      const p = robotsPolicyFromFetch({ origin: origins, httpStatus: 200, body: c.text }, 0, 60_000);
      const reading = robotsVerdict(p, c.url, c.ua, ["robots-parser"]).readings?.[0];
      if (reading === undefined) continue; // robots.txt itself: no reading is asked
      const parser = robotsParser(`${origins}/robots.txt`, c.text);
      const line = parser.getMatchingLineNumber(c.url, c.ua);
      expect(reading, `${c.url} (${c.ua})`).toEqual({
        reading: "robots-parser",
        allowed: parser.isAllowed(c.url, c.ua) === true,
        ...(line > 0 ? { line } : {}),
      });
      seen[reading.allowed ? "allowed" : "disallowed"]++;
      if (line > 0) seen.lines++;
    }
    expect(seen.allowed).toBeGreaterThan(100);
    expect(seen.disallowed).toBeGreaterThan(100);
    expect(seen.lines).toBeGreaterThan(200);
  });
});

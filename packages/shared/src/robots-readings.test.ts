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

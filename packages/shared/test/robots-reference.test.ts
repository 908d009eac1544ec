/*
 * Google's reference robots.txt parser (google/robotstxt, robots_test.cc) as data, run
 * through Heed's public API. Heed replaced the `robots-parser` package (3.0.1) with its own
 * matcher (./robots/) because these reference cases disagreed with it:
 *
 * - ID_LineSyntax_Line missing colon accepted #1: lines without ':' were ignored.
 * - ID_UserAgentValueCaseInsensitive variants 1-3, checks #2 and #4, and
 *   GoogleOnly_AcceptUserAgentUpToFirstSpace #1, #2: "User-Agent: Foo Bar" was the agent
 *   "foo bar" rather than "foo", so "Foo" fell through and "Foo Bar" matched.
 * - ID_Encoding 3-byte character #2 and percent-encoded 3-byte character #2: the URL was
 *   re-encoded before matching, so a raw "ツ" matched an escaped rule.
 * - GoogleOnly_IndexHTMLisDirectory #1: no ".../index.html allows .../" rule.
 * - GoogleOnly_LineTooLong disallow #2 and allow #3: lines were not cut at 2083 * 8 - 1 octets.
 * - ID_UTF8ByteOrderMarkIsSkipped (as decisions) 2-byte and 1-byte partial BOM: not skipped;
 *   BOM mid-file: String#trim dropped it, so the spoiled line was obeyed.
 * - GoogleOnly_SystemTest #1-#4 and 13 TestGetPathParamsQuery (as decisions) rows (every URL
 *   that is not absolute, "" included): Heed's old wrapper threw on `new URL(url)`.
 *
 * Everything else passed under robots-parser too. `robots-parser` is back as one of the
 * readings Heed combines (the strictest wins; see robots-readings.test.ts); these cases hold
 * the `google` reading alone to the reference.
 */

import {
  REFERENCE_DECISIONS,
  REFERENCE_DERIVED_DECISIONS,
  REFERENCE_SITEMAPS,
  type RobotsCase,
} from "@heed/test-support/robots-cases";
import { describe, expect, it } from "vitest";
import { type RobotsPolicy, robotsPolicyFromFetch, robotsSitemaps, robotsVerdict } from "../src/robots.js";

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "http://foo.bar";
  }
}

function policyFor(robotstxt: string, url: string): RobotsPolicy {
  return robotsPolicyFromFetch({ origin: originOf(url), httpStatus: 200, body: robotstxt }, 0, 60_000);
}

// These are facts about Google's reading; the other readings are held to their own cases.
function decide(c: RobotsCase) {
  return robotsVerdict(policyFor(c.robotstxt, c.url), c.url, c.userAgent, ["google"]);
}

const named = <T extends { name: string }>(cases: readonly T[]) => cases.map((c) => [c.name, c] as const);

describe("google/robotstxt reference cases", () => {
  it("ports every reference expectation", () => {
    // 145 IsUserAgentAllowed expectations; 38 decisions restating tests of parser internals.
    expect(REFERENCE_DECISIONS).toHaveLength(145);
    expect(REFERENCE_DERIVED_DECISIONS).toHaveLength(38);
    expect(REFERENCE_SITEMAPS).toHaveLength(2);
    expect(new Set([...REFERENCE_DECISIONS, ...REFERENCE_DERIVED_DECISIONS].map((c) => c.name)).size).toBe(
      183,
    );
  });

  it.each(named(REFERENCE_DECISIONS))("%s", (_name, c) => {
    expect(decide(c).allowed).toBe(c.allowed);
  });

  it.each(named(REFERENCE_DERIVED_DECISIONS))("%s", (_name, c) => {
    const verdict = decide(c);
    expect(verdict.allowed).toBe(c.allowed);
    if (c.line !== undefined) expect(verdict.line ?? 0).toBe(c.line);
  });

  it.each(named(REFERENCE_SITEMAPS))("ID_NonStandardLineExample_Sitemap: %s", (_name, c) => {
    expect(robotsSitemaps(policyFor(c.robotstxt, "http://foo.bar/"))).toEqual(c.sitemaps);
  });
});

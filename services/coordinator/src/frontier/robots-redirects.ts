import { hostKeyOf, robotsUrlOf, tryCanonicalizeUrl } from "@heed/shared";
import type { FetchReport, RobotsRecord } from "./records.js";
import type { Txn } from "./txn.js";

/**
 * robots.txt redirects, followed through the frontier: each hop is a lease of
 * its own on its host's politeness keys, so it is spaced like every request
 * (a hop to another host counts against that host). The chain lives in the
 * origin's robots record, so it survives a restart; the answer at its end
 * applies to the origin the chain started from.
 */

/** RFC 9309 §2.3.1.2 asks crawlers to follow at least five; past that the robots.txt is unavailable. */
export const ROBOTS_MAX_REDIRECTS = 5;

/** What the origin's next robots lease fetches: the hop being followed, or its own robots.txt. */
export function robotsTarget(robots: RobotsRecord | undefined, origin: string): string {
  return robots?.following?.url ?? robotsUrlOf(origin);
}

/** Every URL fetched for this robots.txt so far, the one just reported last. */
export function chainSoFar(robots: RobotsRecord | undefined, fetchedUrl: string): string[] {
  return [...(robots?.following?.chain ?? []), fetchedUrl];
}

/**
 * The hop to follow after a redirect answer, or undefined when the chain ends
 * here: not a redirect, too many of them, a Location that is no http(s) URL,
 * or a host the operator blocked (an opt-out means no request at all).
 */
export function hopToFollow(txn: Txn, r: FetchReport, chain: readonly string[]): string | undefined {
  if (r.error !== undefined || r.statusCode < 300 || r.statusCode >= 400 || r.redirectLocation === "")
    return undefined;
  // `chain` holds the redirects answered so far, this one included.
  if (chain.length > ROBOTS_MAX_REDIRECTS) return undefined;
  const next = tryCanonicalizeUrl(r.redirectLocation);
  if (!next.ok) return undefined;
  if (txn.policy(hostKeyOf(next.url))?.mode === "block") return undefined;
  return next.url;
}

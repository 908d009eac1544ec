import type { DelaySource } from "./records.js";

export interface DelayInputs {
  /** The operator's minimum gap for this host (the largest any crawl asked for). */
  minDelayMs: number;
  /** Crawl-delay from the host's robots.txt. */
  crawlDelayMs: number;
  /** A multiple of how long the last fetch took: a slow server gets more room. */
  adaptiveMs: number;
  /** Retry-After the site sent with its last answer. */
  retryAfterMs: number;
  /** Extra wait after consecutive errors. */
  errorBackoffMs: number;
}

/**
 * The gap before the next request to a host: the largest of everything that
 * asks for one, so an operator setting can lengthen what the site asked for
 * but never shorten it. The source is kept as evidence.
 */
export function delayAfterFetch(d: DelayInputs): { delayMs: number; source: DelaySource } {
  let delayMs = 0;
  let source: DelaySource = "none";
  const take = (ms: number, s: DelaySource) => {
    if (ms > delayMs) {
      delayMs = ms;
      source = s;
    }
  };
  take(d.minDelayMs, "min_delay");
  take(d.crawlDelayMs, "crawl_delay");
  take(d.adaptiveMs, "adaptive");
  take(d.retryAfterMs, "retry_after");
  take(d.errorBackoffMs, "error_backoff");
  return { delayMs, source };
}

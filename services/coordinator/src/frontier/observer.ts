/**
 * What the frontier tells whoever watches it (metrics): plain callbacks, so
 * the frontier knows nothing of Prometheus and tests can count events.
 */
export interface FrontierObserver {
  leaseIssued(kind: "page" | "robots" | "sitemap" | "tdmrep"): void;
  leaseExpired(kind: "page" | "robots"): void;
  report(outcome: string): void;
  /** A page or sitemap result: status class (`2xx` … `5xx`, or `error`), body bytes, fetch seconds. */
  fetched(statusClass: string, bytes: number, seconds: number): void;
  robots(status: string): void;
  /** A robots.txt answered with a redirect that will be followed: one more hop, leased on its own. */
  robotsRedirectHop(): void;
  /** robots.txt readings disagreed on a URL: these readings disallowed it while another allowed it. */
  robotsDisagreement(disallowedBy: string[]): void;
  /** At each lease: the time since the key's previous request ended, and the delay it was due. */
  gap(keyClass: KeyClass, gapMs: number, requiredMs: number): void;
  /** Every commit: whether it went through (false: LMDB could not be written). */
  commit(ok: boolean): void;
  /** Leases sent again to a worker that asked again with the same request id (its reply was lost). */
  leasesResent(n: number): void;
  /** A site's AI-use preference refused one of a crawl's purposes, before or after the fetch. */
  preferenceRefused(purpose: string, signal: string, stage: "before_fetch" | "after_fetch"): void;
}

export const NO_OBSERVER: FrontierObserver = {
  leaseIssued() {},
  leaseExpired() {},
  report() {},
  fetched() {},
  robots() {},
  robotsRedirectHop() {},
  robotsDisagreement() {},
  gap() {},
  commit() {},
  leasesResent() {},
  preferenceRefused() {},
};

/** The kind of politeness key a gap was measured on (see slots.ts). */
export type KeyClass = "host" | "domain" | "group" | "ip";

/**
 * What the frontier tells whoever watches it (metrics): plain callbacks, so
 * the frontier knows nothing of Prometheus and tests can count events.
 */
export interface FrontierObserver {
  leaseIssued(kind: "page" | "robots" | "sitemap"): void;
  leaseExpired(kind: "page" | "robots" | "sitemap"): void;
  report(outcome: string): void;
  /** A page or sitemap result: status class (`2xx` … `5xx`, or `error`), body bytes, fetch seconds. */
  fetched(statusClass: string, bytes: number, seconds: number): void;
  robots(status: string): void;
  /** At each lease: the time since the key's previous request ended, and the delay it was due. */
  gap(keyClass: "host" | "domain" | "group", gapMs: number, requiredMs: number): void;
}

export const NO_OBSERVER: FrontierObserver = {
  leaseIssued() {},
  leaseExpired() {},
  report() {},
  fetched() {},
  robots() {},
  gap() {},
};

export function keyClassOf(key: string): "host" | "domain" | "group" {
  if (key.startsWith("domain:")) return "domain";
  if (key.startsWith("group:")) return "group";
  return "host";
}

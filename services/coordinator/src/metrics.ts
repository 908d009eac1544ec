import { BODY_BYTES_BUCKETS, FETCH_SECONDS_BUCKETS, parsedRobotsStats } from "@heed/shared";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Frontier } from "./frontier/frontier.js";
import type { FrontierObserver } from "./frontier/observer.js";
import { URL_STATES } from "./frontier/records.js";

/**
 * Crawls labelled by id at most: only unfinished ones (running or paused), so
 * the series a scrape carries stay bounded however many crawls the frontier keeps.
 */
export const MAX_LABELLED_CRAWLS = 50;

export interface CoordinatorMetrics {
  observer: FrontierObserver;
  /** A control message from NATS refused or ignored, by a short fixed kind. */
  refused(kind: string): void;
  /** The Prometheus text exposition, frontier gauges computed at scrape time. */
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Prometheus metrics of a coordinator: `heed_` prefix, base units, counters
 * ending in `_total`, labels of low cardinality (never a URL or a host).
 */
export function createCoordinatorMetrics(frontier: () => Frontier | undefined): CoordinatorMetrics {
  const registry = new Registry();
  // Process and Node.js figures (CPU, memory, heap, event-loop lag, GC, handles).
  collectDefaultMetrics({ register: registry });
  const leasesIssued = new Counter({
    name: "heed_leases_issued_total",
    help: "Leases handed out",
    labelNames: ["kind"],
    registers: [registry],
  });
  const leasesExpired = new Counter({
    name: "heed_leases_expired_total",
    help: "Leases that ran out unreported",
    labelNames: ["kind"],
    registers: [registry],
  });
  const reports = new Counter({
    name: "heed_reports_total",
    help: "Fetch results received, by what became of them (request_ended: the first of a page's two reports)",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const fetches = new Counter({
    name: "heed_fetches_total",
    help: "Page fetches reported, by status class",
    labelNames: ["class"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "heed_fetch_duration_seconds",
    help: "How long reported fetches took",
    buckets: FETCH_SECONDS_BUCKETS,
    registers: [registry],
  });
  const bytes = new Histogram({
    name: "heed_fetch_body_bytes",
    help: "Body bytes kept per reported fetch",
    buckets: BODY_BYTES_BUCKETS,
    registers: [registry],
  });
  const robots = new Counter({
    name: "heed_robots_fetches_total",
    help: "robots.txt answers, by RFC 9309 outcome",
    labelNames: ["status"],
    registers: [registry],
  });
  const redirectHops = new Counter({
    name: "heed_robots_redirect_hops_total",
    help: "robots.txt redirects followed, each hop a lease of its own",
    registers: [registry],
  });
  const disagreements = new Counter({
    name: "heed_robots_reading_disagreements_total",
    help: "URLs that robots.txt readings disagreed on (not fetched), by the reading that disallowed them",
    labelNames: ["reading"],
    registers: [registry],
  });
  const gaps = new Histogram({
    name: "heed_politeness_gap_seconds",
    help: "Time from the end of a key's previous request to the lease of its next",
    labelNames: ["key_class"],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const minGap = new Gauge({
    name: "heed_politeness_min_gap_seconds",
    help: "Shortest gap seen between two requests to one key, per key class (a violation would show here)",
    labelNames: ["key_class"],
    registers: [registry],
  });
  const shortfalls = new Counter({
    name: "heed_politeness_shortfalls_total",
    help: "Leases issued sooner after a key's previous request than its delay: always zero unless Heed is broken",
    labelNames: ["key_class"],
    registers: [registry],
  });
  // Zero is the figure operators look for: export it before anything happens.
  for (const keyClass of ["host", "domain", "group", "ip"]) shortfalls.inc({ key_class: keyClass }, 0);
  const seenMin = new Map<string, number>();
  const urls = new Gauge({
    name: "heed_frontier_urls",
    help: "URLs in the frontier, by state",
    labelNames: ["state"],
    registers: [registry],
  });
  const hosts = new Gauge({
    name: "heed_hosts",
    help: "Politeness keys, by state",
    labelNames: ["state"],
    registers: [registry],
  });
  const preferenceRefusals = new Counter({
    name: "heed_preference_refusals_total",
    help: "Crawl purposes a site's AI-use preferences refused: before_fetch (URL skipped) or after_fetch (page not kept for it)",
    labelNames: ["purpose", "signal", "stage"],
    registers: [registry],
  });
  const crawlUrls = new Gauge({
    name: "heed_crawl_urls",
    help: `URLs of each unfinished crawl, by state (the ${MAX_LABELLED_CRAWLS} most recently created)`,
    labelNames: ["crawl", "state"],
    registers: [registry],
  });
  const active = new Gauge({ name: "heed_leases_active", help: "Leases out now", registers: [registry] });
  const commitFailures = new Counter({
    name: "heed_frontier_commit_failures_total",
    help: "Frontier commits that LMDB could not write (disk full, file-size limit): nothing changed",
    registers: [registry],
  });
  commitFailures.inc(0);
  const writable = new Gauge({
    name: "heed_frontier_writable",
    help: "1 while the frontier commits, 0 while its commits fail (and for 5 s after the last failure)",
    registers: [registry],
  });
  writable.set(1);
  const resent = new Counter({
    name: "heed_leases_resent_total",
    help: "Leases sent again because a worker asked again with the same request id (its reply was lost)",
    registers: [registry],
  });
  resent.inc(0);
  const refused = new Counter({
    name: "heed_control_messages_refused_total",
    help: "Messages on NATS refused or ignored (no proof, stale, undecodable, malformed), by kind",
    labelNames: ["kind"],
    registers: [registry],
  });

  const robotsParsed = new Gauge({
    name: "heed_robots_parsed_kept",
    help: "robots.txt files kept parsed (most recently used, within an estimated heap budget)",
    registers: [registry],
  });
  const robotsParsedBytes = new Gauge({
    name: "heed_robots_parsed_bytes",
    help: "Estimated heap bytes of the robots.txt files kept parsed",
    registers: [registry],
  });
  const robotsParses = new Counter({
    name: "heed_robots_parses_total",
    help: "robots.txt files parsed; rising much faster than heed_robots_fetches_total means the parsed ones do not all fit",
    registers: [registry],
  });
  let robotsParsesSeen = 0;

  const observer: FrontierObserver = {
    leaseIssued: (kind) => leasesIssued.inc({ kind }),
    leaseExpired: (kind) => leasesExpired.inc({ kind }),
    report: (outcome) => reports.inc({ outcome }),
    fetched(statusClass, n, seconds) {
      fetches.inc({ class: statusClass });
      duration.observe(seconds);
      bytes.observe(n);
    },
    robots: (status) => robots.inc({ status }),
    robotsRedirectHop: () => redirectHops.inc(),
    robotsDisagreement(disallowedBy) {
      for (const reading of disallowedBy) disagreements.inc({ reading });
    },
    gap(keyClass, gapMs, requiredMs) {
      gaps.observe({ key_class: keyClass }, gapMs / 1000);
      const min = Math.min(seenMin.get(keyClass) ?? Number.POSITIVE_INFINITY, gapMs);
      seenMin.set(keyClass, min);
      minGap.set({ key_class: keyClass }, min / 1000);
      if (gapMs < requiredMs) shortfalls.inc({ key_class: keyClass });
    },
    leasesResent: (n) => resent.inc(n),
    commit(ok) {
      if (!ok) commitFailures.inc();
    },
    preferenceRefused: (purpose, signal, stage) => preferenceRefusals.inc({ purpose, signal, stage }),
  };

  async function render() {
    const parsed = parsedRobotsStats();
    robotsParsed.set(parsed.entries);
    robotsParsedBytes.set(parsed.bytes);
    robotsParses.inc(parsed.compiles - robotsParsesSeen);
    robotsParsesSeen = parsed.compiles;
    const f = frontier();
    if (f !== undefined) {
      const totals = Object.fromEntries(URL_STATES.map((s) => [s, 0])) as Record<string, number>;
      for (const c of f.crawls()) for (const s of URL_STATES) totals[s] = (totals[s] ?? 0) + c.counts[s];
      for (const s of URL_STATES) urls.set({ state: s }, totals[s] ?? 0);
      crawlUrls.reset();
      const unfinished = f
        .crawls()
        .filter((c) => c.state === "running" || c.state === "paused")
        .sort((a, b) => b.createdAtMs - a.createdAtMs)
        .slice(0, MAX_LABELLED_CRAWLS);
      for (const c of unfinished)
        for (const s of URL_STATES) crawlUrls.set({ crawl: c.id, state: s }, c.counts[s]);
      const now = Date.now();
      const byState: Record<string, number> = { busy: 0, waiting: 0, idle: 0, parked: 0 };
      for (const { value: h } of f.store.hosts.getRange()) {
        const state =
          (h.parkedUntilMs ?? 0) > now
            ? "parked"
            : h.inFlight > 0
              ? "busy"
              : h.nextAllowedAtMs > now
                ? "waiting"
                : "idle";
        byState[state] = (byState[state] ?? 0) + 1;
      }
      for (const [state, n] of Object.entries(byState)) hosts.set({ state }, n);
      active.set(f.activeLeaseCount());
      writable.set(f.health().writable ? 1 : 0);
    }
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  return { observer, render, refused: (kind) => refused.inc({ kind }) };
}

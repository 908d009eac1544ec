import { BODY_BYTES_BUCKETS, FETCH_SECONDS_BUCKETS, type proto } from "@heed/shared";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export interface WorkerMetrics {
  fetched(lease: proto.Lease, result: proto.FetchResult): void;
  leasesReceived(n: number): void;
  /** A payload already held was written as a revisit record: `payloadBytes` not stored again. */
  revisit(payloadBytes: number): void;
  /** A control message from NATS refused or ignored, by a short fixed kind. */
  refused(kind: string): void;
  render(state: { inFlight: number; pendingReports: number }): Promise<{ contentType: string; body: string }>;
}

/** A worker's Prometheus metrics: what it fetched, how long it took, what it still holds. */
export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  // Process and Node.js figures (CPU, memory, heap, event-loop lag, GC, handles).
  collectDefaultMetrics({ register: registry });
  const fetches = new Counter({
    name: "heed_worker_fetches_total",
    help: "Fetches made, by lease kind and status class (or error kind)",
    labelNames: ["kind", "class"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "heed_worker_fetch_duration_seconds",
    help: "Time from the start of a fetch to its result",
    buckets: FETCH_SECONDS_BUCKETS,
    registers: [registry],
  });
  const bytes = new Histogram({
    name: "heed_worker_fetch_body_bytes",
    help: "Body bytes kept per fetch",
    buckets: BODY_BYTES_BUCKETS,
    registers: [registry],
  });
  const leases = new Counter({
    name: "heed_worker_leases_received_total",
    help: "Leases received",
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: "heed_worker_leases_in_flight",
    help: "Leases being fetched now",
    registers: [registry],
  });
  const pending = new Gauge({
    name: "heed_worker_reports_pending",
    help: "Results not yet acknowledged by the coordinator",
    registers: [registry],
  });
  const refused = new Counter({
    name: "heed_worker_control_messages_refused_total",
    help: "Messages on NATS ignored (unsigned, stale, undecodable), by kind",
    labelNames: ["kind"],
    registers: [registry],
  });
  const revisits = new Counter({
    name: "heed_capture_revisits_total",
    help: "Revisit records written instead of a payload the crawl already holds (identical-payload-digest)",
    registers: [registry],
  });
  const saved = new Counter({
    name: "heed_capture_revisit_saved_bytes_total",
    help: "Payload bytes not stored again because a revisit record referred to an identical earlier capture",
    registers: [registry],
  });
  const kinds: Record<number, string> = { 1: "page", 2: "robots", 3: "sitemap" };
  // One labelled child per kind and class, looked up by a short key rather than prom-client hashing
  // a label object on every fetch.
  const fetchesBy = new Map<string, { inc(): void }>();
  return {
    fetched(lease, result) {
      const errorKind = result.error?.kind ?? 0;
      const cls = errorKind !== 0 ? "error" : `${Math.floor(result.statusCode / 100)}xx`;
      const kind = kinds[lease.kind] ?? "page";
      const key = `${kind} ${cls}`;
      let child = fetchesBy.get(key);
      if (child === undefined) {
        child = fetches.labels({ kind, class: cls });
        fetchesBy.set(key, child);
      }
      child.inc();
      duration.observe(Math.max(0, result.finishedAtMs - result.startedAtMs) / 1000);
      bytes.observe(result.bodyBytes);
    },
    leasesReceived: (n) => leases.inc(n),
    revisit(payloadBytes) {
      revisits.inc();
      saved.inc(payloadBytes);
    },
    refused: (kind) => refused.inc({ kind }),
    async render(state) {
      inFlight.set(state.inFlight);
      pending.set(state.pendingReports);
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

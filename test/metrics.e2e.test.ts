import { waitForCrawl } from "@heed/coordinator";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";

/** Reads one sample from a Prometheus text exposition (sums every series when no labels are given). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
    found = true;
  }
  if (!found) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return total;
}

describe("metrics and probes", () => {
  let site: LoopbackSite;
  let cluster: Cluster;
  let crawlId: string;

  beforeAll(async () => {
    site = await startLoopbackSite({ hosts: defaultPlan(6, 3, 1), pageLatencyMs: 5, firstOctet: 50 });
    cluster = await startCluster({
      workers: 2,
      coordinator: { httpListen: "127.0.0.1:0" },
      worker: { httpListen: "127.0.0.1:0" },
    });
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec(site.seeds(), { politeness: { minDelayMs: 50 } }),
    );
    crawlId = crawl.id;
    await waitForCrawl(cluster.coordinator.frontier, crawlId, { timeoutMs: 60_000 });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    await site?.close();
  });

  const get = async (port: number | undefined, path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, text: await res.text() };
  };

  it("answers liveness and readiness on both services", async () => {
    expect((await get(cluster.coordinator.httpPort, "/livez")).status).toBe(200);
    expect((await get(cluster.coordinator.httpPort, "/readyz")).status).toBe(200);
    for (const w of cluster.workers) expect((await get(w.httpPort, "/readyz")).status).toBe(200);
  });

  it("exports coordinator counters that agree with the frontier", async () => {
    const { text } = await get(cluster.coordinator.httpPort, "/metrics");
    const crawl = cluster.coordinator.frontier.crawl(crawlId);
    const pageLeases = [...cluster.coordinator.frontier.store.leases.getRange()].filter(
      (e) => e.value.kind === "page",
    ).length;
    const robotsLeases = [...cluster.coordinator.frontier.store.leases.getRange()].filter(
      (e) => e.value.kind === "robots",
    ).length;
    expect(sample(text, "heed_leases_issued_total", { kind: "page" })).toBe(pageLeases);
    expect(sample(text, "heed_leases_issued_total", { kind: "robots" })).toBe(robotsLeases);
    expect(sample(text, "heed_reports_total", { outcome: "accepted" })).toBe(pageLeases + robotsLeases);
    expect(sample(text, "heed_frontier_urls", { state: "done" })).toBe(crawl?.counts.done);
    expect(sample(text, "heed_frontier_urls", { state: "skipped" })).toBe(crawl?.counts.skipped);
    expect(sample(text, "heed_fetches_total", { class: "2xx" })).toBe(crawl?.statusCounts["200"]);
    expect(sample(text, "heed_robots_fetches_total", { status: "unreachable" })).toBeGreaterThan(0);
    // Every parsed robots.txt is kept parsed in a crawl this small: parsed once each, never again.
    const parsedFetches = sample(text, "heed_robots_fetches_total", { status: "parsed" });
    const parses = sample(text, "heed_robots_parses_total");
    expect(parses).toBeGreaterThan(0);
    expect(parses).toBeLessThanOrEqual(parsedFetches);
    expect(sample(text, "heed_robots_parsed_kept")).toBe(parses);
    expect(sample(text, "heed_robots_parsed_bytes")).toBeGreaterThan(0);
    expect(sample(text, "heed_politeness_shortfalls_total")).toBe(0);
    expect(sample(text, "heed_politeness_min_gap_seconds", { key_class: "host" })).toBeGreaterThanOrEqual(
      0.05,
    );
    expect(sample(text, "heed_leases_active")).toBe(0);
  });

  it("exports worker fetch counts that add up to what the site served", async () => {
    let fetched = 0;
    for (const w of cluster.workers)
      fetched += sample((await get(w.httpPort, "/metrics")).text, "heed_worker_fetches_total");
    expect(fetched).toBe(site.log.length);
  });

  it("include process and Node.js figures on both services", async () => {
    const pages = [
      (await get(cluster.coordinator.httpPort, "/metrics")).text,
      ...(await Promise.all(cluster.workers.map((w) => get(w.httpPort, "/metrics")))).map((r) => r.text),
    ];
    for (const text of pages) {
      expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThan(0);
      expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
      expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
      expect(text).toContain("nodejs_eventloop_lag_seconds");
    }
  });

  it("label crawls only while they are unfinished, so the series stay bounded", async () => {
    const frontier = cluster.coordinator.frontier;
    const open = frontier.createCrawl(crawlSpec([`${site.seeds()[0]}metrics-open`], { id: "metrics-open" }));
    frontier.changeCrawlState(open.id, "pause");
    const { text } = await get(cluster.coordinator.httpPort, "/metrics");
    expect(sample(text, "heed_crawl_urls", { crawl: open.id, state: "queued" })).toBe(1);
    // The finished crawl is not labelled: its figures live on in heed_frontier_urls.
    expect(text).not.toContain(`crawl="${crawlId}"`);
    frontier.changeCrawlState(open.id, "cancel");
    expect((await get(cluster.coordinator.httpPort, "/metrics")).text).not.toContain(`crawl="${open.id}"`);
  });
});

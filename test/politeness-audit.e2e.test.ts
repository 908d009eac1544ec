import { waitForCrawl } from "@heed/coordinator";
import { defaultPlan, type HostPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gapViolations, overlaps, retryAfterViolations } from "./harness/audit.js";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";

/**
 * The politeness audit: 45 loopback hosts with varied robots.txt, Crawl-delay,
 * a host answering 429 with Retry-After, a host whose robots.txt answers 503,
 * two hosts an operator groups as one server, and two crawls over overlapping
 * hosts, fetched by 4 workers. The site logs every request; the audit counts
 * violations of each kind, and every count must be zero.
 */
const HOSTS = 45;
const MIN_DELAY_MS = 150;
const THROTTLED = 7;
const GROUP = [12, 13];

describe("politeness audit: 45 hosts, 4 workers, two overlapping crawls", () => {
  let site: LoopbackSite;
  let cluster: Cluster;
  const plan: HostPlan[] = defaultPlan(HOSTS, 4, 1);

  beforeAll(async () => {
    (plan[THROTTLED] as HostPlan).throttle = { status: 429, retryAfterSeconds: 1, times: 2 };
    site = await startLoopbackSite({ hosts: plan, pageLatencyMs: 10, firstOctet: 2 });
    cluster = await startCluster({ workers: 4 });
    const seeds = site.seeds();
    const groupHosts = GROUP.map((i) => site.hosts[i]?.address as string);
    const politeness = {
      minDelayMs: MIN_DELAY_MS,
      hostGroups: [{ name: "shared-server", hosts: groupHosts }],
    };
    const fetch = { maxAttempts: 5 };
    const a = cluster.coordinator.frontier.createCrawl(
      crawlSpec(seeds.slice(0, 30), { id: "audit-a", politeness, fetch }),
    );
    const b = cluster.coordinator.frontier.createCrawl(
      crawlSpec(seeds.slice(20), { id: "audit-b", politeness: { minDelayMs: MIN_DELAY_MS }, fetch }),
    );
    await Promise.all(
      [a, b].map((c) => waitForCrawl(cluster.coordinator.frontier, c.id, { timeoutMs: 120_000 })),
    );
  }, 150_000);

  afterAll(async () => {
    await cluster?.stop();
    await site?.close();
  });

  const hostOf = (address: string) => site.hosts.find((h) => h.address === address);
  const groupKey = (address: string) =>
    GROUP.some((i) => site.hosts[i]?.address === address) ? "group" : address;

  it("both crawls finish and fetch pages", () => {
    for (const id of ["audit-a", "audit-b"]) {
      const c = cluster.coordinator.frontier.crawl(id);
      expect(c?.state).toBe("finished");
      expect(c?.counts.done).toBeGreaterThan(50);
    }
  });

  it("fetches no path robots.txt disallows", () => {
    const hits = site.log.filter((r) => {
      const h = hostOf(r.host);
      return (
        h !== undefined &&
        site.disallowedPaths(h).some((p) => r.path.startsWith(p.replace(/secret$|deeper$/, "")))
      );
    });
    expect(hits).toEqual([]);
  });

  it("never starts a request sooner than the effective delay after the previous one to the same host", () => {
    const crawlDelay = (address: string) => {
      const r = hostOf(address)?.plan.robots;
      return r?.kind === "crawl-delay" ? r.seconds * 1000 : 0;
    };
    expect(gapViolations(site.log, (h) => Math.max(MIN_DELAY_MS, crawlDelay(h)))).toEqual([]);
  });

  it("never has two requests in flight to one host, nor to the two hosts of one server group", () => {
    expect(overlaps(site.log, (h) => h)).toEqual([]);
    expect(overlaps(site.log, groupKey)).toEqual([]);
    const grouped = site.log.filter((r) => groupKey(r.host) === "group");
    expect(new Set(grouped.map((r) => r.host)).size).toBe(2);
    expect(gapViolations(site.log, () => MIN_DELAY_MS, groupKey)).toEqual([]);
  });

  it("waits out every Retry-After", () => {
    const throttledHost = site.hosts[THROTTLED]?.address;
    expect(site.log.filter((r) => r.host === throttledHost && r.status === 429)).toHaveLength(2);
    expect(retryAfterViolations(site.log)).toEqual([]);
  });

  it("asks nothing but robots.txt of a host whose robots.txt is unreachable", () => {
    const unreachable = site.hosts.filter(
      (h) => h.plan.robots.kind === "status" && h.plan.robots.status >= 500,
    );
    for (const h of unreachable) {
      const reqs = site.log.filter((r) => r.host === h.address);
      expect(reqs.length).toBeGreaterThan(0);
      expect(reqs.filter((r) => r.path !== "/robots.txt")).toEqual([]);
    }
  });

  it("shares one host's politeness between the two crawls (one robots.txt fetch per host)", () => {
    for (const h of site.hosts.slice(20, 30)) {
      const robots = site.log.filter((r) => r.host === h.address && r.path === "/robots.txt");
      expect(robots.length, h.address).toBe(
        h.plan.robots.kind === "status" && h.plan.robots.status >= 500 ? 2 : 1,
      );
    }
    expect(cluster.coordinator.frontier.check().problems).toEqual([]);
  });

  it("keeps the evidence: the delay and its source for every fetch", () => {
    const urls = [...cluster.coordinator.frontier.urls("audit-a")].filter((u) => u.state === "done");
    expect(urls.length).toBeGreaterThan(0);
    for (const u of urls) {
      expect(u.politeness?.keys[0]).toBe(new URL(u.url).hostname);
      expect(u.robots?.verdict).toMatch(/^robots_/);
    }
    const grouped = urls.filter((u) => groupKey(new URL(u.url).hostname) === "group");
    for (const u of grouped) expect(u.politeness?.keys).toContain("group:shared-server");
  });
});

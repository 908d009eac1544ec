import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { waitForCrawl } from "@heed/coordinator";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countBy, gapViolations } from "./harness/audit.js";
import { captureProblems, recordAt } from "./harness/captures.js";
import { type Cluster, crawlSpec, startCluster, TEST_UA } from "./harness/cluster.js";
import { checkWarc } from "./harness/warc-check.js";

const MIN_DELAY_MS = 100;

describe("an end-to-end crawl of 20 loopback hosts with 3 workers", () => {
  let site: LoopbackSite;
  let cluster: Cluster;
  let crawlId: string;

  beforeAll(async () => {
    site = await startLoopbackSite({ hosts: defaultPlan(20, 6, 1), pageLatencyMs: 5 });
    cluster = await startCluster({ workers: 3 });
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec(site.seeds(), { politeness: { minDelayMs: MIN_DELAY_MS } }),
    );
    crawlId = crawl.id;
    await waitForCrawl(cluster.coordinator.frontier, crawlId, { timeoutMs: 90_000 });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await site?.close();
  });

  const pageRequests = () => site.log.filter((r) => r.path !== "/robots.txt");

  it("finishes", () => {
    const crawl = cluster.coordinator.frontier.crawl(crawlId);
    expect(crawl?.state).toBe("finished");
    expect(crawl?.counts.queued).toBe(0);
    expect(crawl?.counts.leased).toBe(0);
  });

  it("fetches every in-scope, allowed, reachable page exactly once", () => {
    const fetched = pageRequests().map(
      (r) => `http://${r.host}:${site.hosts.find((h) => h.address === r.host)?.port}${r.path}`,
    );
    const expected = site.expectedPages(10);
    expect(expected.size).toBeGreaterThan(100);
    expect(new Set(fetched)).toEqual(expected);
    const dupes = [...countBy(fetched, (u) => u)].filter(([, n]) => n > 1);
    expect(dupes).toEqual([]);
  });

  it("fetches no disallowed page, nothing out of scope, and nothing but robots.txt from a 503-robots host", () => {
    for (const host of site.hosts) {
      const disallowed = site.disallowedPaths(host);
      const hits = site.log.filter(
        (r) =>
          r.host === host.address &&
          disallowed.some((p) => r.path.startsWith(p.replace(/secret|deeper$/, ""))),
      );
      expect(hits, host.address).toEqual([]);
    }
    expect(site.log.filter((r) => r.host === site.outsider.address)).toEqual([]);
    const unreachable = site.hosts.filter(
      (h) => h.plan.robots.kind === "status" && h.plan.robots.status >= 500,
    );
    expect(unreachable.length).toBe(1);
    for (const h of unreachable) {
      const reqs = site.log.filter((r) => r.host === h.address);
      expect(reqs.length).toBeGreaterThan(0);
      expect(reqs.every((r) => r.path === "/robots.txt")).toBe(true);
    }
  });

  it("asks for robots.txt before anything else on every host", () => {
    for (const host of site.hosts) {
      const first = site.log.filter((r) => r.host === host.address).sort((a, b) => a.startMs - b.startMs)[0];
      expect(first?.path, host.address).toBe("/robots.txt");
    }
  });

  it("never starts a request to a host sooner than its delay after the previous one ended", () => {
    const crawlDelayMs = new Map(
      site.hosts.map((h) => [
        h.address,
        h.plan.robots.kind === "crawl-delay" ? h.plan.robots.seconds * 1000 : 0,
      ]),
    );
    const violations = gapViolations(site.log, (host) => Math.max(MIN_DELAY_MS, crawlDelayMs.get(host) ?? 0));
    expect(violations).toEqual([]);
  });

  it("identifies itself on every request", () => {
    for (const r of site.log) {
      expect(r.userAgent).toBe(`${TEST_UA.product}/${TEST_UA.version} (+mailto:${TEST_UA.contact})`);
      expect(r.from).toBe(TEST_UA.contact);
    }
  });

  it("keeps frontier counts that match the fixture's log", () => {
    const crawl = cluster.coordinator.frontier.crawl(crawlId);
    const pages = pageRequests();
    expect(crawl?.counts.done).toBe(pages.length);
    expect(crawl?.statusCounts["200"]).toBe(pages.filter((r) => r.status === 200).length);
    const disallowedHosts = site.hosts.filter((h) => site.disallowedPaths(h).length > 0).length;
    expect(crawl?.skipCounts.robots_disallowed).toBe(disallowedHosts);
    // The 503 host's seed, its /p/0 (linked from the previous host) are given up, not fetched.
    expect(crawl?.skipCounts.robots_unreachable).toBeGreaterThanOrEqual(1);
    const urls = [...cluster.coordinator.frontier.urls(crawlId)];
    expect(urls.filter((u) => u.state === "done").length).toBe(pages.length);
    for (const u of urls.filter((u) => u.state === "done")) {
      expect(u.result?.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(u.robots?.verdict).toMatch(/^robots_(allowed|unavailable_allow_all)$/);
    }
    expect(crawl?.hosts).toBe(site.hosts.length);
  });

  it("leaves a frontier whose invariants hold", () => {
    const check = cluster.coordinator.frontier.check();
    expect(check.problems).toEqual([]);
    expect(check.activeLeases).toBe(0);
  });

  it("keeps a capture of every fetched URL and of every host's robots.txt, with evidence matching the frontier", async () => {
    await Promise.all(cluster.workers.map((w) => w.stop(2000)));
    const dir = join(cluster.dataDir, "warc");
    const done = [...cluster.coordinator.frontier.urls(crawlId)].filter((u) => u.state === "done");
    expect(done.length).toBeGreaterThan(100);
    const located = done.map((u) => ({ url: u.url, capture: u.result?.capture }));
    expect(await captureProblems(dir, located)).toEqual([]);
    const records = [];
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".warc.gz")))
      records.push(...(await checkWarc(join(dir, name))).records);
    const responses = records.filter((r) => r.type === "response");
    // One response, or revisit of a payload already held (each host serves its first page at / and /p/0), per URL.
    const revisits = records.filter((r) => r.type === "revisit");
    expect(revisits.length).toBeGreaterThan(0);
    expect(responses.length + revisits.length).toBeGreaterThanOrEqual(done.length + site.hosts.length);
    const robotsDigests = new Map<string, Set<string>>();
    for (const r of responses.filter((r) => r.targetUri?.endsWith("/robots.txt"))) {
      const digests = robotsDigests.get(r.targetUri as string) ?? new Set();
      digests.add(
        createHash("sha256")
          .update(r.payload ?? Buffer.alloc(0))
          .digest("hex"),
      );
      robotsDigests.set(r.targetUri as string, digests);
    }
    for (const host of site.hosts)
      expect(robotsDigests.has(`http://${host.address}:${host.port}/robots.txt`)).toBe(true);
    for (const u of done) {
      const at = recordAt(dir, u.result?.capture as { file: string; offset: number; length: number });
      const id = at.headers.get("warc-record-id");
      const meta = records.find((r) => r.type === "metadata" && r.concurrentTo === id);
      const fields = meta?.block.toString("utf8") ?? "";
      const field = (name: string) =>
        [...fields.matchAll(new RegExp(`^${name}: (.*)\r$`, "gm"))].map((m) => m[1]);
      // A robots.txt that was missing (4xx) has no digest: it allowed everything.
      expect(field("heed-robots-digest"), u.url).toEqual(u.robots?.digest ? [u.robots.digest] : []);
      expect(field("heed-robots-line")).toEqual(u.robots?.line ? [String(u.robots.line)] : []);
      expect(field("heed-delay-ms")).toEqual([String(u.politeness?.delayMs)]);
      expect(field("heed-delay-source")).toEqual([u.politeness?.source]);
      expect(field("heed-politeness-key")).toEqual(u.politeness?.keys);
      // The robots.txt that decided is itself in the crawl's captures.
      const decided = robotsDigests.get(field("heed-robots-url")[0] as string);
      expect(decided, u.url).toBeDefined();
      if (u.robots?.digest) expect(decided?.has(u.robots.digest), u.url).toBe(true);
    }
  });
});

/**
 * Two crawls on one host; one is cancelled. The other must get the host at
 * once, not after the cancelled crawl's queued URLs were stepped over a scan
 * at a time. Workers poll at the production defaults (idlePollMaxMs 1000, maxWaitHintMs 250).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";

// Loopback address of this file: .231.
const QUEUED = 5000;
let cluster: Cluster;
let site: TinySite;

beforeAll(async () => {
  site = await startTinySite("127.0.0.231", (req, res) => {
    if (req.url === "/robots.txt") return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
  cluster = await startCluster({
    workers: 1,
    coordinator: { maxWaitHintMs: 250 },
    worker: { idlePollMaxMs: 1000 },
  });
});
afterAll(async () => {
  await cluster?.stop();
  await site?.close();
});

describe("cancelling a crawl on a shared host", () => {
  it("lets the other crawl's next page go at the host's delay, not after its queue is stepped over", async () => {
    const frontier = cluster.coordinator.frontier;
    const seeds = Array.from({ length: QUEUED }, (_, i) => `${site.origin}/a/${i}`);
    // A long delay keeps crawl A's URLs queued; B arrives behind all of them on the same host.
    frontier.createCrawl(crawlSpec(seeds, { id: "a", politeness: { minDelayMs: 300 } }));
    const deadline = Date.now() + 15_000;
    while ((frontier.crawl("a")?.counts.done ?? 0) < 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    frontier.createCrawl(crawlSpec([`${site.origin}/b/0`], { id: "b", politeness: { minDelayMs: 300 } }));
    const cancelledAt = Date.now();
    frontier.changeCrawlState("a", "cancel");
    // At once: nothing of A is left queued for a scan to step over.
    expect(frontier.crawl("a")?.counts.queued).toBe(0);
    while ((frontier.crawl("b")?.counts.done ?? 0) < 1 && Date.now() < cancelledAt + 30_000)
      await new Promise((r) => setTimeout(r, 20));
    const waitedMs = Date.now() - cancelledAt;
    const b = site.requests.find((r) => r.path === "/b/0");
    console.log(
      `crawl b waited ${waitedMs} ms after the cancel (its page requested ${b ? b.atMs - cancelledAt : "never"} ms after)`,
    );
    expect(frontier.crawl("b")?.counts.done).toBe(1);
    expect(frontier.crawl("a")?.counts.queued).toBe(0);
    // The host's delay (300 ms), a worker poll (up to 1 s) and a report: well under 3 s.
    expect(waitedMs).toBeLessThan(3000);
  }, 60_000);

  it("pausing a crawl frees the host at once too, and resuming it picks up where it stopped", async () => {
    const frontier = cluster.coordinator.frontier;
    const seeds = Array.from({ length: QUEUED }, (_, i) => `${site.origin}/c/${i}`);
    frontier.createCrawl(crawlSpec(seeds, { id: "c", politeness: { minDelayMs: 300 } }));
    const deadline = Date.now() + 15_000;
    while ((frontier.crawl("c")?.counts.done ?? 0) < 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    frontier.createCrawl(crawlSpec([`${site.origin}/d/0`], { id: "d", politeness: { minDelayMs: 300 } }));
    const pausedAt = Date.now();
    frontier.changeCrawlState("c", "pause");
    const queued = frontier.crawl("c")?.counts.queued ?? 0;
    expect(queued).toBeGreaterThan(QUEUED - 10);
    expect(frontier.check().problems).toEqual([]);
    while ((frontier.crawl("d")?.counts.done ?? 0) < 1 && Date.now() < pausedAt + 30_000)
      await new Promise((r) => setTimeout(r, 20));
    const waitedMs = Date.now() - pausedAt;
    console.log(`crawl d waited ${waitedMs} ms after the pause`);
    expect(frontier.crawl("d")?.counts.done).toBe(1);
    // The host's delay (300 ms), a worker poll (up to 1 s) and a report: well under 3 s.
    expect(waitedMs).toBeLessThan(3000);
    // Paused, not lost: nothing of C was fetched meanwhile, and all of it is still queued.
    const cPaths = () => site.requests.filter((r) => r.path.startsWith("/c/")).length;
    const fetchedBefore = cPaths();
    await new Promise((r) => setTimeout(r, 700));
    expect(cPaths()).toBe(fetchedBefore);
    expect(frontier.crawl("c")?.counts.queued).toBe(queued);

    frontier.changeCrawlState("c", "resume");
    expect(frontier.check().problems).toEqual([]);
    const doneAtResume = frontier.crawl("c")?.counts.done ?? 0;
    const until = Date.now() + 10_000;
    while ((frontier.crawl("c")?.counts.done ?? 0) <= doneAtResume && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    expect(frontier.crawl("c")?.counts.done).toBeGreaterThan(doneAtResume);
    frontier.changeCrawlState("c", "cancel");
  }, 60_000);
});

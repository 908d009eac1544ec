import { lookup } from "node:dns/promises";
import { waitForCrawl } from "@heed/coordinator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";

/**
 * Two names for one server (`localhost` and its address) are one server to be
 * polite to: with politeness by IP, once the workers have resolved the name,
 * requests through either name are spaced as one.
 */
describe("politeness by IP across virtual hosts", () => {
  let site: TinySite;
  let cluster: Cluster;
  let address: string;
  const DELAY_MS = 150;

  beforeAll(async () => {
    address = (await lookup("localhost")).address;
    site = await startTinySite(address, (req, res) => {
      if (req.url === "/robots.txt") return res.writeHead(404).end();
      const n = Number(req.url?.slice(1) || 0);
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(n < 6 ? `<a href="/${n + 1}">next</a>` : "<p>end</p>");
    });
    const port = new URL(site.origin).port;
    const literal = address.includes(":") ? `[${address}]` : address;
    cluster = await startCluster({ workers: 2 });
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec([`http://localhost:${port}/`, `http://${literal}:${port}/`], {
        politeness: { minDelayMs: DELAY_MS, key: "ip", delayFactor: 0 },
      }),
    );
    await waitForCrawl(cluster.coordinator.frontier, crawl.id, { timeoutMs: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await site?.close();
  });

  it("spaces requests through both names as requests to one server", () => {
    // Both names serve the same 7 pages and a robots.txt each.
    expect(site.requests).toHaveLength(16);
    expect(cluster.coordinator.frontier.host("localhost")?.ip).toBe(address);
    // Until the first answer for `localhost` comes back its address is unknown; from then on one key spaces both.
    const starts = site.requests.map((r) => r.atMs).sort((a, b) => a - b);
    const tooClose = starts.slice(3).filter((t, i) => t - (starts[i + 2] as number) < DELAY_MS - 1);
    expect(tooClose).toEqual([]);
  });
});

import { gzipSync } from "node:zlib";
import { waitForCrawl } from "@heed/coordinator";
import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";

let site: TinySite | undefined;
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  await site?.close();
  cluster = undefined;
  site = undefined;
});

async function crawlWithSitemaps(
  enabled: boolean,
): Promise<{ site: TinySite; cluster: Cluster; crawlId: string }> {
  const s = await startTinySite("127.0.0.46", (req, res) => {
    const origin = `http://${req.headers.host}`;
    const urlset = (paths: string[]) =>
      `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${paths.map((p) => `<url><loc>${origin}${p}</loc></url>`).join("")}</urlset>`;
    switch (req.url) {
      case "/robots.txt":
        return res
          .writeHead(200)
          .end(`User-agent: *\nDisallow: /s/secret\nSitemap: ${origin}/sitemap_index.xml\n`);
      case "/sitemap_index.xml":
        return res
          .writeHead(200, { "content-type": "application/xml" })
          .end(
            `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>${origin}/one.xml.gz</loc></sitemap><sitemap><loc>${origin}/two.xml</loc></sitemap></sitemapindex>`,
          );
      case "/one.xml.gz":
        return res
          .writeHead(200, { "content-type": "application/gzip" })
          .end(gzipSync(urlset(["/s/1", "/s/2", "/s/secret"])));
      case "/two.xml":
        return res
          .writeHead(200, { "content-type": "application/xml" })
          .end(urlset(["/s/3", "http://elsewhere.example/x"]));
      default:
        return res.writeHead(200, { "content-type": "text/html" }).end("<p>no links here</p>");
    }
  });
  site = s;
  const c = await startCluster({ workers: 2 });
  cluster = c;
  const crawl = c.coordinator.frontier.createCrawl(
    crawlSpec([`${s.origin}/`], { politeness: { minDelayMs: 20 }, sitemaps: { enabled } }),
  );
  await waitForCrawl(c.coordinator.frontier, crawl.id, { timeoutMs: 30_000 });
  return { site: s, cluster: c, crawlId: crawl.id };
}

describe("sitemaps (an option per crawl)", () => {
  it("fetches the sitemaps robots.txt lists, indexes and gzip included, and crawls their URLs within scope and robots", async () => {
    const { site: s, cluster: c, crawlId } = await crawlWithSitemaps(true);
    const paths = s.requests.map((r) => r.path).sort();
    expect(paths).toEqual([
      "/",
      "/one.xml.gz",
      "/robots.txt",
      "/s/1",
      "/s/2",
      "/s/3",
      "/sitemap_index.xml",
      "/two.xml",
    ]);
    expect(c.coordinator.frontier.url(crawlId, `${s.origin}/s/secret`)).toMatchObject({
      state: "skipped",
      reason: "robots_disallowed",
    });
    expect(c.coordinator.frontier.url(crawlId, `${s.origin}/s/1`)).toMatchObject({
      state: "done",
      depth: 1,
      via: `${s.origin}/one.xml.gz`,
    });
    expect(c.coordinator.frontier.url(crawlId, `${s.origin}/one.xml.gz`)?.kind).toBe("sitemap");
    expect(c.coordinator.frontier.check().problems).toEqual([]);
  });

  it("leaves sitemaps alone unless the crawl asks for them", async () => {
    const { site: s } = await crawlWithSitemaps(false);
    expect(s.requests.map((r) => r.path).sort()).toEqual(["/", "/robots.txt"]);
  });
});

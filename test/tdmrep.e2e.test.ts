import { waitForCrawl } from "@heed/coordinator";
import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";

let sites: TinySite[] = [];
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  for (const s of sites) await s.close();
  cluster = undefined;
  sites = [];
});

/** One site reserves a path in tdmrep.json; another says `tdm-reservation: 1` on its pages. */
async function crawl(honour: boolean) {
  const rules = await startTinySite("127.0.0.47", (req, res) => {
    const html = (body: string) => res.writeHead(200, { "content-type": "text/html" }).end(body);
    if (req.url === "/robots.txt") return res.writeHead(404).end();
    if (req.url === "/.well-known/tdmrep.json") {
      return res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify([
          { location: "/reserved/*", "tdm-reservation": 1 },
          { location: "/*", "tdm-reservation": 0 },
        ]),
      );
    }
    if (req.url === "/") return html(`<a href="/reserved/a">r</a><a href="/open/b">o</a>`);
    return html("<p>leaf</p>");
  });
  const header = await startTinySite("127.0.0.48", (req, res) => {
    if (req.url === "/robots.txt" || req.url === "/.well-known/tdmrep.json") return res.writeHead(404).end();
    res
      .writeHead(200, { "content-type": "text/html", "tdm-reservation": "1" })
      .end(`<a href="/more">more</a>`);
  });
  sites = [rules, header];
  cluster = await startCluster({ workers: 1 });
  const c = cluster.coordinator.frontier.createCrawl(
    crawlSpec([`${rules.origin}/`, `${header.origin}/`], {
      politeness: { minDelayMs: 20 },
      honourTdmReservation: honour,
    }),
  );
  await waitForCrawl(cluster.coordinator.frontier, c.id, { timeoutMs: 30_000 });
  return { rules, header, frontier: cluster.coordinator.frontier, crawlId: c.id };
}

describe("the W3C TDM Reservation Protocol, honoured as an opt-out", () => {
  it("reads tdmrep.json before any page, skips what it reserves, and stops at an origin whose pages reserve", async () => {
    const { rules, header, frontier, crawlId } = await crawl(true);
    const paths = rules.requests.map((r) => r.path);
    expect(paths.slice(0, 2)).toEqual(["/robots.txt", "/.well-known/tdmrep.json"]);
    expect(paths).toContain("/open/b");
    expect(paths).not.toContain("/reserved/a");
    expect(frontier.url(crawlId, `${rules.origin}/reserved/a`)).toMatchObject({
      state: "skipped",
      reason: "tdm_reserved",
    });
    expect(header.requests.map((r) => r.path)).toEqual(["/robots.txt", "/.well-known/tdmrep.json", "/"]);
    expect(frontier.url(crawlId, `${header.origin}/more`)).toMatchObject({
      state: "skipped",
      reason: "tdm_reserved",
    });
    expect(frontier.check().problems).toEqual([]);
  });

  it("changes nothing for a crawl that does not ask for it", async () => {
    const { rules, header } = await crawl(false);
    expect(rules.requests.map((r) => r.path)).toContain("/reserved/a");
    expect(rules.requests.map((r) => r.path)).not.toContain("/.well-known/tdmrep.json");
    expect(header.requests.map((r) => r.path)).toContain("/more");
  });
});

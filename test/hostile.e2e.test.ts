import { gzipSync } from "node:zlib";
import { waitForCrawl } from "@heed/coordinator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";

/** One worker, one fetch at a time, against every kind of hostile answer: it must report each and keep going. */
const ROUTES = [
  "/slow-headers",
  "/trickle",
  "/big",
  "/bomb",
  "/loop-a",
  "/chain/0",
  "/huge-header",
  "/reset",
  "/malformed",
  "/bad-utf8",
  "/many-links",
];

describe("a hostile site", () => {
  let site: TinySite;
  let cluster: Cluster;
  let crawlId: string;

  beforeAll(async () => {
    site = await startTinySite("127.0.0.45", (req, res) => {
      const path = req.url ?? "/";
      const html = (body: string) => res.writeHead(200, { "content-type": "text/html" }).end(body);
      if (path === "/robots.txt") return res.writeHead(200).end("User-agent: *\nAllow: /\n");
      if (path === "/")
        return html(
          `${ROUTES.map((r) => `<a href="${r}">x</a>`).join("")}<a href="/${"L".repeat(9000)}">long</a>`,
        );
      if (path === "/slow-headers") return void setTimeout(() => res.writeHead(200).end("late"), 5000);
      if (path === "/trickle") {
        res.writeHead(200, { "content-type": "text/html" });
        const t = setInterval(() => res.write("<p>"), 200);
        res.on("close", () => clearInterval(t));
        return;
      }
      if (path === "/big")
        return res.writeHead(200, { "content-type": "text/plain" }).end(Buffer.alloc(300_000, 66));
      if (path === "/bomb") {
        return res
          .writeHead(200, { "content-type": "text/html", "content-encoding": "gzip" })
          .end(gzipSync(Buffer.alloc(30_000_000, 65)));
      }
      if (path === "/loop-a") return res.writeHead(302, { location: "/loop-b" }).end();
      if (path === "/loop-b") return res.writeHead(302, { location: "/loop-a" }).end();
      if (path.startsWith("/chain/")) {
        const n = Number(path.slice(7));
        return n < 30
          ? res.writeHead(301, { location: `/chain/${n + 1}` }).end()
          : html("<p>end of chain</p>");
      }
      if (path === "/huge-header") return res.writeHead(200, { "x-junk": "j".repeat(100_000) }).end("x");
      if (path === "/reset") {
        res.writeHead(200, { "content-type": "text/html", "content-length": "50000" }).write("<p>partial");
        return void setTimeout(() => res.socket?.destroy(), 50);
      }
      if (path === "/malformed")
        return html(`<a href="/after"<<<div><a href='/after'>after</a><script>"<a href='/in-script'>"`);
      if (path === "/bad-utf8")
        return res
          .writeHead(200, { "content-type": "text/html; charset=utf-8" })
          .end(Buffer.from([0xff, 0xfe, 0x3c, 0x61, 0x3e]));
      if (path === "/many-links")
        return html(Array.from({ length: 100_000 }, (_, i) => `<a href="/m${i}">.</a>`).join(""));
      return html("<p>ordinary page</p>");
    });
    cluster = await startCluster({ workers: 1, worker: { concurrency: 1 } });
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec([`${site.origin}/`], {
        maxDepth: 1,
        politeness: { minDelayMs: 20, delayFactor: 0 },
        fetch: { timeoutMs: 1500, maxBytes: 100_000, maxOutlinks: 50, maxAttempts: 1 },
      }),
    );
    crawlId = crawl.id;
    await waitForCrawl(cluster.coordinator.frontier, crawlId, { timeoutMs: 60_000 });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    await site?.close();
  });

  const rec = (path: string) => cluster.coordinator.frontier.url(crawlId, `${site.origin}${path}`);

  it("finishes, with every hostile URL settled and the frontier consistent", () => {
    expect(cluster.coordinator.frontier.crawl(crawlId)?.state).toBe("finished");
    for (const r of ROUTES) expect(["done", "failed"], r).toContain(rec(r)?.state);
    expect(cluster.coordinator.frontier.check().problems).toEqual([]);
  });

  it("reports timeouts, protocol errors and resets as typed errors", () => {
    expect(rec("/slow-headers")?.result?.errorKind).toBe("FETCH_ERROR_KIND_TIMEOUT");
    expect(rec("/trickle")?.result?.errorKind).toBe("FETCH_ERROR_KIND_TIMEOUT");
    expect(rec("/huge-header")?.result?.errorKind).toBe("FETCH_ERROR_KIND_PROTOCOL");
    expect(rec("/reset")?.result?.errorKind).toMatch(/^FETCH_ERROR_KIND_(PROTOCOL|CONNECT)$/);
  });

  it("cuts oversized and decompression-bomb bodies at the limit", () => {
    expect(rec("/big")?.result).toMatchObject({ status: 200, bytes: 100_000, truncated: true });
    expect(rec("/bomb")?.result).toMatchObject({ status: 200, bytes: 100_000, truncated: true });
  });

  it("ends redirect loops by dedup and follows long chains hop by hop through the frontier", () => {
    expect(rec("/loop-a")?.result?.redirect).toBe(`${site.origin}/loop-b`);
    expect(site.requests.filter((r) => r.path === "/loop-a")).toHaveLength(1);
    expect(site.requests.filter((r) => r.path === "/loop-b")).toHaveLength(1);
    expect(rec("/chain/30")?.state).toBe("done");
  });

  it("caps links, drops over-long URLs and survives malformed HTML and invalid UTF-8", () => {
    expect(rec("/many-links")?.result?.outlinks).toBe(50);
    expect(site.requests.some((r) => r.path.startsWith("/LLLL"))).toBe(false);
    expect(rec("/malformed")?.state).toBe("done");
    expect(rec("/bad-utf8")?.state).toBe("done");
  });
});

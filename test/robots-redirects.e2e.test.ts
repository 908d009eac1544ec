import { readdirSync } from "node:fs";
import { join } from "node:path";
import { waitForCrawl } from "@heed/coordinator";
import { type LoopbackSite, type RequestRecord, startLoopbackSite } from "@heed/loopback-site";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gapViolations, overlaps } from "./harness/audit.js";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { checkWarc } from "./harness/warc-check.js";

// robots.txt redirects crawled for real, each hop spaced like every request:
// host A's robots.txt answers 301 to /robots-2.txt, which answers 302 to host B's
// robots.txt (whose rules then apply to A); host C's robots.txt redirects in a loop.
// Loopback addresses of this file: .235-.238.

const DELAY_MS = 1000;
const CRAWL = "robots-redirects";
const B_ROBOTS = "User-agent: *\nDisallow: /p/2\n";

let site: LoopbackSite;
let cluster: Cluster;
const host = (i: number) => site.hosts[i] as LoopbackSite["hosts"][number];
const requestsTo = (i: number): RequestRecord[] =>
  site.log.filter((r) => r.host === host(i).address).sort((a, b) => a.startMs - b.startMs);

beforeAll(async () => {
  site = await startLoopbackSite({
    firstOctet: 235,
    pageLatencyMs: 2,
    hosts: [
      {
        robots: { kind: "allow-all" },
        pages: 3,
        redirects: {
          "/robots.txt": { status: 301, to: "/robots-2.txt" },
          "/robots-2.txt": { status: 302, to: { host: 1, path: "/robots.txt" } },
        },
      },
      { robots: { kind: "text", text: B_ROBOTS }, pages: 3 },
      {
        robots: { kind: "disallow", prefix: "/" },
        pages: 2,
        redirects: {
          "/robots.txt": { status: 301, to: "/r/1" },
          "/r/1": { status: 302, to: "/r/2" },
          "/r/2": { status: 307, to: "/robots.txt" },
        },
      },
    ],
  });
  cluster = await startCluster({ workers: 2, coordinator: { httpListen: "127.0.0.1:0" } });
  const [a, b, c] = [0, 1, 2].map((i) => host(i).origin);
  const seeds = [`${a}/`, `${a}/p/1`, `${a}/p/2`, `${b}/`, `${b}/p/1`, `${c}/`, `${c}/p/1`];
  cluster.coordinator.frontier.createCrawl(
    crawlSpec(seeds, { id: CRAWL, maxDepth: 0, politeness: { minDelayMs: DELAY_MS } }),
  );
  const done = await waitForCrawl(cluster.coordinator.frontier, CRAWL, { timeoutMs: 60_000 });
  expect(done.state).toBe("finished");
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
  await site?.close();
});

describe("robots.txt redirects", () => {
  it("spaces every hop by the host's delay, as every other request to the host", () => {
    expect(
      requestsTo(0)
        .map((r) => r.path)
        .slice(0, 2),
    ).toEqual(["/robots.txt", "/robots-2.txt"]);
    expect(gapViolations(site.log, () => DELAY_MS)).toEqual([]);
    expect(overlaps(site.log, (h) => h)).toEqual([]);
  });

  it("counts a hop to another host against that host: it waits for that host's slot", () => {
    const b = requestsTo(1);
    // B's own robots.txt and A's hop to it: two requests, spaced from each other and from B's pages.
    expect(b.filter((r) => r.path === "/robots.txt")).toHaveLength(2);
    expect(gapViolations(b, () => DELAY_MS)).toEqual([]);
    const secondHop = requestsTo(0).find((r) => r.path === "/robots-2.txt") as RequestRecord;
    const hop = b.filter((r) => r.path === "/robots.txt" && r.startMs >= secondHop.endMs);
    expect(hop.length).toBeGreaterThan(0);
  });

  it("applies the robots.txt at the end of the chain to the original host, with each hop as evidence", () => {
    const { frontier } = cluster.coordinator;
    const [a, b] = [host(0).origin, host(1).origin];
    expect(requestsTo(0).map((r) => r.path)).not.toContain("/p/2");
    expect(frontier.url(CRAWL, `${a}/p/2`)).toMatchObject({ state: "skipped", reason: "robots_disallowed" });
    expect(frontier.url(CRAWL, `${a}/p/1`)?.state).toBe("done");
    const robotsA = frontier.robots(a);
    expect(robotsA).toMatchObject({ status: "parsed", text: B_ROBOTS, digest: frontier.robots(b)?.digest });
    expect(robotsA?.redirects).toEqual([`${a}/robots.txt`, `${a}/robots-2.txt`, `${b}/robots.txt`]);
    expect(robotsA?.following).toBeUndefined();
  });

  it("stops a redirect loop after five redirects and reads robots.txt as unavailable (allow all)", () => {
    const c = host(2).origin;
    const chain = requestsTo(2).filter((r) => r.path === "/robots.txt" || r.path.startsWith("/r/"));
    expect(chain.map((r) => r.path)).toEqual(["/robots.txt", "/r/1", "/r/2", "/robots.txt", "/r/1", "/r/2"]);
    const robotsC = cluster.coordinator.frontier.robots(c);
    expect(robotsC).toMatchObject({ status: "unavailable", httpStatus: 307 });
    expect(robotsC?.redirects).toHaveLength(6);
    // Unavailable allows all: the pages its own (never reached) robots.txt would forbid are fetched.
    expect(cluster.coordinator.frontier.url(CRAWL, `${c}/p/1`)?.state).toBe("done");
  });

  it("counts every hop followed in the coordinator's metrics", async () => {
    const text = await (await fetch(`http://127.0.0.1:${cluster.coordinator.httpPort}/metrics`)).text();
    // Two hops behind a.example's robots.txt, five behind c.example's loop (the sixth redirect is not followed).
    expect(text).toMatch(/^heed_robots_redirect_hops_total 7$/m);
  });

  it("captures every hop in WARC", async () => {
    await Promise.all(cluster.workers.map((w) => w.stop(2000)));
    const dir = join(cluster.dataDir, "warc");
    const uris: string[] = [];
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".warc.gz"))) {
      const checked = await checkWarc(join(dir, name));
      expect(checked.problems).toEqual([]);
      for (const r of checked.records) if (r.type === "response") uris.push(r.targetUri as string);
    }
    const [a, b, c] = [0, 1, 2].map((i) => host(i).origin);
    for (const hop of [`${a}/robots.txt`, `${a}/robots-2.txt`, `${b}/robots.txt`, `${c}/r/1`, `${c}/r/2`])
      expect(uris, hop).toContain(hop);
    expect(cluster.coordinator.frontier.check().problems).toEqual([]);
  });
});

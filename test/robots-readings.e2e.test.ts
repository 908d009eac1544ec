import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForCrawl } from "@heed/coordinator";
import { type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { runHeedctl } from "./harness/processes.js";

// A robots.txt the readings disagree on, crawled for real: the URL one reading
// disallows is never requested, and the disagreement shows in `heedctl url show`,
// the admin API and the metrics.
// Loopback addresses of this file: .225-.226.

// Google compares "%2F" as three characters, RFC 9309 as the slash it encodes.
const ROBOTS = "User-agent: *\nDisallow: /p%2F1\n";
const CRAWL = "readings-e2e";

const scratch = mkdtempSync(join(tmpdir(), "heed-readings-"));
let site: LoopbackSite;
let cluster: Cluster;
let origin: string;

beforeAll(async () => {
  site = await startLoopbackSite({
    hosts: [{ robots: { kind: "text", text: ROBOTS }, pages: 3 }],
    firstOctet: 225,
  });
  origin = site.hosts[0]?.origin as string;
  cluster = await startCluster({ workers: 1, coordinator: { httpListen: "127.0.0.1:0" } });
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
  await site?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const heedctl = (args: string[]) =>
  runHeedctl(args, {
    timeoutMs: 30_000,
    env: {
      HEED_SERVER: `127.0.0.1:${cluster.coordinator.grpcPort}`,
      XDG_CONFIG_HOME: scratch,
      HEEDCTL_CONFIG: "",
    },
  });

describe("robots.txt readings, end to end", () => {
  it("fetches nothing any reading disallows, and shows the disagreement", async () => {
    const seeds = [`${origin}/p/0`, `${origin}/p/1`, `${origin}/p/2`];
    cluster.coordinator.frontier.createCrawl(crawlSpec(seeds, { id: CRAWL, maxDepth: 0 }));
    const done = await waitForCrawl(cluster.coordinator.frontier, CRAWL, { timeoutMs: 30_000 });
    expect(done.state).toBe("finished");
    expect(done.counts.done).toBe(2);

    const paths = site.log.map((r) => r.path);
    expect(paths).toContain("/p/0");
    expect(paths).toContain("/p/2");
    expect(paths.filter((p) => p.startsWith("/p/1") || p.startsWith("/p%2F1"))).toEqual([]);

    const shown = await heedctl(["url", "show", CRAWL, `${origin}/p/1`]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/robots_disallowed \(robots\.txt [0-9a-f]{16}, line 2\)/);
    expect(shown.stdout).toContain(
      "DISAGREE: google allowed, rfc9309 disallowed (line 2), robots-parser allowed",
    );

    const json = await heedctl(["url", "show", CRAWL, `${origin}/p/1`, "--json"]);
    const url = JSON.parse(json.stdout) as {
      state: string;
      robots: { disagreement: boolean; readings: { reading: string; allowed?: boolean }[] };
    };
    expect(url.state).toBe("URL_STATE_SKIPPED");
    expect(url.robots.disagreement).toBe(true);
    expect(url.robots.readings.map((r) => [r.reading, r.allowed ?? false])).toEqual([
      ["google", true],
      ["rfc9309", false],
      ["robots-parser", true],
    ]);

    const metrics = await fetch(`http://127.0.0.1:${cluster.coordinator.httpPort}/metrics`);
    const text = await metrics.text();
    expect(text).toMatch(/^heed_robots_reading_disagreements_total\{reading="rfc9309"\} 1$/m);
    expect(text).not.toMatch(/heed_robots_reading_disagreements_total\{reading="google"\}/);
  });
});

import { createReadStream, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForCrawl } from "@heed/coordinator";
import { defaultPlan, type LoopbackSite, type RequestRecord, startLoopbackSite } from "@heed/loopback-site";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CDXIndexer } from "warcio";
import { gapViolations } from "./harness/audit.js";
import { captureProblems } from "./harness/captures.js";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { runHeed, runHeedctl } from "./harness/processes.js";
import { type CheckedRecord, checkWarc } from "./harness/warc-check.js";

// A crawl of the loopback site, then a recrawl of it: conditional requests, 304s kept as
// server-not-modified revisits that point at the first crawl's records, robots.txt fetched again.
// Loopback addresses of this file: .230-.233, .235-.236 and .240-.242.
const MIN_DELAY_MS = 100;
const NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified";

/** Every record of one crawl's closed WARC files (read with a second parser, every digest checked), and their bytes. */
async function crawlRecords(
  dir: string,
  crawlId: string,
): Promise<{ records: CheckedRecord[]; bytes: number }> {
  const names = readdirSync(dir).filter((n) => n.startsWith(`heed-${crawlId}-`) && n.endsWith(".warc.gz"));
  expect(names.length, crawlId).toBeGreaterThan(0);
  const records: CheckedRecord[] = [];
  let bytes = 0;
  for (const name of names) {
    const report = await checkWarc(join(dir, name));
    expect(report.problems, name).toEqual([]);
    records.push(...report.records);
    bytes += statSync(join(dir, name)).size;
  }
  return { records, bytes };
}

function urlOf(site: LoopbackSite, r: RequestRecord): string {
  return `${site.hosts.find((h) => h.address === r.host)?.origin ?? `http://${r.host}`}${r.path}`;
}

function delays(site: LoopbackSite): (host: string) => number {
  const crawlDelay = new Map(
    site.hosts.map((h) => [
      h.address,
      h.plan.robots.kind === "crawl-delay" ? h.plan.robots.seconds * 1000 : 0,
    ]),
  );
  return (host) => Math.max(MIN_DELAY_MS, crawlDelay.get(host) ?? 0);
}

describe("a recrawl of an unchanged site (one page changed)", () => {
  let site: LoopbackSite;
  let cluster: Cluster;
  let firstLog: RequestRecord[];
  let secondLog: RequestRecord[];
  let changed: string;
  const warcDir = () => join(cluster.dataDir, "warc");

  beforeAll(async () => {
    site = await startLoopbackSite({ hosts: defaultPlan(3, 4, 0), firstOctet: 230, pageLatencyMs: 2 });
    cluster = await startCluster({ workers: 2 });
    const spec = { politeness: { minDelayMs: MIN_DELAY_MS } };
    cluster.coordinator.frontier.createCrawl(crawlSpec(site.seeds(), { id: "first", ...spec }));
    await waitForCrawl(cluster.coordinator.frontier, "first", { timeoutMs: 60_000 });
    firstLog = [...site.log];
    const host = site.hosts[0];
    if (host === undefined) throw new Error("no host");
    site.changePage(host, "/p/1");
    changed = `${host.origin}/p/1`;
    cluster.coordinator.frontier.createCrawl(
      crawlSpec([], { id: "again", recrawl: { of: "first" }, ...spec }),
    );
    await waitForCrawl(cluster.coordinator.frontier, "again", { timeoutMs: 60_000 });
    secondLog = site.log.slice(firstLog.length);
    // Closes the WARC files.
    await Promise.all(cluster.workers.map((w) => w.stop(2000)));
  }, 150_000);

  afterAll(async () => {
    await cluster?.stop();
    await site?.close();
  });

  it("asks for every page conditionally, and only the changed one is sent again", () => {
    const firstPages = firstLog.filter((r) => r.path !== "/robots.txt");
    const pages = secondLog.filter((r) => r.path !== "/robots.txt");
    expect(firstPages.every((r) => r.ifNoneMatch === "" && r.ifModifiedSince === "")).toBe(true);
    expect(new Set(pages.map((r) => urlOf(site, r)))).toEqual(new Set(firstPages.map((r) => urlOf(site, r))));
    for (const r of pages) {
      expect(r.ifNoneMatch !== "" || r.ifModifiedSince !== "", r.path).toBe(true);
      expect(r.status, urlOf(site, r)).toBe(urlOf(site, r) === changed ? 200 : 304);
    }
    const crawl = cluster.coordinator.frontier.crawl("again");
    expect(crawl?.state).toBe("finished");
    expect(crawl?.statusCounts).toEqual({ "200": 1, "304": pages.length - 1 });
  });

  it("fetches robots.txt again on every host, first, and keeps every delay", () => {
    for (const host of site.hosts) {
      const mine = secondLog.filter((r) => r.host === host.address).sort((a, b) => a.startMs - b.startMs);
      expect(mine[0]?.path, host.address).toBe("/robots.txt");
    }
    expect(gapViolations(site.log, delays(site))).toEqual([]);
  });

  it("keeps unchanged pages as server-not-modified revisits of real records of the first crawl", async () => {
    const first = await crawlRecords(warcDir(), "first");
    const second = await crawlRecords(warcDir(), "again");
    const byId = new Map(first.records.map((r) => [r.recordId, r]));
    const answers = second.records.filter((r) => r.type === "response" || r.type === "revisit");
    const pages = secondLog.filter((r) => r.path !== "/robots.txt").map((r) => urlOf(site, r));
    expect(answers.length).toBe(pages.length + site.hosts.length);
    for (const r of answers) {
      const url = r.targetUri ?? "";
      if (url.endsWith("/robots.txt") || url === changed) {
        expect(r.type, url).toBe("response");
        continue;
      }
      expect(r.type, url).toBe("revisit");
      expect(r.headers["WARC-Profile"], url).toBe(NOT_MODIFIED);
      expect(r.block.toString("latin1"), url).toMatch(/^HTTP\/1\.1 304 /);
      const earlier = byId.get(r.headers["WARC-Refers-To"]);
      // The record that holds the payload: this URL's, or the one its payload was a revisit of.
      expect(earlier?.type, url).toBe("response");
      expect(r.headers["WARC-Refers-To-Target-URI"]).toBe(earlier?.targetUri);
      expect(r.headers["WARC-Refers-To-Date"]).toBe(earlier?.headers["WARC-Date"]);
    }
    const changedRecord = answers.find((r) => r.targetUri === changed);
    expect(changedRecord?.payload?.toString()).toContain("revision 1");
    // Every done URL's capture location points at its response or revisit record.
    const done = [...cluster.coordinator.frontier.urls("again")].filter((u) => u.state === "done");
    expect(
      await captureProblems(
        warcDir(),
        done.map((u) => ({ url: u.url, capture: u.result?.capture })),
      ),
    ).toEqual([]);
    // The CDXJ index beside each file lists the revisits as replay tools expect them.
    const cdxj = readdirSync(warcDir())
      .filter((n) => n.startsWith("heed-again-") && n.endsWith(".cdxj"))
      .flatMap((n) => readFileSync(join(warcDir(), n), "utf8").trimEnd().split("\n"));
    expect(
      cdxj.filter((l) => l.includes('"mime":"warc/revisit"') && l.includes('"status":"304"')).length,
    ).toBe(pages.length - 1);
    // And gives the same entries as warcio's own indexer over the same files.
    for (const name of readdirSync(warcDir()).filter(
      (n) => n.startsWith("heed-again-") && n.endsWith(".warc.gz"),
    )) {
      const ours = readFileSync(join(warcDir(), `${name}.cdxj`), "utf8")
        .trimEnd()
        .split("\n");
      const indexer = new CDXIndexer({ format: "cdxj" });
      const theirs: string[] = [];
      for await (const entry of indexer.iterIndex([
        { filename: name, reader: createReadStream(join(warcDir(), name)) },
      ])) {
        theirs.push(indexer.serializeCDXJ(entry).trimEnd());
      }
      expect(ours, name).toEqual(theirs.sort());
    }
    const body = (id: string) => cluster.coordinator.frontier.crawl(id)?.bytes ?? 0;
    // The pages' own records (response or revisit, compressed), without requests and evidence.
    const pageRecords = (id: string) =>
      [...cluster.coordinator.frontier.urls(id)].reduce((n, u) => n + (u.result?.capture?.length ?? 0), 0);
    process.stdout.write(
      `recrawl of ${pages.length} pages: WARC bytes ${first.bytes} (first) vs ${second.bytes} (recrawl), ` +
        `page records ${pageRecords("first")} vs ${pageRecords("again")}, ` +
        `body bytes downloaded ${body("first")} vs ${body("again")}\n`,
    );
  });
});

describe("heedctl crawl create --recrawl-of", () => {
  let site: LoopbackSite;
  let cluster: Cluster;
  let scratch: string;

  beforeAll(async () => {
    site = await startLoopbackSite({ hosts: defaultPlan(1, 2, 0), firstOctet: 235, pageLatencyMs: 2 });
    cluster = await startCluster({ workers: 1 });
    scratch = await mkdtemp(join(tmpdir(), "heed-recrawl-ctl-"));
    cluster.coordinator.frontier.createCrawl(crawlSpec(site.seeds(), { id: "ctl-first" }));
    await waitForCrawl(cluster.coordinator.frontier, "ctl-first", { timeoutMs: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await site?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it("creates a recrawl over the admin API, with no seeds, and it runs conditionally", async () => {
    const env = {
      HEED_SERVER: `127.0.0.1:${cluster.coordinator.grpcPort}`,
      HEED_TOKEN: "",
      XDG_CONFIG_HOME: scratch,
      HEEDCTL_CONFIG: "",
    };
    const before = site.log.length;
    const r = await runHeedctl(
      [
        "crawl",
        "create",
        "--recrawl-of",
        "ctl-first",
        "--recrawl-every-days",
        "7",
        "--id",
        "ctl-again",
        "--contact",
        "heed-tests@example.org",
        "--allow-private-addresses",
        "--min-delay-ms",
        String(MIN_DELAY_MS),
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const crawl = cluster.coordinator.frontier.crawl("ctl-again");
    expect(crawl?.spec.recrawl).toEqual({ of: "ctl-first", everyDays: 7 });
    await waitForCrawl(cluster.coordinator.frontier, "ctl-again", { timeoutMs: 30_000 });
    const pages = site.log.slice(before).filter((l) => l.path !== "/robots.txt");
    expect(pages.length).toBe(cluster.coordinator.frontier.crawl("ctl-first")?.counts.done);
    expect(pages.every((l) => l.ifNoneMatch !== "" && l.status === 304)).toBe(true);
    // An operator sees the validators asked with, and which earlier capture the 304 stands for.
    const page = pages[0];
    if (page === undefined) throw new Error("no page fetched");
    const url = urlOf(site, page);
    const earlier = cluster.coordinator.frontier.url("ctl-first", url)?.result?.capture;
    expect(earlier?.recordId).toMatch(/^<urn:uuid:/);
    const shown = await runHeedctl(["url", "show", "ctl-again", url], { env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^status +304$/m);
    expect(shown.stdout).toMatch(/^etag +"\S+"$/m);
    expect(shown.stdout).toContain(`  ${page.ifNoneMatch}\n`);
    expect(shown.stdout).toMatch(/^last modified +\w{3}, \d{2} \w{3} \d{4} [\d:]{8} GMT$/m);
    expect(shown.stdout).toMatch(/^not modified +since /m);
    expect(shown.stdout).toContain(`since ${url} at ${earlier?.date} (record ${earlier?.recordId})\n`);
  }, 60_000);
});

describe("heed crawl --recrawl-of on the same data directory", () => {
  let site: LoopbackSite;
  let scratch: string;

  beforeAll(async () => {
    site = await startLoopbackSite({ hosts: defaultPlan(2, 3, 0), firstOctet: 240, pageLatencyMs: 2 });
    scratch = await mkdtemp(join(tmpdir(), "heed-recrawl-cli-"));
  });

  afterAll(async () => {
    await site?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it("recrawls the earlier crawl's pages conditionally and writes revisits", async () => {
    const dataDir = join(scratch, "data");
    const common = [
      "--allow-private-addresses",
      "--contact",
      "heed-tests@example.org",
      "--data-dir",
      dataDir,
    ];
    const common2 = [...common, "--min-delay-ms", String(MIN_DELAY_MS), "--workers", "1", "--json"];
    const first = await runHeed(["crawl", ...site.seeds(), "--id", "cli-first", ...common2], {
      timeoutMs: 60_000,
    });
    expect(first.code, first.stderr).toBe(0);
    const before = site.log.length;
    const again = await runHeed(["crawl", "--recrawl-of", "cli-first", "--id", "cli-again", ...common2], {
      timeoutMs: 60_000,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("Recrawling");
    const pages = site.log.slice(before).filter((r) => r.path !== "/robots.txt");
    expect(pages.length).toBe(site.log.slice(0, before).filter((r) => r.path !== "/robots.txt").length);
    for (const r of pages) {
      expect(r.ifNoneMatch, r.path).not.toBe("");
      expect(r.status, r.path).toBe(304);
    }
    const { records } = await crawlRecords(join(dataDir, "warc"), "cli-again");
    const revisits = records.filter((r) => r.type === "revisit");
    expect(revisits.length).toBe(pages.length);
    expect(revisits.every((r) => r.headers["WARC-Profile"] === NOT_MODIFIED)).toBe(true);
    expect(gapViolations(site.log, delays(site))).toEqual([]);
  }, 150_000);
});

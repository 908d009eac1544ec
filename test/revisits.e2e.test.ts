import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitForCrawl } from "@heed/coordinator";
import { copyBody, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import type { CrawlSpecInput } from "@heed/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CDXIndexer } from "warcio";
import { replayInBrowser } from "./harness/browser-replay.js";
import { captureProblems } from "./harness/captures.js";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { runHeed, runHeedctl } from "./harness/processes.js";
import { findChromium } from "./harness/replay.js";
import { type CheckedRecord, checkWarc } from "./harness/warc-check.js";

// Payload dedup across a fleet: a real nats-server, coordinator and two workers crawl a loopback
// site whose hosts serve identical bodies at /copy/k. Each distinct payload must be stored once,
// every other fetch of it written as an identical-payload-digest revisit that resolves to a stored
// record, read back with a WARC parser Heed does not write with.
// Loopback addresses of this file: .240-.244.
const OUTPUT = process.env.HEED_TEST_OUTPUT ?? fileURLToPath(new URL("../test-output/", import.meta.url));
const chromium = findChromium();
const HOSTS = 4;
const COPIES = { count: 3, bytes: 16 * 1024 };
// Besides the shared bodies, each host serves its first page at both / and /p/0.
const REVISITS_ON = (HOSTS - 1) * COPIES.count + HOSTS;
const PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";

let site: LoopbackSite;
let cluster: Cluster;
let warcDir: string;
/** Every record of every closed WARC file, by crawl id. */
const records = new Map<string, CheckedRecord[]>();
const problems: string[] = [];
const figures: { crawl: string; payloadBytes: number; warcBytes: number }[] = [];

async function crawl(id: string, extra: Partial<CrawlSpecInput> = {}): Promise<void> {
  cluster.coordinator.frontier.createCrawl({ ...crawlSpec(site.seeds(), { maxDepth: 3, ...extra }), id });
  await waitForCrawl(cluster.coordinator.frontier, id, { timeoutMs: 60_000 });
}

beforeAll(async () => {
  site = await startLoopbackSite({
    hosts: Array.from({ length: HOSTS }, () => ({ robots: { kind: "allow-all" }, pages: 4, copies: COPIES })),
    firstOctet: 240,
    pageLatencyMs: 2,
  });
  // Two slots each for four hosts: neither worker can hold every host at once, so both take part.
  cluster = await startCluster({ workers: 2, worker: { httpListen: "127.0.0.1:0", concurrency: 2 } });
  warcDir = join(cluster.dataDir, "warc");
  await crawl("dedup-on");
  await crawl("dedup-off", { dedup: { withinCrawl: false } });
  // A later crawl counting the first one's captures, and not its own.
  await crawl("dedup-from", { dedup: { withinCrawl: false, fromCrawls: ["dedup-on"] } });
  // Metrics before the workers stop (their /metrics goes with them); stopping closes every WARC file.
  metrics = await Promise.all(
    cluster.workers.map(async (w) => (await fetch(`http://127.0.0.1:${w.httpPort}/metrics`)).text()),
  );
  for (const w of cluster.workers) await w.stop(5000);
  const files = (await readdir(warcDir)).filter((n) => n.endsWith(".warc.gz"));
  for (const id of ["dedup-on", "dedup-off", "dedup-from"]) {
    const mine = files.filter((n) => n.startsWith(`heed-${id}-`));
    const all: CheckedRecord[] = [];
    let warcBytes = 0;
    for (const name of mine) {
      const report = await checkWarc(join(warcDir, name));
      problems.push(...report.problems);
      all.push(...report.records);
      warcBytes += (await stat(join(warcDir, name))).size;
    }
    records.set(id, all);
    figures.push({ crawl: id, payloadBytes: cluster.coordinator.frontier.crawl(id)?.bytes ?? 0, warcBytes });
  }
  console.info(
    "payload bytes fetched vs WARC bytes written (%d hosts, %d shared bodies of %d bytes):\n%s",
    HOSTS,
    COPIES.count,
    COPIES.bytes,
    figures.map((f) => `  ${f.crawl}: fetched ${f.payloadBytes}, written ${f.warcBytes}`).join("\n"),
  );
}, 180_000);

let metrics: string[] = [];

afterAll(async () => {
  await cluster?.stop();
  await site?.close();
});

function copies(id: string): CheckedRecord[] {
  return (records.get(id) ?? []).filter(
    (r) => (r.type === "response" || r.type === "revisit") && (r.targetUri ?? "").includes("/copy/"),
  );
}

function byDigest(rs: CheckedRecord[]): Map<string, CheckedRecord[]> {
  const out = new Map<string, CheckedRecord[]>();
  for (const r of rs) out.set(r.payloadDigest ?? "", [...(out.get(r.payloadDigest ?? "") ?? []), r]);
  return out;
}

describe("payload dedup across workers", () => {
  it("reads back every record with a second parser, every digest right", () => {
    expect(problems).toEqual([]);
    expect(records.get("dedup-on")?.length).toBeGreaterThan(0);
  });

  it("stores each distinct payload once; every other fetch of it is a revisit", () => {
    const fetched = copies("dedup-on");
    // Every host fetched every shared body once.
    expect(fetched).toHaveLength(HOSTS * COPIES.count);
    const groups = byDigest(fetched);
    expect(groups.size).toBe(COPIES.count);
    for (const [digest, rs] of groups) {
      expect(rs.filter((r) => r.type === "response").length, digest).toBe(1);
      expect(rs.filter((r) => r.type === "revisit").length, digest).toBe(HOSTS - 1);
    }
    // Both workers took part: the index is the fleet's, not one worker's memory.
    const writers = new Set(
      (records.get("dedup-on") ?? []).filter((r) => r.type === "warcinfo").map((r) => r.block.toString()),
    );
    expect(writers.size).toBeGreaterThanOrEqual(2);
  });

  it("points every revisit at a stored response with that payload, and keeps only the HTTP head", () => {
    const all = [...(records.get("dedup-on") ?? []), ...(records.get("dedup-from") ?? [])];
    const responses = new Map(all.filter((r) => r.type === "response").map((r) => [r.recordId, r]));
    const revisits = all.filter((r) => r.type === "revisit");
    expect(revisits.length).toBeGreaterThan(0);
    for (const v of revisits) {
      const h = v.headers;
      expect(h["WARC-Profile"]).toBe(PROFILE);
      const original = responses.get(h["WARC-Refers-To"]);
      expect(original, `${v.targetUri} refers to ${h["WARC-Refers-To"]}`).toBeDefined();
      expect(original?.targetUri).toBe(h["WARC-Refers-To-Target-URI"]);
      expect(original?.headers["WARC-Date"]).toBe(h["WARC-Refers-To-Date"]);
      expect(original?.payloadDigest).toBe(v.payloadDigest);
      // Status line and headers as received, and nothing after them.
      expect(v.block.toString("latin1")).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/);
      expect(v.payload?.length).toBe(0);
    }
  });

  it("stores every payload when dedup is off, and saves the bytes when it is on", () => {
    const off = copies("dedup-off");
    expect(off).toHaveLength(HOSTS * COPIES.count);
    expect(off.every((r) => r.type === "response")).toBe(true);
    const [on, none] = ["dedup-on", "dedup-off"].map((id) => figures.find((f) => f.crawl === id));
    // The same pages were fetched both times; nine 16 KiB bodies were not written again.
    expect(on?.payloadBytes).toBe(none?.payloadBytes);
    const saved = (none?.warcBytes ?? 0) - (on?.warcBytes ?? 0);
    // Each record is gzipped, and the shared bodies compress to about two thirds: half is a safe floor.
    expect(saved).toBeGreaterThan((HOSTS - 1) * COPIES.count * COPIES.bytes * 0.5);
  });

  it("refers to an earlier crawl's captures when the definition names it", () => {
    const from = copies("dedup-from");
    expect(from).toHaveLength(HOSTS * COPIES.count);
    expect(from.every((r) => r.type === "revisit")).toBe(true);
    const earlier = new Set(copies("dedup-on").map((r) => r.recordId));
    for (const r of from) expect(earlier).toContain(r.headers["WARC-Refers-To"]);
  });

  it("keeps each URL's revisit location in the frontier, and counts revisits in the workers' metrics", async () => {
    const frontier = cluster.coordinator.frontier;
    const done = [...frontier.urls("dedup-on")].filter((u) => u.state === "done");
    expect(
      await captureProblems(
        warcDir,
        done.map((u) => ({ url: u.url, capture: u.result?.capture })),
      ),
    ).toEqual([]);
    const revisits = done.filter((u) => u.result?.capture?.revisit !== undefined);
    expect(revisits).toHaveLength(REVISITS_ON);
    for (const u of revisits) {
      expect(u.result?.capture?.revisit?.profile).toBe("identical-payload-digest");
      expect(
        frontier.url("dedup-on", u.result?.capture?.revisit?.refersToUri ?? "")?.result?.capture?.revisit,
      ).toBe(undefined);
    }
    const total = (name: string) =>
      metrics.reduce((sum, text) => sum + Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? 0), 0);
    // Operators see it: heedctl url show names the revisit and the capture it refers to.
    const one = revisits[0];
    const shown = await runHeedctl(["url", "show", "dedup-on", one?.url ?? ""], {
      timeoutMs: 30_000,
      env: { HEED_SERVER: `127.0.0.1:${cluster.coordinator.grpcPort}`, HEED_TOKEN: "", HEEDCTL_CONFIG: "" },
    });
    expect(shown.stderr).toBe("");
    expect(shown.stdout).toMatch(/capture\s+revisit record in heed-dedup-on-\S+\.warc\.gz at \d+/);
    expect(shown.stdout).toContain(
      `${one?.result?.capture?.revisit?.refersToUri} at ${one?.result?.capture?.revisit?.refersToDate} (identical-payload-digest)`,
    );
    // Every revisit record written, with the payload bytes of the record it stands for.
    const all = [...records.values()].flat();
    const payloads = new Map(
      all.filter((r) => r.type === "response").map((r) => [r.recordId, r.payload?.length]),
    );
    const written = all.filter((r) => r.type === "revisit");
    expect(total("heed_capture_revisits_total")).toBe(written.length);
    expect(total("heed_capture_revisit_saved_bytes_total")).toBe(
      written.reduce((sum, r) => sum + (payloads.get(r.headers["WARC-Refers-To"]) ?? NaN), 0),
    );
  });

  it("indexes revisits as warcio's own indexer does (mime warc/revisit, status as recorded)", async () => {
    const files = (await readdir(warcDir)).filter(
      (n) => n.startsWith("heed-dedup-on-") && n.endsWith(".warc.gz"),
    );
    let revisitLines = 0;
    for (const name of files) {
      const ours = (await readFile(join(warcDir, `${name}.cdxj`), "utf8")).trimEnd().split("\n");
      const indexer = new CDXIndexer({ format: "cdxj" });
      const theirs: string[] = [];
      for await (const entry of indexer.iterIndex([
        { filename: name, reader: createReadStream(join(warcDir, name)) },
      ]))
        theirs.push(indexer.serializeCDXJ(entry).trimEnd());
      expect(ours, name).toEqual(theirs.sort());
      for (const line of ours.filter((l) => l.includes('"mime":"warc/revisit"'))) {
        expect(line).toContain('"status":"200"');
        revisitLines++;
      }
    }
    expect(revisitLines).toBe(REVISITS_ON);
  });

  it("replays a revisited URL in ReplayWeb.page with the payload of the capture it refers to", async () => {
    const revisit = copies("dedup-on").find((r) => r.type === "revisit");
    const url = revisit?.targetUri ?? "";
    const k = Number(/\/copy\/(\d+)$/.exec(url)?.[1]);
    // A stretch of the shared body that only the original record holds.
    const expected = copyBody(k, COPIES.bytes).slice(200, 240);
    const wacz = join(cluster.dataDir, "dedup-on.wacz");
    const r = await runHeed([
      "export",
      "wacz",
      "--data-dir",
      cluster.dataDir,
      "--crawl",
      "dedup-on",
      "--output",
      wacz,
    ]);
    expect(r.code, r.stderr).toBe(0);
    if (chromium === undefined) {
      console.warn(
        "replay in Chromium skipped: chromium is not installed (scripts/test-deps.sh installs it as root)",
      );
      return;
    }
    const replay = await replayInBrowser({
      chromium,
      waczPath: wacz,
      url,
      expected,
      screenshot: join(OUTPUT, "replay-revisit.png"),
    });
    expect(replay.text).toContain(`Copy ${k}`);
  }, 90_000);
});

import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CDXIndexer } from "warcio";
import { replayInBrowser } from "./harness/browser-replay.js";
import { runHeed } from "./harness/processes.js";
import { findChromium } from "./harness/replay.js";
import { checkWarc } from "./harness/warc-check.js";
import { readZip } from "./harness/zip.js";

// A real crawl of the loopback multi-host site by `heed crawl`, then everything made of its WARC
// files checked by tools Heed does not write with: a second WARC parser recomputing every digest,
// warcio's own indexer against Heed's CDXJ, an independent zip reader on the WACZ, and
// ReplayWeb.page in Chromium replaying a page after the site is gone.
// Loopback addresses of this file: .170-.173.
const OUTPUT = process.env.HEED_TEST_OUTPUT ?? fileURLToPath(new URL("../test-output/", import.meta.url));
const chromium = findChromium();

let site: LoopbackSite | undefined;
let scratch: string;
let warcDir: string;
let crawlId: string;
let pageUrl: string;
let pageTitle: string;
let pageHeading: string;
let fetchedUrls: Set<string>;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "heed-archive-e2e-"));
  site = await startLoopbackSite({ hosts: defaultPlan(3, 4, 0), firstOctet: 170, pageLatencyMs: 2 });
  const dataDir = join(scratch, "data");
  warcDir = join(dataDir, "warc");
  crawlId = "archive-e2e";
  const r = await runHeed(
    [
      "crawl",
      ...site.seeds(),
      "--allow-private-addresses",
      "--contact",
      "heed-tests@example.org",
      "--crawl-id",
      crawlId,
      "--data-dir",
      dataDir,
      "--workers",
      "2",
      "--json",
    ],
    { timeoutMs: 90_000 },
  );
  if (r.code !== 0) throw new Error(`heed crawl failed (${r.code}): ${r.stderr.slice(-2000)}`);
  const origins = new Map([...site.hosts, site.outsider].map((h) => [h.address, h.origin]));
  fetchedUrls = new Set(site.log.map((l) => `${origins.get(l.host) ?? `http://${l.host}`}${l.path}`));
  // The original page, as the site serves it, to compare the replay with.
  const host = site.hosts[0];
  if (host === undefined) throw new Error("no host");
  pageUrl = `${host.origin}/p/1`;
  const original = await (await request(pageUrl)).body.text();
  pageTitle = /<title>([^<]*)<\/title>/.exec(original)?.[1] ?? "";
  pageHeading = /<h1>([^<]*)<\/h1>/.exec(original)?.[1] ?? "";
  // Replay must come from the archive alone.
  await site.close();
  site = undefined;
}, 120_000);

afterAll(async () => {
  await site?.close();
  await rm(scratch, { recursive: true, force: true });
});

async function closedWarcs(): Promise<string[]> {
  return (await readdir(warcDir)).filter((n) => n.endsWith(".warc.gz")).sort();
}

describe("archive output of a real crawl", () => {
  it("every record of every WARC reads back with a second parser, with every digest right", async () => {
    const files = await closedWarcs();
    expect(files.length).toBeGreaterThan(0);
    const responses = new Set<string>();
    for (const name of files) {
      const report = await checkWarc(join(warcDir, name));
      expect(report.problems, name).toEqual([]);
      for (const r of report.records) {
        if ((r.type === "response" || r.type === "revisit") && r.targetUri) responses.add(r.targetUri);
      }
    }
    // One response (or revisit) per URL the site saw requested, robots.txt included.
    for (const url of fetchedUrls) expect(responses, url).toContain(url);
  });

  it("Heed's CDXJ beside each WARC gives the same entries as warcio's own indexer", async () => {
    for (const name of await closedWarcs()) {
      const ours = (await readFile(join(warcDir, `${name}.cdxj`), "utf8")).trimEnd().split("\n");
      const indexer = new CDXIndexer({ format: "cdxj" });
      const theirs: string[] = [];
      for await (const entry of indexer.iterIndex([
        { filename: name, reader: createReadStream(join(warcDir, name)) },
      ])) {
        theirs.push(indexer.serializeCDXJ(entry).trimEnd());
      }
      expect(ours, name).toEqual(theirs.sort());
    }
  });

  it("exports a WACZ that ReplayWeb.page replays in Chromium, showing the original page", async () => {
    const wacz = join(scratch, "crawl.wacz");
    const r = await runHeed([
      "export",
      "wacz",
      "--data-dir",
      join(scratch, "data"),
      "--crawl",
      crawlId,
      "--output",
      wacz,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      captures: number;
      pages: number;
      bytes: number;
      seconds: number;
    };
    expect(summary.bytes).toBe((await stat(wacz)).size);
    const entries = await readZip(wacz);
    expect(entries.filter((e) => e.name.startsWith("archive/")).map((e) => e.name.slice(8))).toEqual(
      await closedWarcs(),
    );
    const pages = (entries.find((e) => e.name === "pages/pages.jsonl")?.data.toString() ?? "").split("\n");
    expect(pages.some((l) => l.includes(`"url":"${pageUrl}"`))).toBe(true);
    if (chromium === undefined) {
      console.warn(
        "replay in Chromium skipped: chromium is not installed (scripts/test-deps.sh installs it as root)",
      );
      return;
    }
    const replay = await replayInBrowser({
      chromium,
      waczPath: wacz,
      url: pageUrl,
      expected: pageHeading,
      screenshot: join(OUTPUT, "replay-crawl.png"),
    });
    expect(pageHeading).not.toBe("");
    expect(replay.text).toContain(pageHeading);
    expect(pageTitle).not.toBe("");
  }, 90_000);
});

import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CDXIndexer } from "warcio";
import { type FixtureFile, writeFixtureWarc } from "../../../test/harness/warc-fixtures.js";
import { readZip } from "../../../test/harness/zip.js";
import {
  cdxjPathFor,
  formatCdxjLine,
  indexWarc,
  mergeCdxj,
  parseCdxjLine,
  toSurt,
  writeCdxjBeside,
  writeWacz,
} from "./index.js";

let dir: string;
let first: FixtureFile;
let second: FixtureFile;
let other: FixtureFile;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "heed-archive-"));
  first = await writeFixtureWarc(dir, "c1", [
    { url: "http://127.0.0.2:8080/robots.txt", contentType: "text/plain", body: "User-agent: *\nAllow: /\n" },
    { url: "http://127.0.0.2:8080/", body: "<html><title>Home</title><p>Hello\r\n\r\nthere</p></html>" },
    { url: "http://www.Example.com/b?z=1&a=2", body: "<p>b</p>" },
    { url: "http://127.0.0.2:8080/gone", status: 404, contentType: "text/plain", body: "no" },
  ]);
  second = await writeFixtureWarc(
    dir,
    "c1",
    [
      { url: "http://127.0.0.3:8080/a", body: "<p>a</p>", date: "2026-01-02T03:05:00.123Z" },
      {
        url: "http://127.0.0.3:8080/a-copy",
        body: "<p>a</p>",
        date: "2026-01-02T03:05:01.456Z",
        revisitOf: { url: "http://127.0.0.3:8080/a", date: "2026-01-02T03:05:00.123Z" },
      },
    ],
    { serial: 2 },
  );
  other = await writeFixtureWarc(dir, "c1-b", [{ url: "http://127.0.0.4/", body: "<p>other crawl</p>" }]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function warcioCdxj(file: FixtureFile): Promise<string[]> {
  const indexer = new CDXIndexer({ format: "cdxj" });
  const lines: string[] = [];
  for await (const result of indexer.iterIndex([
    { filename: file.name, reader: createReadStream(file.path) },
  ])) {
    lines.push(indexer.serializeCDXJ(result).trimEnd());
  }
  return lines.sort();
}

describe("SURT", () => {
  it("keys URLs as pywb and ReplayWeb.page do", () => {
    expect(toSurt("http://www.Example.com/b?z=1&a=2")).toBe("com,example)/b?a=2&z=1");
    expect(toSurt("https://www2.example.co.uk:8443/Path")).toBe("uk,co,example:8443)/path");
    expect(toSurt("http://127.0.0.2:8080/")).toBe("2,0,0,127:8080)/");
    expect(toSurt("urn:x")).toBe("urn:x");
  });
});

describe("CDXJ", () => {
  it("gives the same entries as warcio's own indexer over the same WARC files", async () => {
    for (const file of [first, second]) {
      const ours: string[] = [];
      for await (const entry of indexWarc(file.path)) ours.push(formatCdxjLine(entry));
      expect(ours.sort()).toEqual(await warcioCdxj(file));
    }
  });

  it("points each entry at a gzip member that holds exactly that record", async () => {
    const bytes = await readFile(first.path);
    for await (const entry of indexWarc(first.path)) {
      const member = gunzipSync(bytes.subarray(entry.offset, entry.offset + entry.length)).toString("latin1");
      expect(member.startsWith("WARC/1.1\r\n")).toBe(true);
      expect(member).toContain(`WARC-Target-URI: ${entry.url}\r\n`);
      expect(member.endsWith("\r\n\r\n")).toBe(true);
    }
  });

  it("writes a sorted index beside a closed WARC file, skipping requests, warcinfo and warc-fields metadata", async () => {
    const { path, entries } = await writeCdxjBeside(first.path);
    expect(path).toBe(cdxjPathFor(first.path));
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    expect(lines).toHaveLength(entries);
    expect(lines).toEqual([...lines].sort());
    const parsed = lines.map(parseCdxjLine);
    expect(parsed.map((e) => e.url).sort()).toEqual([
      "http://127.0.0.2:8080/",
      "http://127.0.0.2:8080/gone",
      "http://127.0.0.2:8080/robots.txt",
      // warcio's writer normalises the target URI it is given.
      "http://www.example.com/b?z=1&a=2",
    ]);
    const home = parsed.find((e) => e.url === "http://127.0.0.2:8080/");
    expect(home).toMatchObject({
      mime: "text/html",
      status: "200",
      filename: first.name,
      timestamp: "20260102030406",
    });
    expect(parsed.find((e) => e.url.endsWith("/gone"))?.status).toBe("404");
  });

  it("merges per-file indexes into one sorted crawl-wide index", async () => {
    await writeCdxjBeside(second.path);
    const merged: string[] = [];
    for await (const line of mergeCdxj([cdxjPathFor(first.path), cdxjPathFor(second.path)]))
      merged.push(line);
    const all = [
      ...(await readFile(cdxjPathFor(first.path), "utf8")).trimEnd().split("\n"),
      ...(await readFile(cdxjPathFor(second.path), "utf8")).trimEnd().split("\n"),
    ];
    expect(merged).toEqual(all.sort());
    expect(merged.map(parseCdxjLine).find((e) => e.url.endsWith("/a-copy"))?.mime).toBe("warc/revisit");
  });
});

describe("WACZ export", () => {
  it("packs one crawl's WARCs, index, pages and a datapackage whose hashes match", async () => {
    const output = join(dir, "c1.wacz");
    const out = createWriteStream(output);
    const summary = await writeWacz({ warcDir: dir, crawlId: "c1", output: out, software: "Heed test" });
    expect(out.writableFinished).toBe(true);
    expect(summary).toMatchObject({ warcFiles: 2, captures: 6, pages: 3 });

    const entries = await readZip(output);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect([...byName.keys()].sort()).toEqual(
      [
        `archive/${first.name}`,
        `archive/${second.name}`,
        "datapackage-digest.json",
        "datapackage.json",
        "indexes/index.cdx",
        "pages/pages.jsonl",
      ].sort(),
    );
    // The other crawl, whose id starts with this one's, stays out.
    expect(entries.some((e) => e.name.includes(basename(other.name)))).toBe(false);
    const warc = byName.get(`archive/${first.name}`);
    expect(warc?.compressionMethod).toBe(0);
    expect(warc?.data.equals(await readFile(first.path))).toBe(true);

    const datapackage = JSON.parse(byName.get("datapackage.json")?.data.toString() ?? "{}") as {
      wacz_version: string;
      resources: { path: string; hash: string; bytes: number }[];
    };
    expect(datapackage.wacz_version).toBe("1.1.1");
    expect(datapackage.resources.map((r) => r.path).sort()).toEqual(
      [...byName.keys()].filter((n) => !n.startsWith("datapackage")).sort(),
    );
    for (const resource of datapackage.resources) {
      const data = byName.get(resource.path)?.data ?? Buffer.alloc(0);
      expect(resource.bytes).toBe(data.length);
      expect(resource.hash).toBe(`sha256:${createHash("sha256").update(data).digest("hex")}`);
    }
    const digest = JSON.parse(byName.get("datapackage-digest.json")?.data.toString() ?? "{}") as {
      hash: string;
    };
    expect(digest.hash).toBe(
      `sha256:${createHash("sha256")
        .update(byName.get("datapackage.json")?.data ?? "")
        .digest("hex")}`,
    );

    const index = (byName.get("indexes/index.cdx")?.data.toString() ?? "").trimEnd().split("\n");
    expect(index).toEqual([...index].sort());
    expect(index).toHaveLength(6);
    const pages = (byName.get("pages/pages.jsonl")?.data.toString() ?? "").trimEnd().split("\n");
    expect(JSON.parse(pages[0] ?? "{}")).toMatchObject({ format: "json-pages-1.0" });
    expect(
      pages
        .slice(1)
        .map((l) => (JSON.parse(l) as { url: string }).url)
        .sort(),
    ).toEqual(["http://127.0.0.2:8080/", "http://127.0.0.3:8080/a", "http://www.example.com/b?z=1&a=2"]);
  });

  it("refuses a crawl with no closed WARC files, naming it", async () => {
    const out = createWriteStream(join(dir, "none.wacz"));
    await expect(writeWacz({ warcDir: dir, crawlId: "nope", output: out, software: "x" })).rejects.toThrow(
      /no closed WARC files of crawl nope/,
    );
    out.destroy();
  });
});

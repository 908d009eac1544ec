import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkWarc } from "./harness/warc-check.js";
import { type FixtureFile, writeFixtureWarc } from "./harness/warc-fixtures.js";

// The independent WARC checker is what end-to-end crawl tests trust; it must
// itself notice a record whose bytes no longer match its digests.
let dir: string;
let file: FixtureFile;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "heed-warc-check-"));
  file = await writeFixtureWarc(dir, "c1", [
    { url: "http://127.0.0.2/", body: "<p>blank\r\n\r\nlines\r\nWARC/1.1\r\n</p>" },
    { url: "http://127.0.0.2/img", contentType: "image/png", body: Buffer.from([0, 13, 10, 13, 10, 255]) },
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("independent WARC check", () => {
  it("reads every record of a well-formed file and finds every digest right", async () => {
    const report = await checkWarc(file.path);
    expect(report.problems).toEqual([]);
    expect(report.records.map((r) => r.type)).toEqual([
      "warcinfo",
      "response",
      "request",
      "metadata",
      "response",
      "request",
      "metadata",
    ]);
    expect(report.records[1]?.payload?.toString()).toBe("<p>blank\r\n\r\nlines\r\nWARC/1.1\r\n</p>");
  });

  it("reports a payload byte changed after writing", async () => {
    const whole = gunzipSync(await readFile(file.path));
    const at = whole.indexOf("<p>blank");
    whole[at + 1] = "q".charCodeAt(0);
    const broken = join(dir, "broken.warc.gz");
    await writeFile(broken, gzipSync(whole));
    const report = await checkWarc(broken);
    expect(report.problems.some((p) => p.includes("block digest does not match"))).toBe(true);
    expect(report.problems.some((p) => p.includes("payload digest does not match"))).toBe(true);
  });

  it("rejects, rather than waits, on a file that is not gzip-per-record WARC", async () => {
    const notWarc = join(dir, "index.cdxj");
    await writeFile(notWarc, "com,example)/ 20260101000000 {}\n");
    await expect(checkWarc(notWarc)).rejects.toThrow(/incorrect header check|unknown compression/i);
  });
});

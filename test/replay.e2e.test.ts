import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeWacz } from "@heed/archive";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replayInBrowser } from "./harness/browser-replay.js";
import { findChromium } from "./harness/replay.js";
import { writeFixtureWarc } from "./harness/warc-fixtures.js";

// ReplayWeb.page, in Debian's Chromium, replays a WACZ that Heed exported. Screenshots go to
// test-output/ (or $HEED_TEST_OUTPUT).
const OUTPUT = process.env.HEED_TEST_OUTPUT ?? fileURLToPath(new URL("../test-output/", import.meta.url));
const chromium = findChromium();
if (chromium === undefined) {
  console.warn(
    "replay tests skipped: Chromium is not installed and could not be (apt-get install -y chromium); " +
      "scripts/test-deps.sh installs it when run as root",
  );
}

let dir: string;
let wacz: string;
const PAGE = "http://127.0.0.2:8080/stories/1";
const TEXT = "The heron waits at the edge of the reeds";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "heed-replay-"));
  await writeFixtureWarc(join(dir, "warc"), "c1", [
    { url: "http://127.0.0.2:8080/robots.txt", contentType: "text/plain", body: "User-agent: *\nAllow: /\n" },
    {
      url: PAGE,
      body: `<!doctype html><html><head><title>Story 1</title></head><body><h1>Story 1</h1><p>${TEXT}.</p></body></html>`,
    },
  ]);
  wacz = join(dir, "c1.wacz");
  await writeWacz({ warcDir: join(dir, "warc"), crawlId: "c1", output: createWriteStream(wacz) });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("replay of an exported WACZ in a real browser", () => {
  it.skipIf(chromium === undefined)(
    "ReplayWeb.page shows the captured page's text",
    async () => {
      const result = await replayInBrowser({
        chromium: chromium as string,
        waczPath: wacz,
        url: PAGE,
        expected: TEXT,
        screenshot: join(OUTPUT, "replay-fixture.png"),
      });
      expect(result.text).toContain("Story 1");
      expect(result.frameUrl).toContain("/replay/w/");
    },
    90_000,
  );
});

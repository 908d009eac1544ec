import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { chromium as playwright } from "playwright-core";
import { CHROMIUM_ARGS, startReplayServer } from "./replay.js";

export interface ReplayResult {
  /** The replayed page's visible text, as the browser renders it. */
  text: string;
  /** The URL of the frame the page was replayed in. */
  frameUrl: string;
}

/**
 * Opens ReplayWeb.page in headless Chromium on a WACZ file and waits until the
 * frame replaying `url` shows `expected`; saves a screenshot. Only loopback is
 * reached: the replay reads the WACZ from a local server, never the original site.
 */
export async function replayInBrowser(options: {
  chromium: string;
  waczPath: string;
  url: string;
  expected: string;
  screenshot: string;
  timeoutMs?: number;
}): Promise<ReplayResult> {
  const server = await startReplayServer(options.waczPath);
  const browser = await playwright.launch({ executablePath: options.chromium, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    await page.goto(server.pageUrl(options.url));
    const deadline = Date.now() + (options.timeoutMs ?? 45_000);
    let last: ReplayResult = { text: "", frameUrl: "" };
    while (Date.now() < deadline) {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        const text = await frame
          .locator("body")
          // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered is what a reader sees
          .innerText({ timeout: 1_000 })
          .catch(() => "");
        if (text.includes(options.expected)) {
          await mkdir(dirname(options.screenshot), { recursive: true });
          await page.screenshot({ path: options.screenshot });
          return { text, frameUrl: frame.url() };
        }
        if (text !== "") last = { text, frameUrl: frame.url() };
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await mkdir(dirname(options.screenshot), { recursive: true });
    await page.screenshot({ path: options.screenshot }).catch(() => {});
    throw new Error(
      `ReplayWeb.page did not show "${options.expected}" for ${options.url}; last frame ${last.frameUrl}: ${last.text.slice(0, 300)}; ` +
        `requests: ${server.requests.slice(-10).join(", ")}`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
}

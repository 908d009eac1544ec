import { Parser } from "htmlparser2";
import { Agent, request } from "undici";
import { type BenchMessage, ready, serveParent } from "./child.js";

/**
 * The raw polite crawler: one process, undici and htmlparser2, no frontier.
 * Each host is fetched in its own loop: robots.txt, then its pages one at a
 * time, each started `delayMs` after the previous one ended. Links are
 * extracted (and dropped) as a crawler would. `crawl` answers when every
 * host is done or `seconds` have passed.
 */
const agent = new Agent({ connections: 1, pipelining: 1 });
let stopAt = Number.POSITIVE_INFINITY;

function links(html: string, base: string): string[] {
  const out: string[] = [];
  const parser = new Parser({
    onopentag(name, attrs) {
      if (name !== "a" || attrs.href === undefined) return;
      try {
        out.push(new URL(attrs.href, base).href);
      } catch {
        // Unusable links are skipped, as any crawler does.
      }
    },
  });
  parser.write(html);
  parser.end();
  return out;
}

async function get(url: string): Promise<string> {
  const res = await request(url, {
    dispatcher: agent,
    headers: { "user-agent": "HeedBenchRaw/0.1 (+mailto:bench@example.org)" },
  });
  return res.body.text();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function crawlHost(origin: string, pages: number, delayMs: number): Promise<number> {
  let done = 0;
  await get(`${origin}/robots.txt`);
  for (let j = 0; j < pages && Date.now() < stopAt; j++) {
    // A few ms of margin: the site logs a response's end after the client has read it.
    await sleep(delayMs + 5);
    if (Date.now() >= stopAt) break;
    const url = `${origin}/p/${j}`;
    links(await get(url), url);
    done++;
  }
  return done;
}

serveParent(
  {
    crawl: async (msg: BenchMessage) => {
      const origins = msg.origins as string[];
      const seconds = msg.seconds as number | undefined;
      if (seconds !== undefined) stopAt = Date.now() + seconds * 1000;
      const done = await Promise.all(
        origins.map((o) => crawlHost(o, Number(msg.pagesPerHost), Number(msg.delayMs))),
      );
      return { type: "crawled", pages: done.reduce((a, b) => a + b, 0) };
    },
  },
  () => agent.close(),
);
ready();

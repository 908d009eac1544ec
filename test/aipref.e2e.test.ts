/**
 * AI-use preferences end to end, on loopback sites that each speak through one
 * signal (robots.txt Content-Usage, the Content-Usage header) or through
 * conflicting ones (header against TDMRep meta, robots.txt against header).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { waitForCrawl } from "@heed/coordinator";
import type { CrawlPurpose } from "@heed/shared";
import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";
import { runHeedctl } from "./harness/processes.js";
import { type CheckedRecord, checkWarc } from "./harness/warc-check.js";

let sites: TinySite[] = [];
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  for (const s of sites) await s.close();
  cluster = undefined;
  sites = [];
});

const html = (body: string, headers: Record<string, string> = {}) => ({
  status: 200,
  headers: { "content-type": "text/html", ...headers },
  body,
});

/** A site from a table of paths; anything else is a 404. */
async function site(
  address: string,
  routes: Record<string, ReturnType<typeof html> | string>,
): Promise<TinySite> {
  const s = await startTinySite(address, (req, res) => {
    const route = routes[req.url ?? ""];
    if (route === undefined) return res.writeHead(404).end();
    if (typeof route === "string") return res.writeHead(200, { "content-type": "text/plain" }).end(route);
    res.writeHead(route.status, route.headers).end(route.body);
  });
  sites.push(s);
  return s;
}

async function crawl(seeds: string[], purposes: CrawlPurpose[]) {
  cluster ??= await startCluster({ workers: 1, coordinator: { httpListen: "127.0.0.1:0" } });
  const c = cluster.coordinator.frontier.createCrawl(crawlSpec(seeds, { purposes }));
  await waitForCrawl(cluster.coordinator.frontier, c.id, { timeoutMs: 20_000 });
  const frontier = cluster.coordinator.frontier;
  return { id: c.id, url: (u: string) => frontier.url(c.id, u) };
}

const paths = (s: TinySite) => s.requests.map((r) => r.path);

/** A crawl's WARC records so far, read by an independent parser (files still open too: a reported record is whole). */
async function recordsOf(crawlId: string): Promise<CheckedRecord[]> {
  const dir = join(cluster?.dataDir as string, "warc");
  const out: CheckedRecord[] = [];
  for (const name of readdirSync(dir).filter((n) => n.startsWith(`heed-${crawlId}-`))) {
    const report = await checkWarc(join(dir, name));
    expect(report.problems).toEqual([]);
    out.push(...report.records);
  }
  return out;
}

const ofUrl = (records: CheckedRecord[], url: string) =>
  records.filter((r) => r.targetUri === url).map((r) => ({ type: r.type, block: r.block.toString("utf8") }));

describe("AI-use preferences", () => {
  it("skips, unfetched, what robots.txt Content-Usage refuses for a declared purpose, and says so", async () => {
    const a = await site("127.0.0.71", {
      "/robots.txt": "User-agent: *\nAllow: /\nContent-Usage: / train-ai=n\nContent-Usage: /ok/ train-ai=y\n",
      "/no": html("<p>no</p>"),
      "/ok/yes": html("<p>yes</p>"),
    });
    const c = await crawl([`${a.origin}/no`, `${a.origin}/ok/yes`], ["archive", "ai-training"]);
    expect(paths(a).sort()).toEqual(["/ok/yes", "/robots.txt"]);
    const no = c.url(`${a.origin}/no`);
    expect(no?.state).toBe("skipped");
    expect(no?.reason).toBe("content_usage");
    expect(no?.preferences).toEqual([
      {
        purpose: "ai-training",
        category: "train-ai",
        decision: "disallowed",
        signal: "robots-content-usage",
        line: 3,
      },
    ]);
    expect(c.url(`${a.origin}/ok/yes`)?.state).toBe("done");
    expect(c.url(`${a.origin}/ok/yes`)?.preferences?.[0]?.decision).toBe("allowed");

    // An archive-only crawl is not refused by AI preferences: archiving is no category of the vocabulary.
    const archive = await crawl([`${a.origin}/no`], ["archive"]);
    expect(archive.url(`${a.origin}/no`)?.state).toBe("done");

    // Operators see it: heedctl url show, and the metrics.
    const shown = await runHeedctl(["url", "show", c.id, `${a.origin}/no`], {
      timeoutMs: 30_000,
      env: { HEED_SERVER: `127.0.0.1:${cluster?.coordinator.grpcPort}`, HEED_TOKEN: "", HEEDCTL_CONFIG: "" },
    });
    expect(shown.stderr).toBe("");
    expect(shown.stdout).toMatch(
      /use: ai-training\s+disallowed by robots-content-usage \(robots.txt line 3\) \[train-ai\]/,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${cluster?.coordinator.httpPort}/metrics`)).text();
    expect(metrics).toMatch(
      /heed_preference_refusals_total\{purpose="ai-training",signal="robots-content-usage",stage="before_fetch"\} 1/,
    );
  });

  it("records a refusal that arrives in the Content-Usage header, and keeps a page refused for every purpose not at all", async () => {
    const b = await site("127.0.0.72", {
      "/robots.txt": "User-agent: *\nAllow: /\n",
      "/page": html(`<a href="/next">next</a>`, { "content-usage": "train-ai=n, search=y" }),
      "/next": html("<p>next</p>"),
    });
    const training = await crawl([`${b.origin}/page`], ["ai-training"]);
    const page = training.url(`${b.origin}/page`);
    expect(page?.state).toBe("skipped");
    expect(page?.reason).toBe("content_usage");
    expect(page?.preferences?.[0]).toMatchObject({ decision: "disallowed", signal: "content-usage-header" });
    // Fetched (the header can only be read so), its links followed, since robots.txt allows crawling.
    expect(paths(b)).toContain("/page");
    expect(training.url(`${b.origin}/next`)?.state).toBe("done");
    // Not kept: no response record, but the request and the evidence of why remain in the WARC.
    const refused = ofUrl(await recordsOf(training.id), `${b.origin}/page`);
    expect(refused.map((r) => r.type).sort()).toEqual(["metadata", "request"]);
    const why = refused.find((r) => r.type === "metadata")?.block ?? "";
    expect(why).toContain("heed-refused-purpose: ai-training (train-ai=n, content-usage-header)");
    expect(why).toContain("heed-content-usage: train-ai=n, search=y");
    expect(why).toMatch(/heed-not-kept: response not kept: its AI-use preferences refuse every purpose/);
    expect(page?.result?.capture).toBeUndefined();
    expect(ofUrl(await recordsOf(training.id), `${b.origin}/next`).map((r) => r.type)).toContain("response");

    const both = await crawl([`${b.origin}/page`], ["search", "ai-training"]);
    expect(both.url(`${b.origin}/page`)?.state).toBe("done");
    // Kept for search, and the WARC says which purpose it must not serve.
    const kept = ofUrl(await recordsOf(both.id), `${b.origin}/page`);
    expect(kept.map((r) => r.type).sort()).toEqual(["metadata", "request", "response"]);
    const evidence = kept.find((r) => r.type === "metadata")?.block ?? "";
    expect(evidence).toContain("heed-refused-purpose: ai-training (train-ai=n, content-usage-header)");
    expect(evidence).not.toContain("heed-not-kept");
    expect(both.url(`${b.origin}/page`)?.preferences).toEqual([
      { purpose: "search", category: "search", decision: "allowed", signal: "content-usage-header" },
      {
        purpose: "ai-training",
        category: "train-ai",
        decision: "disallowed",
        signal: "content-usage-header",
      },
    ]);
  });

  it("takes the strictest of conflicting signals and names the one that decided", async () => {
    const c = await site("127.0.0.73", {
      "/robots.txt": "User-agent: *\nAllow: /\nContent-Usage: / train-ai=y, ai-use=y\n",
      // robots.txt says yes, the header says no.
      "/header-no": html("<p>x</p>", { "content-usage": "train-ai=n" }),
      // The header says yes, the TDMRep meta tag reserves mining.
      "/meta-reserved": html(`<meta name="tdm-reservation" content="1"><p>x</p>`, {
        "content-usage": "ai-use=y",
      }),
      "/all-yes": html("<p>x</p>", { "content-usage": "train-ai=y" }),
    });
    const run = await crawl(
      [`${c.origin}/header-no`, `${c.origin}/meta-reserved`, `${c.origin}/all-yes`],
      ["archive", "ai-training", "ai-use"],
    );
    expect(run.url(`${c.origin}/header-no`)?.preferences).toEqual([
      {
        purpose: "ai-training",
        category: "train-ai",
        decision: "disallowed",
        signal: "content-usage-header",
      },
      { purpose: "ai-use", category: "ai-use", decision: "allowed", signal: "robots-content-usage", line: 3 },
    ]);
    expect(run.url(`${c.origin}/meta-reserved`)?.preferences).toEqual([
      { purpose: "ai-training", category: "train-ai", decision: "disallowed", signal: "tdm-reservation" },
      { purpose: "ai-use", category: "ai-use", decision: "disallowed", signal: "tdm-reservation" },
    ]);
    expect(run.url(`${c.origin}/all-yes`)?.preferences?.map((p) => p.decision)).toEqual([
      "allowed",
      "allowed",
    ]);
    // Archiving is still declared, so these pages are kept for it.
    expect(run.url(`${c.origin}/meta-reserved`)?.state).toBe("done");
  });
});

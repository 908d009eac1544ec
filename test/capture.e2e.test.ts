import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { proto } from "@heed/shared";
import { createWarcWriter, type Exchange, type WarcWriter } from "@heed/worker";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keepCapture } from "../services/worker/src/capture/keep.js";
import { fetchLease } from "../services/worker/src/fetch/fetch-lease.js";
import { guardedLookup } from "../services/worker/src/fetch/guard.js";
import { testLogger } from "./harness/cluster.js";
import { type CheckedRecord, checkWarc } from "./harness/warc-check.js";

const log = testLogger();
const PAGE = `<html><body><a href="/a">a</a></body></html>`;
const ZIPPED = gzipSync("<p>zipped body</p>");
const BOMB = gzipSync(Buffer.alloc(20_000_000, 0x41));
let server: Server;
let base: string;
const open = new Agent();
const guarded = new Agent({ connect: { lookup: guardedLookup } });
const dirs: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case "/page":
        res.writeHead(200, "Fine Thanks", [
          ["Content-Type", "text/html"],
          ["X-Dup", "one"],
          ["x-dup", "two"],
        ]);
        res.end(PAGE);
        return;
      case "/gzip":
        res.writeHead(200, { "content-type": "text/html", "content-encoding": "gzip" }).end(ZIPPED);
        return;
      case "/moved":
        res.writeHead(301, { location: "/page", "content-type": "text/plain" }).end("moved to /page");
        return;
      case "/r/robots.txt":
        res.writeHead(302, { location: "/robots.txt" }).end();
        return;
      case "/robots.txt":
        res.writeHead(200, { "content-type": "text/plain" }).end("User-agent: *\nAllow: /\n");
        return;
      case "/unavailable":
        res.writeHead(503, { "retry-after": "5" }).end("busy");
        return;
      case "/big":
        res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.alloc(200_000, 7));
        return;
      case "/bomb":
        res.writeHead(200, { "content-type": "text/html", "content-encoding": "gzip" }).end(BOMB);
        return;
      case "/reset":
        res.writeHead(200, { "content-type": "text/html", "content-length": "100000" });
        res.write("<a href='/partial'>partial</a>");
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      default:
        res.writeHead(404, { "content-type": "text/plain" }).end("not here");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await Promise.all([open.close(), guarded.close()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "heed-warc-"));
  dirs.push(d);
  return d;
}

function lease(path: string, kind = proto.LeaseKind.LEASE_KIND_PAGE): proto.Lease {
  const now = Date.now();
  return proto.Lease.fromPartial({
    id: `lease-${path}-${Math.random().toString(36).slice(2)}`,
    crawlId: "c1",
    url: `${base}${path}`,
    kind,
    issuedAtMs: now,
    notBeforeMs: now,
    expiresAtMs: now + 10_000,
    attempt: 1,
    userAgent: "HeedBot/0.1 (+mailto:ops@example.org)",
    from: "ops@example.org",
    allowPrivateAddresses: true,
    limits: { timeoutMs: 5000, maxBytes: 100_000, maxRedirects: 5, maxOutlinks: 100 },
    evidence: {
      robotsUrl: `${base}/robots.txt`,
      robotsDigest: "d".repeat(64),
      robotsVerdict: "robots_allowed",
      robotsLine: 2,
      robotsRule: "Allow: /",
      delayMs: 250,
      delaySource: "min_delay",
      politenessKeys: ["127.0.0.1", "ip:127.0.0.1"],
    },
  });
}

/** Fetches a lease and keeps its capture, as a worker does. */
async function fetchAndKeep(writer: WarcWriter, l: proto.Lease): Promise<proto.FetchResult> {
  const exchanges: Exchange[] = [];
  const result = await fetchLease(
    l,
    { guarded, open, allowPrivateAddresses: true, onExchange: (ex) => exchanges.push(ex) },
    undefined,
  );
  return keepCapture(writer, l, result, exchanges, log);
}

/** The one record at a capture location, read on its own (gzip member per record). */
function recordAt(dir: string, loc: proto.CaptureLocation): { head: string; block: Buffer } {
  const bytes = readFileSync(join(dir, loc.file)).subarray(loc.offset, loc.offset + loc.length);
  const text = gunzipSync(bytes);
  const end = text.indexOf("\r\n\r\n");
  return { head: text.subarray(0, end).toString("latin1"), block: text.subarray(end + 4) };
}

async function allRecords(dir: string): Promise<CheckedRecord[]> {
  const out: CheckedRecord[] = [];
  for (const name of readdirSync(dir).sort()) {
    const report = await checkWarc(join(dir, name));
    expect(report.problems).toEqual([]);
    expect(report.records[0]?.type).toBe("warcinfo");
    out.push(...report.records);
  }
  return out;
}

describe("captures", () => {
  it("records every exchange as it came, durable at the reported location, with its evidence", async () => {
    const dir = tempDir();
    const closed: string[] = [];
    const writer = createWarcWriter({
      dir,
      workerId: "w1",
      maxBytes: 1_000_000_000,
      software: "Heed/test",
      log,
      onClosed: (p) => {
        closed.push(p);
      },
    });
    const page = await fetchAndKeep(writer, lease("/page"));
    const gz = await fetchAndKeep(writer, lease("/gzip"));
    const moved = await fetchAndKeep(writer, lease("/moved"));
    // A robots.txt redirect and its hop: two leases, each exchange captured.
    const hop = await fetchAndKeep(writer, lease("/r/robots.txt", proto.LeaseKind.LEASE_KIND_ROBOTS));
    const robots = await fetchAndKeep(writer, lease("/robots.txt", proto.LeaseKind.LEASE_KIND_ROBOTS));
    const busy = await fetchAndKeep(writer, lease("/unavailable"));
    const missing = await fetchAndKeep(writer, lease("/missing"));
    // Durable before close: the location is readable while the file is still open.
    const openName = readdirSync(dir).find((n) => n.endsWith(".open"));
    expect(openName).toBe(`${page.capture?.file}.open`);
    expect(
      recordAt(dir, { ...(page.capture as proto.CaptureLocation), file: openName as string }).head,
    ).toMatch(/^WARC\/1\.1\r\n/);
    await writer.close();
    expect(readdirSync(dir).filter((n) => n.endsWith(".open"))).toEqual([]);
    expect(closed).toEqual([join(dir, page.capture?.file as string)]);
    expect(page.capture?.file).toMatch(/^heed-c1-w1-\d{17}-00001\.warc\.gz$/);

    for (const [r, path, status] of [
      [page, "/page", 200],
      [gz, "/gzip", 200],
      [moved, "/moved", 301],
      [hop, "/r/robots.txt", 302],
      [robots, "/robots.txt", 200],
      [busy, "/unavailable", 503],
      [missing, "/missing", 404],
    ] as const) {
      expect(r.capture, path).toBeDefined();
      const rec = recordAt(dir, r.capture as proto.CaptureLocation);
      expect(rec.head).toContain("WARC-Type: response");
      expect(rec.head).toContain(`WARC-Target-URI: ${base}${path}`);
      expect(rec.head).toMatch(/WARC-Date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
      expect(rec.head).toContain("WARC-IP-Address: 127.0.0.1");
      expect(rec.block.toString("latin1")).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    }
    // Status line and headers as received: reason phrase, case, order and repeats kept.
    expect(recordAt(dir, page.capture as proto.CaptureLocation).block.toString("latin1")).toMatch(
      /^HTTP\/1\.1 200 Fine Thanks\r\nContent-Type: text\/html\r\nX-Dup: one\r\nx-dup: two\r\n/,
    );

    const records = await allRecords(dir);
    const responses = records.filter((r) => r.type === "response");
    // The robots.txt redirect is captured too.
    expect(responses.map((r) => r.targetUri).sort()).toEqual(
      [
        `${base}/page`,
        `${base}/gzip`,
        `${base}/moved`,
        `${base}/r/robots.txt`,
        `${base}/robots.txt`,
        `${base}/unavailable`,
        `${base}/missing`,
      ].sort(),
    );
    // Content-encoding kept: the payload is the gzip the server sent.
    const zipped = responses.find((r) => r.targetUri === `${base}/gzip`);
    expect(zipped?.payload?.equals(ZIPPED)).toBe(true);
    expect(responses.find((r) => r.targetUri === `${base}/moved`)?.payload?.toString()).toBe(
      "moved to /page",
    );
    for (const resp of responses) {
      const request = records.find((r) => r.type === "request" && r.concurrentTo === resp.recordId);
      expect(request?.block.toString("latin1")).toMatch(
        /^GET \S+ HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\nuser-agent: HeedBot/,
      );
      const meta = records.find((r) => r.type === "metadata" && r.concurrentTo === resp.recordId);
      const fields = meta?.block.toString("utf8") ?? "";
      expect(fields).toContain("heed-robots-digest: dddd");
      expect(fields).toContain("heed-robots-line: 2\r\nheed-robots-rule: Allow: /\r\n");
      expect(fields).toContain("heed-delay-ms: 250\r\nheed-delay-source: min_delay\r\n");
      expect(fields).toContain("heed-politeness-key: 127.0.0.1\r\nheed-politeness-key: ip:127.0.0.1\r\n");
      expect(fields).toMatch(/heed-lease-id: lease-\S+\r\nheed-worker-id: w1\r\n/);
    }
    const info = records[0]?.block.toString("utf8") ?? "";
    expect(info).toContain("http-header-user-agent: HeedBot/0.1 (+mailto:ops@example.org)");
    expect(info).toContain("isPartOf: c1");
    expect(info).toContain("robots: obey");
  });

  it("records hostile bodies truthfully: cut bodies say so, a reset body is not recorded", async () => {
    const dir = tempDir();
    const writer = createWarcWriter({ dir, workerId: "w1", maxBytes: 1e9, software: "Heed/test", log });
    const big = await fetchAndKeep(writer, lease("/big"));
    const bomb = await fetchAndKeep(writer, lease("/bomb"));
    const reset = await fetchAndKeep(writer, lease("/reset"));
    await writer.close();
    expect(reset.error).toBeDefined();
    expect(reset.capture).toBeUndefined();
    const records = await allRecords(dir);
    expect(records.filter((r) => r.targetUri === `${base}/reset`)).toEqual([]);
    const bigRec = records.find((r) => r.type === "response" && r.targetUri === `${base}/big`);
    expect(bigRec?.headers["WARC-Truncated"]).toBe("length");
    expect(bigRec?.payload?.length).toBe(100_000);
    expect(big.truncated).toBe(true);
    // The bomb's wire bytes are kept as they came: all of them, or a prefix marked as cut.
    const bombRec = records.find((r) => r.type === "response" && r.targetUri === `${base}/bomb`);
    const payload = bombRec?.payload ?? Buffer.alloc(0);
    expect(BOMB.subarray(0, payload.length).equals(payload)).toBe(true);
    if (bombRec?.headers["WARC-Truncated"] === undefined) expect(payload.length).toBe(BOMB.length);
    else expect(payload.length).toBeLessThan(BOMB.length);
    expect(bomb.truncated).toBe(true);
  });

  it("rotates at the size limit and closes a file left open by a dead writer at its last whole record", async () => {
    const dir = tempDir();
    const closed: string[] = [];
    const first = createWarcWriter({
      dir,
      workerId: "w1",
      maxBytes: 1500,
      software: "Heed/test",
      log,
      onClosed: (p) => {
        closed.push(p);
      },
    });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await fetchAndKeep(first, lease("/page")));
    // Every capture past the limit closed its file: four files, each closed and handed to the hook.
    expect(new Set(results.map((r) => r.capture?.file)).size).toBe(4);
    await first.close();
    expect(closed.map((p) => p.slice(dir.length + 1))).toEqual(results.map((r) => r.capture?.file));
    // A writer that dies mid-record: its file stays .open with half a record at the end.
    const dying = createWarcWriter({ dir, workerId: "w2", maxBytes: 1e9, software: "Heed/test", log });
    const kept = await fetchAndKeep(dying, lease("/page"));
    const openName = readdirSync(dir).find((n) => n.endsWith(".open")) as string;
    const whole = readFileSync(join(dir, openName)).length;
    const member = gzipSync("WARC/1.1\r\nWARC-Type: response\r\n".repeat(50));
    appendFileSync(join(dir, openName), member.subarray(0, member.length - 20));
    // A new writer on the directory (this process's pid stands for a previous run) closes it.
    const next = createWarcWriter({ dir, workerId: "w3", maxBytes: 1e9, software: "Heed/test", log });
    await next.close();
    expect(readdirSync(dir).filter((n) => n.endsWith(".open"))).toEqual([]);
    expect(readFileSync(join(dir, kept.capture?.file as string)).length).toBe(whole);
    expect(recordAt(dir, kept.capture as proto.CaptureLocation).head).toContain(
      `WARC-Target-URI: ${base}/page`,
    );
    expect((await allRecords(dir)).filter((r) => r.type === "response")).toHaveLength(5);
  });
});

import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { proto, silentLogger } from "@heed/shared";
import { createWarcWriter, type Exchange } from "@heed/worker";

export interface CaptureCpuFigures {
  captures: number;
  rounds: number;
  payloadBytes: number;
  rawCpuMsPerMiB: number;
  warcCpuMsPerMiB: number;
  rawBytes: number;
  warcBytes: number;
}

/** HTML-like bodies that compress like real pages (neither all-zero nor random). */
function body(i: number, size: number): Buffer {
  const words = ["archive", "library", "crawl", "polite", "robots", "heed", "page", "link", "web", String(i)];
  const parts: string[] = ["<html><body>"];
  let n = 12;
  for (let k = 0; n < size - 20; k++) {
    const w = `<p>${words[(k * 7 + i) % words.length]} ${(k * 2654435761) % 100000}</p>`;
    parts.push(w);
    n += w.length;
  }
  parts.push("</body></html>");
  return Buffer.from(parts.join("")).subarray(0, size);
}

function exchangeOf(i: number, bytes: Buffer): Exchange {
  return {
    url: `http://127.0.0.2/p/${i}`,
    startedAtMs: Date.now(),
    remoteAddress: "127.0.0.2",
    method: "GET",
    requestHeaders: [
      ["host", "127.0.0.2"],
      ["user-agent", "HeedBench/0.1 (+mailto:bench@example.org)"],
      ["accept", "text/html"],
      ["accept-encoding", "gzip, deflate, br"],
    ],
    status: 200,
    statusText: "OK",
    responseHeaders: [
      ["Content-Type", "text/html; charset=utf-8"],
      ["Content-Length", String(bytes.length)],
      ["Date", new Date().toUTCString()],
    ],
    body: [bytes],
    bodyBytes: bytes.length,
    truncated: false,
  };
}

const lease = proto.Lease.fromPartial({
  id: "bench-lease",
  crawlId: "bench",
  kind: proto.LeaseKind.LEASE_KIND_PAGE,
  userAgent: "HeedBench/0.1 (+mailto:bench@example.org)",
  evidence: {
    robotsDigest: "0".repeat(64),
    delayMs: 1000,
    delaySource: "min_delay",
    politenessKeys: ["127.0.0.2"],
  },
});

function cpuMs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

/**
 * CPU a worker spends per captured MiB: the WARC writer (warcio records,
 * digests, gzip per record, fsync per capture) against the least any capture
 * must do with the same bytes: gzip them and append them, with the same fsync.
 * Rounds alternate so both see the same machine.
 */
export async function captureCpuBenchmark(options: {
  captures: number;
  bodyBytes: number;
  rounds: number;
}): Promise<CaptureCpuFigures> {
  const bodies = Array.from({ length: options.captures }, (_, i) => body(i, options.bodyBytes));
  const payloadBytes = bodies.reduce((n, b) => n + b.length, 0);
  const dir = mkdtempSync(join(tmpdir(), "heed-bench-capture-"));
  const log = silentLogger();
  let rawMs = 0;
  let warcMs = 0;
  let rawBytes = 0;
  let warcBytes = 0;
  try {
    for (let round = 0; round < options.rounds; round++) {
      // Baseline: the same HTTP header block and body, gzipped and appended, fsynced per capture.
      const rawStart = process.cpuUsage();
      const file = await open(join(dir, `raw-${round}.gz`), "w");
      for (let i = 0; i < bodies.length; i++) {
        const ex = exchangeOf(i, bodies[i] as Buffer);
        const head = `HTTP/1.1 200 OK\r\n${ex.responseHeaders.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
        const gz = gzipSync(Buffer.concat([Buffer.from(head), bodies[i] as Buffer]));
        await file.write(gz);
        await file.sync();
        rawBytes += gz.length;
      }
      await file.close();
      rawMs += cpuMs(rawStart);

      const warcStart = process.cpuUsage();
      const writer = createWarcWriter({
        dir: join(dir, `warc-${round}`),
        workerId: "bench",
        maxBytes: 1e9,
        software: "Heed/bench",
        log,
      });
      for (let i = 0; i < bodies.length; i++)
        await writer.capture(lease, [exchangeOf(i, bodies[i] as Buffer)]);
      await writer.close();
      warcMs += cpuMs(warcStart);
      warcBytes += writer.stats().bytes;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mib = (payloadBytes * options.rounds) / 2 ** 20;
  return {
    captures: options.captures,
    rounds: options.rounds,
    payloadBytes,
    rawCpuMsPerMiB: rawMs / mib,
    warcCpuMsPerMiB: warcMs / mib,
    rawBytes,
    warcBytes,
  };
}

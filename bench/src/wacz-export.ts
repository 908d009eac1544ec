import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished, pipeline } from "node:stream/promises";
import { closedWarcFiles, writeCdxjBeside, writeFileAtomically, writeWacz } from "@heed/archive";
import { WARCRecord, WARCSerializer } from "warcio";

export interface WaczExportFigures {
  files: number;
  records: number;
  warcBytes: number;
  /** Copying the same WARC bytes into one file: the I/O floor (baseline). */
  copySeconds: number;
  indexSeconds: number;
  exportSeconds: number;
  waczBytes: number;
  /** Peak RSS growth during the export, to show it streams. */
  exportRssGrowthBytes: number;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** WARC files shaped like a crawl's: request + response per page, gzip per record, bodies part random. */
async function makeWarcs(
  dir: string,
  files: number,
  pagesPerFile: number,
  bodyBytes: number,
): Promise<number> {
  let records = 0;
  for (let f = 0; f < files; f++) {
    const chunks: Uint8Array[] = [];
    for (let p = 0; p < pagesPerFile; p++) {
      const url = `http://127.0.0.${2 + (p % 50)}:8080/p/${f}-${p}`;
      const text = `<html><body><p>page ${f}-${p}</p>${randomBytes(bodyBytes / 2).toString("hex")}</body></html>`;
      const response = WARCRecord.create(
        {
          url,
          type: "response",
          warcVersion: "WARC/1.1",
          statusline: "HTTP/1.1 200 OK",
          httpHeaders: { "Content-Type": "text/html" },
        },
        once(new TextEncoder().encode(text)),
      );
      const request = WARCRecord.create(
        { url, type: "request", warcVersion: "WARC/1.1", statusline: "GET / HTTP/1.1", httpHeaders: {} },
        once(new Uint8Array()),
      );
      chunks.push(await WARCSerializer.serialize(response, { gzip: true }));
      chunks.push(await WARCSerializer.serialize(request, { gzip: true }));
      records += 2;
    }
    const name = `heed-bench-w1-20260101000000000-${String(f).padStart(5, "0")}.warc.gz`;
    await writeFile(join(dir, name), Buffer.concat(chunks));
  }
  return records;
}

export async function waczExportBenchmark(options: {
  files: number;
  pagesPerFile: number;
  bodyBytes: number;
}): Promise<WaczExportFigures> {
  const dir = await mkdtemp(join(tmpdir(), "heed-bench-wacz-"));
  try {
    const records = await makeWarcs(dir, options.files, options.pagesPerFile, options.bodyBytes);
    const names = await closedWarcFiles(dir, "bench");
    let warcBytes = 0;
    for (const n of names) warcBytes += (await stat(join(dir, n))).size;

    let t = performance.now();
    const copy = createWriteStream(join(dir, "copy.bin"));
    for (const n of names) await pipeline(createReadStream(join(dir, n)), copy, { end: false });
    copy.end();
    await finished(copy);
    const copySeconds = (performance.now() - t) / 1000;
    await rm(join(dir, "copy.bin"));

    t = performance.now();
    for (const n of names) await writeCdxjBeside(join(dir, n));
    const indexSeconds = (performance.now() - t) / 1000;

    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    t = performance.now();
    const output = join(dir, "bench.wacz");
    await writeFileAtomically(output, (out) => writeWacz({ warcDir: dir, crawlId: "bench", output: out }));
    const exportSeconds = (performance.now() - t) / 1000;
    clearInterval(sampler);
    return {
      files: names.length,
      records,
      warcBytes,
      copySeconds,
      indexSeconds,
      exportSeconds,
      waczBytes: (await stat(output)).size,
      exportRssGrowthBytes: Math.max(0, peak - before),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

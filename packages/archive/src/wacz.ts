import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { HeedError } from "@heed/shared";
import { ZipFile } from "yazl";
import { parseCdxjLine, writeCdxjBeside } from "./cdxj.js";
import { mergeCdxj } from "./merge.js";
import { cdxjPathFor, closedWarcFiles } from "./names.js";

export const WACZ_VERSION = "1.1.1";

export interface WaczOptions {
  /** Directory holding the crawl's closed WARC files. */
  warcDir: string;
  crawlId: string;
  /** Where the package goes; it is ended once the package is complete and every byte was taken. */
  output: Writable;
  /** Written into datapackage.json as `software` (default "Heed"). */
  software?: string;
  title?: string;
  now?: () => Date;
}

export interface WaczSummary {
  warcFiles: number;
  captures: number;
  pages: number;
  /** Bytes of the package written to `output`. */
  bytes: number;
}

interface Resource {
  name: string;
  path: string;
  hash: string;
  bytes: number;
}

/** Passes bytes through while counting them and taking their sha256. */
function digesting(onDone: (hash: string, bytes: number) => void): Transform {
  const hash = createHash("sha256");
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      onDone(`sha256:${hash.digest("hex")}`, bytes);
      done();
    },
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function isoFromTimestamp(ts: string): string {
  return `${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)}T${ts.slice(8, 10)}:${ts.slice(10, 12)}:${ts.slice(12, 14)}Z`;
}

/** Pages a reader starts from: HTML that answered 200, each URL once. */
async function* pageLines(indexes: readonly string[], counted: { pages: number }): AsyncGenerator<string> {
  yield `${JSON.stringify({ format: "json-pages-1.0", id: "pages", title: "All Pages" })}\n`;
  const seen = new Set<string>();
  for await (const line of mergeCdxj(indexes)) {
    const entry = parseCdxjLine(line);
    if (entry.status !== "200") continue;
    if (entry.mime !== "text/html" && entry.mime !== "application/xhtml+xml") continue;
    if (seen.has(entry.url)) continue;
    seen.add(entry.url);
    counted.pages++;
    const id = createHash("sha256").update(`${entry.timestamp} ${entry.url}`).digest("hex").slice(0, 32);
    yield `${JSON.stringify({ id, url: entry.url, ts: isoFromTimestamp(entry.timestamp) })}\n`;
  }
}

async function* indexLines(
  indexes: readonly string[],
  counted: { captures: number },
): AsyncGenerator<string> {
  for await (const line of mergeCdxj(indexes)) {
    counted.captures++;
    yield `${line}\n`;
  }
}

/**
 * Pack a crawl's closed WARC files into a WACZ 1.1.1 package, streaming: each
 * WARC is read once, straight into the (stored, uncompressed) zip entry while
 * its sha256 is taken, and the crawl-wide index is a merge of the per-file
 * CDXJ indexes. datapackage.json comes last, once every hash is known. A WARC
 * without its index (closed before indexing ran) is indexed first.
 */
export async function writeWacz(options: WaczOptions): Promise<WaczSummary> {
  const files = await closedWarcFiles(options.warcDir, options.crawlId);
  if (files.length === 0) {
    throw new HeedError(
      "HEED_EXPORT_EMPTY",
      `no closed WARC files of crawl ${options.crawlId} in ${options.warcDir}`,
    );
  }
  const warcPaths = files.map((name) => join(options.warcDir, name));
  const indexes: string[] = [];
  for (const path of warcPaths) {
    const index = cdxjPathFor(path);
    if (!(await exists(index))) await writeCdxjBeside(path);
    indexes.push(index);
  }

  const now = (options.now ?? (() => new Date()))();
  const zip = new ZipFile();
  const resources: Resource[] = [];
  const counted = { captures: 0, pages: 0 };
  let written = 0;
  const out = pipeline(
    zip.outputStream,
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        written += chunk.length;
        done(null, chunk);
      },
    }),
    options.output,
  );
  const entryOptions = { mtime: now, compress: false };
  const finished: Promise<void>[] = [];
  function addStream(path: string, open: () => Readable, compress: boolean): void {
    let settle!: () => void;
    finished.push(new Promise<void>((resolve) => (settle = resolve)));
    zip.addReadStreamLazy(path, { ...entryOptions, compress }, (cb) => {
      const source = open();
      const hashing = digesting((hash, bytes) => {
        resources.push({ name: basename(path), path, hash, bytes });
        settle();
      });
      source.on("error", (err) => hashing.destroy(err));
      hashing.on("error", (err) => zip.outputStream.emit("error", err));
      cb(null, source.pipe(hashing));
    });
  }
  // WARCs are stored, not deflated, so replay tools can seek to a record's offset.
  for (const path of warcPaths) {
    addStream(`archive/${basename(path)}`, () => createReadStream(path), false);
  }
  addStream("indexes/index.cdx", () => Readable.from(indexLines(indexes, counted)), true);
  addStream("pages/pages.jsonl", () => Readable.from(pageLines(indexes, counted)), true);

  await Promise.race([Promise.all(finished), out]);
  const datapackage = Buffer.from(
    `${JSON.stringify(
      {
        profile: "data-package",
        wacz_version: WACZ_VERSION,
        title: options.title ?? `Heed crawl ${options.crawlId}`,
        created: now.toISOString(),
        modified: now.toISOString(),
        software: options.software ?? "Heed",
        resources: resources.map(({ name, path, hash, bytes }) => ({ name, path, hash, bytes })),
      },
      null,
      2,
    )}\n`,
  );
  const digest = {
    path: "datapackage.json",
    hash: `sha256:${createHash("sha256").update(datapackage).digest("hex")}`,
  };
  zip.addBuffer(datapackage, "datapackage.json", entryOptions);
  zip.addBuffer(Buffer.from(`${JSON.stringify(digest, null, 2)}\n`), "datapackage-digest.json", entryOptions);
  zip.end();
  await out;
  return { warcFiles: files.length, captures: counted.captures, pages: counted.pages, bytes: written };
}

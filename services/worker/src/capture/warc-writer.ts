import { mkdirSync } from "node:fs";
import { type FileHandle, open, rename } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { OPEN_SUFFIX } from "@heed/archive";
import { errorMessage, HeedError, type Logger, type proto } from "@heed/shared";
import type { Exchange } from "./exchange.js";
import { exchangeRecords, warcinfoRecord } from "./records.js";
import { recoverOpenWarcs } from "./recover.js";
import { warcFileName } from "./warc-name.js";

/** A capture could not be made durable: the fetch must not be reported done. */
export class CaptureError extends HeedError {
  override name = "CaptureError";
  constructor(message: string, cause: unknown) {
    super("HEED_CAPTURE_FAILED", message, { cause });
  }
}

export interface CaptureLocation {
  /** The closed file's base name (the file is `.open` until it is closed). */
  file: string;
  offset: number;
  length: number;
}

export interface WarcWriterOptions {
  dir: string;
  workerId: string;
  /** Close a file and start the next once it passes this size. */
  maxBytes: number;
  /** `Heed/<version> (warcio.js <version>)`, for the warcinfo record. */
  software: string;
  /** Called with the path of every closed file (after the rename): indexing and upload plug in here. */
  onClosed?: (path: string) => void | Promise<void>;
  log: Logger;
  clock?: () => number;
}

export interface WarcStats {
  dir: string;
  /** Files closed so far (and their paths). */
  files: string[];
  records: number;
  bytes: number;
}

export interface WarcWriter {
  /**
   * Writes the exchanges of one lease (each as response, request and
   * metadata records) and resolves once they are on disk (fsynced), with the
   * location of the last exchange's response record.
   */
  capture(lease: proto.Lease, exchanges: readonly Exchange[]): Promise<CaptureLocation | undefined>;
  /** Closes every open file (fsync, rename, onClosed). */
  close(): Promise<void>;
  stats(): WarcStats;
}

/** One crawl's file series: the file being written, and the writes waiting to be made durable. */
interface Series {
  crawlId: string;
  serial: number;
  file?: { handle: FileHandle; name: string; path: string; size: number };
  /** Writes are made one at a time, in order. */
  queue: Promise<void>;
  written: number;
  synced: number;
  syncing?: Promise<void>;
}

/**
 * Writes WARC 1.1 files, gzip per record, one series per crawl. A file is
 * written as `<name>.open`, fsynced and renamed when it is closed (past the
 * size limit, or at close()). Writes are made durable by group fsync: every
 * capture waiting at one moment shares one fsync.
 */
export function createWarcWriter(options: WarcWriterOptions): WarcWriter {
  const clock = options.clock ?? Date.now;
  const owner = `${hostname()} ${process.pid}`;
  mkdirSync(options.dir, { recursive: true });
  for (const r of recoverOpenWarcs(options.dir)) {
    options.log.warn(
      { file: r.path, cutBytes: r.cut, removed: r.removed },
      r.removed
        ? "removed a WARC file left open with no whole record"
        : "closed a WARC file left open by a writer that is gone",
    );
    if (!r.removed) void closedHook(r.path);
  }
  const series = new Map<string, Series>();
  const stats: WarcStats = { dir: options.dir, files: [], records: 0, bytes: 0 };

  async function closedHook(path: string): Promise<void> {
    try {
      await options.onClosed?.(path);
    } catch (err) {
      options.log.error({ file: path, err: errorMessage(err) }, "WARC closed-file hook failed");
    }
  }

  function seriesOf(crawlId: string): Series {
    let s = series.get(crawlId);
    if (s === undefined) {
      s = { crawlId, serial: 0, queue: Promise.resolve(), written: 0, synced: 0 };
      series.set(crawlId, s);
    }
    return s;
  }

  /** Runs `fn` after every write queued before it. */
  function serially<T>(s: Series, fn: () => Promise<T>): Promise<T> {
    const run = s.queue.then(fn);
    s.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async function openFile(s: Series, lease: proto.Lease): Promise<NonNullable<Series["file"]>> {
    const now = clock();
    s.serial++;
    const name = warcFileName(s.crawlId, options.workerId, now, s.serial);
    const path = join(options.dir, name + OPEN_SUFFIX);
    const handle = await open(path, "wx");
    const info = await warcinfoRecord(
      {
        filename: name,
        software: options.software,
        crawlId: s.crawlId,
        workerId: options.workerId,
        userAgent: lease.userAgent,
        from: lease.from,
        owner,
      },
      now,
    );
    await handle.write(info);
    stats.records++;
    stats.bytes += info.length;
    s.file = { handle, name, path, size: info.length };
    return s.file;
  }

  /** fsync, close, rename: the file is whole under its final name before anyone hears of it. */
  async function closeFile(s: Series): Promise<void> {
    const f = s.file;
    if (f === undefined) return;
    s.file = undefined;
    await s.syncing;
    await f.handle.sync();
    s.synced = s.written;
    await f.handle.close();
    const closed = join(options.dir, f.name);
    await rename(f.path, closed);
    await syncDir(options.dir);
    stats.files.push(closed);
    options.log.info({ file: f.name, bytes: f.size }, "WARC file closed");
    await closedHook(closed);
  }

  /** Resolves once every write made so far on `s` is on disk; concurrent callers share one fsync. */
  async function durable(s: Series, upTo: number): Promise<void> {
    while (s.synced < upTo) {
      if (s.syncing === undefined) {
        const f = s.file;
        const target = s.written;
        if (f === undefined) break;
        s.syncing = f.handle.sync().then(
          () => {
            s.synced = Math.max(s.synced, target);
            s.syncing = undefined;
          },
          (err: unknown) => {
            s.syncing = undefined;
            throw err;
          },
        );
      }
      await s.syncing;
    }
  }

  return {
    async capture(lease, exchanges) {
      if (exchanges.length === 0) return undefined;
      const built = await Promise.all(exchanges.map((ex) => exchangeRecords(ex, lease, options.workerId)));
      const s = seriesOf(lease.crawlId);
      const { location, seq } = await serially(s, async () => {
        const f = s.file ?? (await openFile(s, lease));
        let offset = f.size;
        let location: CaptureLocation | undefined;
        const buffers: Buffer[] = [];
        for (const b of built) {
          b.records.forEach((r, i) => {
            if (i === b.responseIndex) location = { file: f.name, offset, length: r.length };
            offset += r.length;
            buffers.push(r);
          });
        }
        const added = offset - f.size;
        try {
          const { bytesWritten } = await f.handle.writev(buffers);
          if (bytesWritten !== added) throw new Error(`short write: ${bytesWritten} of ${added} bytes`);
        } catch (err) {
          // Leave no partial record behind: later records must not follow garbage.
          await f.handle.truncate(f.size).catch(() => undefined);
          throw new CaptureError(`cannot write ${f.name}: ${errorMessage(err)}`, err);
        }
        f.size = offset;
        stats.records += buffers.length;
        stats.bytes += added;
        s.written++;
        return { location, seq: s.written };
      });
      try {
        await durable(s, seq);
      } catch (err) {
        throw new CaptureError(`cannot fsync WARC file: ${errorMessage(err)}`, err);
      }
      if (s.file !== undefined && s.file.size >= options.maxBytes) {
        const full = s.file;
        await serially(s, async () => {
          if (s.file === full) await closeFile(s);
        });
      }
      return location;
    },
    async close() {
      for (const s of series.values()) await serially(s, () => closeFile(s));
    },
    stats: () => ({ ...stats, files: [...stats.files] }),
  };
}

/** A rename is durable only once its directory is. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

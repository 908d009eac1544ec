import { mkdirSync } from "node:fs";
import { type FileHandle, open, rename } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { OPEN_SUFFIX } from "@heed/archive";
import { errorMessage, HeedError, type Logger, type proto } from "@heed/shared";
import type { Exchange } from "./exchange.js";
import {
  type ExchangeRecordOptions,
  type ExchangeRecords,
  exchangeRecords,
  type RecordFacts,
  warcinfoRecord,
} from "./records.js";
import { recoverOpenWarcs } from "./recover.js";
import { warcFileName } from "./warc-name.js";

/** A capture could not be made durable: the fetch must not be reported done. */
export class CaptureError extends HeedError {
  override name = "CaptureError";
  constructor(message: string, cause: unknown) {
    super("HEED_CAPTURE_FAILED", message, { cause });
  }
}

export interface CaptureLocation extends RecordFacts {
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
  /** The worker's Web Bot Auth key, named in the warcinfo of crawls that sign. */
  signer?: { keyid: string; signatureAgent: string };
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
  /** Revisit records written instead of a payload already held (identical-payload-digest). */
  revisits: number;
  /** Payload bytes those revisits did not store again. */
  revisitPayloadBytes: number;
}

export interface WarcWriter {
  /**
   * Writes the exchanges of one lease (each as response, request and
   * metadata records) and resolves once they are on disk (fsynced), with the
   * location of the last exchange's response record. With a `refusal` that
   * keeps nothing, the last exchange's response is left out (and there is no
   * location).
   */
  capture(
    lease: proto.Lease,
    exchanges: readonly Exchange[],
    options?: readonly (ExchangeRecordOptions | undefined)[],
  ): Promise<CaptureLocation | undefined>;
  /** Closes every open file (fsync, rename, onClosed). */
  close(): Promise<void>;
  stats(): WarcStats;
}

/** Captures waiting for the next group write. */
interface Pending {
  lease: proto.Lease;
  records: ExchangeRecords[];
  resolve: (location: CaptureLocation | undefined) => void;
  reject: (err: unknown) => void;
}

/** One crawl's file series: the file being written, and the captures waiting to be written. */
interface Series {
  crawlId: string;
  serial: number;
  file?: { handle: FileHandle; name: string; path: string; size: number };
  pending: Pending[];
  /** The group write under way, if any: one writev and one fdatasync for every capture waiting. */
  flushing?: Promise<void>;
}

/**
 * Writes WARC 1.1 files, gzip per record, one series per crawl. A file is
 * written as `<name>.open`, fsynced and renamed when it is closed (past the
 * size limit, or at close()). Captures are written and made durable in
 * groups: every capture waiting at one moment shares one writev and one
 * fdatasync, so a busy worker pays for the disk once per group, not per page.
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
  const stats: WarcStats = {
    dir: options.dir,
    files: [],
    records: 0,
    bytes: 0,
    revisits: 0,
    revisitPayloadBytes: 0,
  };

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
      s = { crawlId, serial: 0, pending: [] };
      series.set(crawlId, s);
    }
    return s;
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
        ...(lease.signRequests && options.signer !== undefined
          ? { webBotAuth: { keyid: options.signer.keyid, signatureAgent: options.signer.signatureAgent } }
          : {}),
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
    await f.handle.sync();
    await f.handle.close();
    const closed = join(options.dir, f.name);
    await rename(f.path, closed);
    await syncDir(options.dir);
    stats.files.push(closed);
    options.log.info({ file: f.name, bytes: f.size }, "WARC file closed");
    await closedHook(closed);
  }

  /** Writes every waiting capture of `s` in one go, makes it durable, then answers each. */
  async function writeGroup(s: Series, group: Pending[]): Promise<void> {
    const first = group[0];
    if (first === undefined) return;
    const f = s.file ?? (await openFile(s, first.lease));
    let offset = f.size;
    const buffers: Buffer[] = [];
    const locations = group.map((p) => {
      let location: CaptureLocation | undefined;
      for (const b of p.records) {
        const facts = b.record;
        if (b.responseIndex === undefined || facts === undefined) location = undefined;
        b.records.forEach((r, i) => {
          if (i === b.responseIndex && facts !== undefined)
            location = { file: f.name, offset, length: r.length, ...facts };
          offset += r.length;
          buffers.push(r);
        });
      }
      return location;
    });
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
    try {
      // fdatasync: the data and the file size, without the timestamps nobody reads back.
      await f.handle.datasync();
    } catch (err) {
      throw new CaptureError(`cannot fsync ${f.name}: ${errorMessage(err)}`, err);
    }
    stats.records += buffers.length;
    stats.bytes += added;
    for (const p of group) {
      for (const b of p.records) {
        // A 304's revisit saved the site a transfer, not the archive a stored payload.
        if (b.record?.revisit?.profile !== "identical-payload-digest") continue;
        stats.revisits++;
        stats.revisitPayloadBytes += b.payloadBytes;
      }
    }
    for (const [i, p] of group.entries()) p.resolve(locations[i]);
    if (f.size >= options.maxBytes) await closeFile(s);
  }

  /** Writes groups until nothing waits; one runs at a time per series. */
  function flush(s: Series): Promise<void> {
    s.flushing ??= (async () => {
      while (s.pending.length > 0) {
        const group = s.pending.splice(0);
        try {
          await writeGroup(s, group);
        } catch (err) {
          for (const p of group) p.reject(err);
        }
      }
    })().finally(() => {
      s.flushing = undefined;
    });
    return s.flushing;
  }

  return {
    async capture(lease, exchanges, recordOptions) {
      if (exchanges.length === 0) return undefined;
      const records = await Promise.all(
        exchanges.map((ex, i) => exchangeRecords(ex, lease, options.workerId, recordOptions?.[i])),
      );
      const s = seriesOf(lease.crawlId);
      const done = new Promise<CaptureLocation | undefined>((resolve, reject) =>
        s.pending.push({ lease, records, resolve, reject }),
      );
      void flush(s);
      return done;
    },
    async close() {
      for (const s of series.values()) {
        while (s.flushing !== undefined || s.pending.length > 0) await flush(s);
        await closeFile(s);
      }
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

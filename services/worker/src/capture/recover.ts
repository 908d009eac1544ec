import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { crc32, gunzipSync, inflateRawSync } from "node:zlib";
import { OPEN_SUFFIX } from "@heed/archive";

const WINDOW = 8 * 1024 * 1024;

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, offset);
  return buf.subarray(0, n);
}

/** Length of the gzip header at the start of `buf`, or -1 if it is not one (or is cut). */
function gzipHeaderLength(buf: Buffer): number {
  if (buf.length < 10 || buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8) return -1;
  const flags = buf[3] ?? 0;
  let at = 10;
  if (flags & 4) {
    if (buf.length < at + 2) return -1;
    at += 2 + buf.readUInt16LE(at);
  }
  for (const bit of [8, 16]) {
    if (flags & bit) {
      const end = buf.indexOf(0, at);
      if (end < 0) return -1;
      at = end + 1;
    }
  }
  if (flags & 2) at += 2;
  return at <= buf.length ? at : -1;
}

/**
 * The length of the whole gzip member at `offset`, or 0 if what is there is
 * not a whole, intact member (cut short by a crash, or damaged).
 */
export function memberLength(fd: number, offset: number, fileSize: number): number {
  let window = Math.min(WINDOW, fileSize - offset);
  for (;;) {
    const buf = readAt(fd, offset, window);
    const head = gzipHeaderLength(buf);
    if (head < 0) return 0;
    try {
      const { buffer, engine } = inflateRawSync(buf.subarray(head), { info: true }) as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      };
      const end = head + engine.bytesWritten + 8;
      if (end > buf.length) return 0;
      const crc = buf.readUInt32LE(end - 8);
      const size = buf.readUInt32LE(end - 4);
      if (crc !== crc32(buffer) || size !== buffer.length % 2 ** 32) return 0;
      return end;
    } catch {
      // Cut short: try a larger window unless the file has no more to give.
      if (window >= fileSize - offset) return 0;
      window = Math.min(window * 4, fileSize - offset);
    }
  }
}

/** Offset just past the last whole record (gzip member) of a WARC file. */
export function lastWholeRecordEnd(path: string): number {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    let offset = 0;
    while (offset < size) {
      const n = memberLength(fd, offset, size);
      if (n === 0) break;
      offset += n;
    }
    return offset;
  } finally {
    closeSync(fd);
  }
}

/** The `heed-owner` of a file's warcinfo record (`<hostname> <pid>`), if it can be read. */
export function ownerOf(path: string): { host: string; pid: number } | undefined {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const n = memberLength(fd, 0, size);
    if (n === 0) return undefined;
    const text = gunzipSync(readAt(fd, 0, n)).toString("utf8");
    const m = /^heed-owner: (\S+) (\d+)\r?$/m.exec(text);
    return m?.[1] !== undefined && m[2] !== undefined ? { host: m[1], pid: Number(m[2]) } : undefined;
  } finally {
    closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Recovered {
  path: string;
  /** Bytes cut off the end (a record being written when its writer died). */
  cut: number;
  /** Nothing whole was left: the file was removed. */
  removed: boolean;
}

/**
 * Closes the `.open` WARC files whose writer is gone (same host, process no
 * longer running): truncates each to its last whole record, fsyncs it and
 * renames it to its closed name. Files of live writers, or of other hosts
 * sharing the directory, are left alone.
 */
export function recoverOpenWarcs(dir: string, staleAfterMs = 60_000): Recovered[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: Recovered[] = [];
  const here = hostname();
  for (const name of names) {
    if (!name.endsWith(OPEN_SUFFIX)) continue;
    const path = join(dir, name);
    const owner = ownerOf(path);
    // Our own pid is a previous run of this container (recovery runs before this process opens a file).
    if (owner !== undefined && (owner.host !== here || (owner.pid !== process.pid && alive(owner.pid)))) {
      continue;
    }
    // No readable warcinfo: a file its writer died creating, unless it is being created right now.
    if (owner === undefined && Date.now() - statSync(path).mtimeMs < staleAfterMs) continue;
    out.push(closeRecovered(path));
  }
  return out;
}

function closeRecovered(path: string): Recovered {
  const size = statSync(path).size;
  const end = lastWholeRecordEnd(path);
  if (end === 0) {
    unlinkSync(path);
    return { path, cut: size, removed: true };
  }
  const fd = openSync(path, "r+");
  try {
    if (end < size) ftruncateSync(fd, end);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const closed = path.slice(0, -OPEN_SUFFIX.length);
  renameSync(path, closed);
  return { path: closed, cut: size - end, removed: false };
}

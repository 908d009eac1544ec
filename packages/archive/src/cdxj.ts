import { createReadStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { basename } from "node:path";
import { WARCParser, type WARCRecord } from "warcio";
import { cdxjPathFor } from "./names.js";
import { toSurt } from "./surt.js";

/** One capture in a CDXJ index, as pywb and ReplayWeb.page read it. */
export interface CdxjEntry {
  urlkey: string;
  /** 14 digits, UTC, from the record's WARC-Date. */
  timestamp: string;
  url: string;
  mime: string | undefined;
  status: string | undefined;
  digest: string | undefined;
  /** Compressed length and offset of the record in `filename`. */
  length: number;
  offset: number;
  filename: string;
}

/**
 * Records replay looks up: responses, revisits and resources; metadata too
 * unless it is only WARC fields. Requests and warcinfo are never looked up.
 */
function indexable(record: WARCRecord): boolean {
  const type = record.warcType;
  if (type === "request" || type === "warcinfo") return false;
  if ((type === "metadata" || type === "resource") && isWarcFields(record)) return false;
  return true;
}

function isWarcFields(record: WARCRecord): boolean {
  return record.warcContentType === "application/warc-fields";
}

function mimeOf(record: WARCRecord): string | undefined {
  const type = record.warcType;
  if (type === "revisit") return "warc/revisit";
  if (type === "response" || type === "request") {
    const value = record.httpHeaders?.headers.get("content-type");
    return value ? value.split(";", 1)[0]?.trim() : undefined;
  }
  return record.warcContentType ?? undefined;
}

function statusOf(record: WARCRecord): string | undefined {
  const type = record.warcType;
  if (type !== "response" && type !== "revisit") return undefined;
  const code = record.httpHeaders?.statusCode;
  return code === undefined || code === null ? undefined : String(code);
}

/**
 * Index one WARC file, record by record, without holding any payload in
 * memory. Offsets and lengths are of the gzip member each record is in, which
 * is what a replay tool seeks to.
 */
export async function* indexWarc(path: string, filename = basename(path)): AsyncGenerator<CdxjEntry> {
  const parser = new WARCParser(createReadStream(path), { parseHttp: true });
  for await (const record of parser) {
    await record.skipFully();
    if (!indexable(record)) continue;
    const url = record.warcTargetURI ?? "";
    const payloadDigest = record.warcPayloadDigest;
    yield {
      urlkey: toSurt(url),
      timestamp: (record.warcDate ?? "").replace(/[-:T]/g, "").slice(0, 14),
      url,
      mime: mimeOf(record),
      status: statusOf(record),
      digest: payloadDigest ? payloadDigest.slice(payloadDigest.indexOf(":") + 1) : undefined,
      length: parser.recordLength,
      offset: parser.offset,
      filename,
    };
  }
}

/** `urlkey timestamp {json}`: numbers as strings and absent fields left out, as pywb writes them. */
export function formatCdxjLine(entry: CdxjEntry): string {
  const fields: Record<string, string> = { url: entry.url };
  if (entry.mime !== undefined) fields.mime = entry.mime;
  if (entry.status !== undefined) fields.status = entry.status;
  if (entry.digest !== undefined) fields.digest = entry.digest;
  fields.length = String(entry.length);
  fields.offset = String(entry.offset);
  fields.filename = entry.filename;
  return `${entry.urlkey} ${entry.timestamp} ${JSON.stringify(fields)}`;
}

export function parseCdxjLine(line: string): CdxjEntry {
  const first = line.indexOf(" ");
  const second = line.indexOf(" ", first + 1);
  if (first < 0 || second < 0) throw new Error(`not a CDXJ line: ${line.slice(0, 200)}`);
  const json = JSON.parse(line.slice(second + 1)) as Record<string, string | undefined>;
  return {
    urlkey: line.slice(0, first),
    timestamp: line.slice(first + 1, second),
    url: json.url ?? "",
    mime: json.mime,
    status: json.status,
    digest: json.digest,
    length: Number(json.length),
    offset: Number(json.offset),
    filename: json.filename ?? "",
  };
}

/** Byte order, as `LC_ALL=C sort` gives and binary-searching readers expect. */
export function compareCdxjLines(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Write the sorted CDXJ index of a closed WARC file beside it (`<file>.cdxj`).
 * It is written to a temporary name, fsynced and renamed, so a reader never
 * sees half an index; a file's index is small (one line per capture), so the
 * lines are sorted in memory. Returns the index path and its line count.
 */
export async function writeCdxjBeside(warcPath: string): Promise<{ path: string; entries: number }> {
  const lines: string[] = [];
  for await (const entry of indexWarc(warcPath)) lines.push(formatCdxjLine(entry));
  lines.sort(compareCdxjLines);
  const target = cdxjPathFor(warcPath);
  const temp = `${target}.tmp`;
  const handle = await open(temp, "w");
  try {
    await handle.writeFile(lines.map((l) => `${l}\n`).join(""));
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temp, target);
  return { path: target, entries: lines.length };
}

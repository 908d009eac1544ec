import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import WARCStream, { type WarcStreamRecord } from "warc";

/**
 * Reads WARC files back with a parser Heed does not write with (`warc`, which
 * frames records by Content-Length, byte for byte) and recomputes every block
 * and payload digest. `node-warc` was tried first and set aside: its
 * line-based reader drops blank CRLF lines inside bodies, so it cannot verify
 * digests exactly.
 */
export interface CheckedRecord {
  type: string;
  targetUri: string | undefined;
  recordId: string | undefined;
  concurrentTo: string | undefined;
  contentType: string | undefined;
  blockDigest: string | undefined;
  payloadDigest: string | undefined;
  /** The bytes after the HTTP headers, for request/response/revisit records with an HTTP block. */
  payload: Buffer | undefined;
  block: Buffer;
  headers: Record<string, string>;
}

export interface CheckReport {
  records: CheckedRecord[];
  problems: string[];
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Whether `labelled` (`sha256:<hex or base32>`, `sha1:<base32>`) is the digest of `bytes`. */
export function digestMatches(labelled: string, bytes: Buffer): boolean {
  const colon = labelled.indexOf(":");
  const algo = labelled.slice(0, colon).toLowerCase().replace("-", "");
  const value = labelled.slice(colon + 1);
  if (algo !== "sha256" && algo !== "sha1" && algo !== "md5") return false;
  const raw = createHash(algo).update(bytes).digest();
  return (
    value.toLowerCase() === raw.toString("hex") || value.toUpperCase().replace(/=+$/, "") === base32(raw)
  );
}

function header(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v.trim();
  return undefined;
}

function httpPayload(type: string, contentType: string | undefined, block: Buffer): Buffer | undefined {
  if (type !== "response" && type !== "request" && type !== "revisit") return undefined;
  if (!contentType?.startsWith("application/http")) return undefined;
  const end = block.indexOf("\r\n\r\n");
  return end < 0 ? undefined : block.subarray(end + 4);
}

export async function checkWarc(path: string): Promise<CheckReport> {
  const records: CheckedRecord[] = [];
  const problems: string[] = [];
  const source = createReadStream(path);
  const gunzip = createGunzip();
  const parsed = WARCStream();
  // A read or gunzip error ends the loop below with that error, instead of leaving it waiting.
  source.on("error", (err) => parsed.destroy(err));
  gunzip.on("error", (err) => parsed.destroy(err));
  source.pipe(gunzip).pipe(parsed);
  for await (const raw of parsed as AsyncIterable<WarcStreamRecord>) {
    const headers = raw.headers;
    const type = header(headers, "WARC-Type") ?? "";
    const contentType = header(headers, "Content-Type");
    const block = raw.content;
    const record: CheckedRecord = {
      type,
      targetUri: header(headers, "WARC-Target-URI"),
      recordId: header(headers, "WARC-Record-ID"),
      concurrentTo: header(headers, "WARC-Concurrent-To"),
      contentType,
      blockDigest: header(headers, "WARC-Block-Digest"),
      payloadDigest: header(headers, "WARC-Payload-Digest"),
      payload: httpPayload(type, contentType, block),
      block,
      headers,
    };
    records.push(record);
    const where = `${path} record ${records.length} (${type} ${record.targetUri ?? ""})`;
    if (!/^WARC\/1\.[01]$/.test(raw.protocol.trim())) problems.push(`${where}: version line ${raw.protocol}`);
    if (Number(header(headers, "Content-Length")) !== block.length) {
      problems.push(
        `${where}: Content-Length ${header(headers, "Content-Length")} but block has ${block.length} bytes`,
      );
    }
    // WARC 1.1 makes block digests optional; Heed writes them on every record but warcinfo.
    if (record.blockDigest === undefined) {
      if (type !== "warcinfo") problems.push(`${where}: no WARC-Block-Digest`);
    } else if (!digestMatches(record.blockDigest, block))
      problems.push(`${where}: block digest does not match`);
    if (type === "response" || type === "request") {
      if (record.payloadDigest !== undefined) {
        if (record.payload === undefined) problems.push(`${where}: payload digest but no HTTP payload`);
        else if (!digestMatches(record.payloadDigest, record.payload)) {
          problems.push(`${where}: payload digest does not match`);
        }
      } else if (type === "response") problems.push(`${where}: no WARC-Payload-Digest`);
    }
  }
  return { records, problems };
}

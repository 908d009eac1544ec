import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { checkWarc } from "./warc-check.js";

/** A capture location as the frontier keeps it. */
export interface Located {
  url: string;
  capture?: { file: string; offset: number; length: number } | undefined;
}

/** The record at a location, read on its own (one gzip member), as WARC header lines and block. */
export function recordAt(
  dir: string,
  loc: { file: string; offset: number; length: number },
): { headers: Map<string, string>; block: Buffer } {
  const bytes = readFileSync(join(dir, loc.file)).subarray(loc.offset, loc.offset + loc.length);
  const text = gunzipSync(bytes);
  const end = text.indexOf("\r\n\r\n");
  const headers = new Map<string, string>();
  for (const line of text.subarray(0, end).toString("latin1").split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, block: text.subarray(end + 4) };
}

/**
 * What is wrong with a crawl's captures: a done URL without a readable response
 * record for it at its location, or a closed WARC file that an independent
 * parser finds broken (framing, lengths, block and payload digests).
 */
export async function captureProblems(dir: string, done: readonly Located[]): Promise<string[]> {
  const problems: string[] = [];
  const closed = readdirSync(dir).filter((n) => n.endsWith(".warc.gz"));
  for (const name of closed) problems.push(...(await checkWarc(join(dir, name))).problems);
  for (const u of done) {
    if (u.capture === undefined) {
      problems.push(`${u.url}: done without a capture location`);
      continue;
    }
    if (!closed.includes(u.capture.file)) {
      problems.push(`${u.url}: capture file ${u.capture.file} is not a closed WARC file`);
      continue;
    }
    try {
      const rec = recordAt(dir, u.capture);
      const type = rec.headers.get("warc-type");
      if (type !== "response" && type !== "revisit") problems.push(`${u.url}: record at location is ${type}`);
      if (rec.headers.get("warc-target-uri") !== u.url) {
        problems.push(`${u.url}: record at location is for ${rec.headers.get("warc-target-uri")}`);
      }
    } catch (err) {
      problems.push(`${u.url}: no readable record at ${JSON.stringify(u.capture)}: ${String(err)}`);
    }
  }
  return problems;
}

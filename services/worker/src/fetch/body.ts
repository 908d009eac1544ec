import { pipeline, type Readable, Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

export interface BodyRead {
  bytes: Buffer;
  /** The decoded body went past the cap and was cut there. */
  truncated: boolean;
  /** The body as it came off the wire (content-encoding kept), for the capture. */
  raw: Buffer[];
  rawBytes: number;
  /** The wire body ended: `raw` is all of it. False when reading stopped at the cap. */
  rawComplete: boolean;
}

function decoderFor(encoding: string): NodeJS.ReadWriteStream | undefined {
  switch (encoding.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return createGunzip();
    case "deflate":
      return createInflate();
    case "br":
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/** Encodings this worker can decode, for Accept-Encoding. */
export const ACCEPT_ENCODING = "gzip, deflate, br";

/**
 * Reads a response body, decoding its Content-Encoding, and stops at `maxBytes`
 * of decoded output, so neither a huge body nor a decompression bomb can take
 * more memory than the lease allows. The wire bytes are kept beside the decoded
 * ones (at most `maxBytes` of them too), with whether they are the whole body.
 */
export async function readBody(body: Readable, contentEncoding: string, maxBytes: number): Promise<BodyRead> {
  const decoder =
    contentEncoding === "" || contentEncoding === "identity" ? undefined : decoderFor(contentEncoding);
  if (contentEncoding !== "" && contentEncoding !== "identity" && decoder === undefined) {
    throw Object.assign(new Error(`unsupported content-encoding ${contentEncoding}`), {
      code: "HEED_UNSUPPORTED_ENCODING",
    });
  }
  if (decoder === undefined) return readPlain(body, maxBytes);
  const raw: Buffer[] = [];
  let rawBytes = 0;
  let rawComplete = false;
  let rawCut = false;
  const keepRaw = (chunk: Buffer) => {
    const room = maxBytes - rawBytes;
    if (chunk.length > room) rawCut = true;
    const kept = chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk;
    if (kept.length > 0) raw.push(kept);
    rawBytes += kept.length;
  };
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      keepRaw(chunk);
      done(null, chunk);
    },
    flush(done) {
      rawComplete = !rawCut;
      done();
    },
  });
  const source = pipeline(body, tap, decoder, () => {}) as unknown as AsyncIterable<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of source) {
    const room = maxBytes - size;
    if (chunk.length > room) {
      if (room > 0) chunks.push(chunk.subarray(0, room));
      size += Math.max(0, room);
      truncated = true;
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  if (truncated) {
    discard(body);
    discard(tap);
    discard(decoder as unknown as Readable);
  }
  return { bytes: Buffer.concat(chunks, size), truncated, raw, rawBytes, rawComplete };
}

/**
 * A body without Content-Encoding: the wire bytes are the decoded ones, so it
 * is read straight off the response, without a tap and a pipeline per page
 * (their streams and abort signals were a visible share of a worker's CPU).
 */
async function readPlain(body: Readable, maxBytes: number): Promise<BodyRead> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = maxBytes - size;
    if (chunk.length > room) {
      if (room > 0) chunks.push(chunk.subarray(0, room));
      size += Math.max(0, room);
      truncated = true;
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  if (truncated) discard(body);
  return {
    bytes: Buffer.concat(chunks, size),
    truncated,
    raw: chunks,
    rawBytes: size,
    rawComplete: !truncated,
  };
}

/** Drops a body we will not read; destroying it emits an abort error that nobody needs. */
export function discard(stream: Readable): void {
  stream.on("error", () => {});
  stream.destroy();
}

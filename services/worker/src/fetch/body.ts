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
  /** No content-encoding: `raw` holds the bytes of `bytes`, so a digest of one is the digest of the other. */
  plain: boolean;
}

function decoderOf(encoding: string): NodeJS.ReadWriteStream | undefined {
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

/**
 * The decoder for a Content-Encoding, or undefined when the body comes as it
 * is (none, or identity). Throws for an encoding this worker cannot decode.
 */
export function contentDecoder(contentEncoding: string): NodeJS.ReadWriteStream | undefined {
  if (contentEncoding === "" || contentEncoding === "identity") return undefined;
  const decoder = decoderOf(contentEncoding);
  if (decoder === undefined) {
    throw Object.assign(new Error(`unsupported content-encoding ${contentEncoding}`), {
      code: "HEED_UNSUPPORTED_ENCODING",
    });
  }
  return decoder;
}

/** Encodings this worker can decode, for Accept-Encoding. */
export const ACCEPT_ENCODING = "gzip, deflate, br";

/**
 * Reads an encoded response body through its decoder, and stops at `maxBytes`
 * of decoded output, so neither a huge body nor a decompression bomb can take
 * more memory than the lease allows. The wire bytes are kept beside the decoded
 * ones (at most `maxBytes` of them too), with whether they are the whole body.
 * (A body without content-encoding is collected as it comes: see get.ts.)
 */
export async function readDecoded(
  body: Readable,
  decoder: NodeJS.ReadWriteStream,
  maxBytes: number,
): Promise<BodyRead> {
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
  return { bytes: Buffer.concat(chunks, size), truncated, raw, rawBytes, rawComplete, plain: false };
}

/** Drops a body we will not read; destroying it emits an abort error that nobody needs. */
export function discard(stream: Readable): void {
  stream.on("error", () => {});
  stream.destroy();
}

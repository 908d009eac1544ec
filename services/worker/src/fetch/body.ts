import { pipeline, type Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

export interface BodyRead {
  bytes: Buffer;
  /** The decoded body went past the cap and was cut there. */
  truncated: boolean;
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
 * more memory than the lease allows.
 */
export async function readBody(body: Readable, contentEncoding: string, maxBytes: number): Promise<BodyRead> {
  const decoder =
    contentEncoding === "" || contentEncoding === "identity" ? undefined : decoderFor(contentEncoding);
  if (contentEncoding !== "" && contentEncoding !== "identity" && decoder === undefined) {
    throw Object.assign(new Error(`unsupported content-encoding ${contentEncoding}`), {
      code: "HEED_UNSUPPORTED_ENCODING",
    });
  }
  const source: AsyncIterable<Buffer> =
    decoder === undefined ? body : (pipeline(body, decoder, () => {}) as unknown as AsyncIterable<Buffer>);
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
    if (decoder !== undefined) discard(decoder as unknown as Readable);
  }
  return { bytes: Buffer.concat(chunks, size), truncated };
}

/** Drops a body we will not read; destroying it emits an abort error that nobody needs. */
export function discard(stream: Readable): void {
  stream.on("error", () => {});
  stream.destroy();
}

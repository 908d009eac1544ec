import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";

/**
 * Writes a file through `fill` under a `.part` name and renames it into place
 * only when everything was written: a failed or interrupted export never
 * leaves a file that looks complete.
 */
export async function writeFileAtomically<T>(path: string, fill: (out: Writable) => Promise<T>): Promise<T> {
  const partial = `${path}.part`;
  const out = createWriteStream(partial, { flush: true });
  try {
    const result = await fill(out);
    if (!out.writableEnded) out.end();
    await finished(out);
    await rename(partial, path);
    return result;
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}

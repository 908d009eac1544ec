import { createHash, hash } from "node:crypto";

/** `sha256:<hex>`, the digest form warcio writes and its indexer reads. */
export function sha256Digest(chunks: readonly Uint8Array[]): string {
  if (chunks.length === 1) return `sha256:${hash("sha256", chunks[0] as Uint8Array, "hex")}`;
  const h = createHash("sha256");
  for (const c of chunks) h.update(c);
  return `sha256:${h.digest("hex")}`;
}

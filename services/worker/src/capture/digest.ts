import { createHash } from "node:crypto";

/** `sha256:<hex>`, the digest form warcio writes and its indexer reads. */
export function sha256Digest(chunks: readonly Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const c of chunks) hash.update(c);
  return `sha256:${hash.digest("hex")}`;
}

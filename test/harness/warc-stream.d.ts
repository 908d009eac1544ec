// The `warc` package (a Content-Length-framed WARC stream parser) ships no types.
declare module "warc" {
  import type { Transform } from "node:stream";
  export interface WarcStreamRecord {
    protocol: string;
    headers: Record<string, string>;
    content: Buffer;
  }
  function WARCStream(): Transform;
  export default WARCStream;
}

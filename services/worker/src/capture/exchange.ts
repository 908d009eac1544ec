/**
 * One HTTP request and its response as they went over the wire: what a
 * capture records. The body is the payload as received (content-encoding
 * kept, transfer-encoding removed by the HTTP client).
 */
export interface Exchange {
  url: string;
  /** When the request was sent. */
  startedAtMs: number;
  /** The address the connection went to; empty if unknown. */
  remoteAddress: string;
  method: string;
  /** Request headers as sent, in order (Host first). */
  requestHeaders: [string, string][];
  status: number;
  statusText: string;
  /** Response headers as received: names in their case, in order, repeated ones kept apart. */
  responseHeaders: [string, string][];
  body: Buffer[];
  bodyBytes: number;
  /** The body was cut (size limit) before it ended: the record must say so. */
  truncated: boolean;
  /** `sha256:<hex>` of `body`, when the fetch computed it already (a body without content-encoding). */
  payloadDigest?: string;
}

/**
 * Pairs a raw header list (name, value, name, value, …) into tuples: names
 * read as UTF-8 and values as Latin-1, as undici does, so each value keeps the
 * bytes the server sent.
 */
export function headerPairs(raw: ReadonlyArray<string | Buffer>): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const value = raw[i + 1] as string | Buffer;
    out.push([String(raw[i]), typeof value === "string" ? value : value.toString("latin1")]);
  }
  return out;
}

/** The lower-cased header map the fetch logic reads (repeated headers as arrays). */
export function headerMap(pairs: ReadonlyArray<[string, string]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    const had = out[key];
    out[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}

import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { gzip as gzipCallback, gzipSync } from "node:zlib";
import type { proto } from "@heed/shared";
import { WARCRecord, WARCSerializer } from "warcio";
import { sha256Digest } from "./digest.js";
import type { Exchange } from "./exchange.js";
import type { Refusal } from "./refusal.js";
import { type RefersTo, type RevisitProfile, revisitRecord } from "./revisit.js";

export const WARC_VERSION = "WARC/1.1";

const CRLF = "\r\n";

const EMPTY_DIGEST = sha256Digest([]);

function recordId(): string {
  return `<urn:uuid:${randomUUID()}>`;
}

/** WARC-Date with millisecond precision (WARC 1.1 allows fractions of a second). */
export function warcDate(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The header block as received. Transfer-Encoding is renamed because the
 * HTTP client removed the chunking: a reader would otherwise try to de-chunk
 * a body that no longer is.
 */
function responseHead(ex: Exchange): Buffer {
  const lines = [`HTTP/1.1 ${ex.status}${ex.statusText !== "" ? ` ${ex.statusText}` : ""}`];
  for (const [name, value] of ex.responseHeaders) {
    lines.push(
      name.toLowerCase() === "transfer-encoding" ? `X-Heed-Removed-${name}: ${value}` : `${name}: ${value}`,
    );
  }
  return Buffer.from(lines.join(CRLF) + CRLF + CRLF, "latin1");
}

function requestHead(ex: Exchange): Buffer {
  const u = new URL(ex.url);
  const lines = [`${ex.method} ${u.pathname}${u.search} HTTP/1.1`];
  for (const [name, value] of ex.requestHeaders) lines.push(`${name}: ${value}`);
  return Buffer.from(lines.join(CRLF) + CRLF + CRLF, "latin1");
}

const gzip = promisify(gzipCallback);

const CRLFCRLF = Buffer.from(CRLF + CRLF, "latin1");

/**
 * One record's bytes: warcio's header block, then the block as given, then the
 * record's closing CRLFs. The framing is WARCSerializer's, byte for byte,
 * without its async iteration and copies (a tenth of the capture CPU in the
 * capture-cpu bench). A record whose block is not in memory, or whose digests
 * warcio would compute, goes through the serializer.
 */
export async function serialized(record: WARCRecord): Promise<Buffer> {
  const block = record._reader;
  const digested =
    record.warcType === "warcinfo" ||
    (record.warcHeader("WARC-Block-Digest") && record.warcHeader("WARC-Payload-Digest"));
  if (!Array.isArray(block) || !digested)
    return Buffer.from(await WARCSerializer.serialize(record, { gzip: false }));
  const chunks = block as Uint8Array[];
  let length = 0;
  for (const c of chunks) length += c.length;
  record.warcHeaders.headers.set("Content-Length", String(length));
  return Buffer.concat([Buffer.from(record.warcHeaders.toString() + CRLF, "utf8"), ...chunks, CRLFCRLF]);
}

/**
 * Serializes one record, then gzips it on its own (a member per record).
 * Compression is node's zlib rather than warcio's (web streams or pako): the
 * same format at a fraction of the CPU (see the capture-cpu bench).
 */
async function gzipped(record: WARCRecord): Promise<Buffer> {
  const bytes = await serialized(record);
  // Most records cost less compressed in place than sent to the thread pool and back; only
  // large ones go there, so the event loop is never held for long.
  return bytes.length < IN_PLACE_MAX ? gzipSync(bytes) : gzip(bytes);
}

const IN_PLACE_MAX = 256 * 1024;

/**
 * A record whose block is written exactly as given. Both digests are computed
 * here with node's crypto (warcio would hash in WebAssembly, several times
 * slower); warcio frames the record and sets its length.
 */
function exactRecord(
  type: "request" | "response",
  url: string,
  headers: Record<string, string>,
  head: Buffer,
  body: readonly Buffer[],
  payloadDigest: string,
): WARCRecord {
  const record = WARCRecord.create(
    {
      url,
      type,
      date: headers["WARC-Date"],
      warcVersion: WARC_VERSION,
      warcHeaders: {
        "WARC-Type": type,
        ...headers,
        "WARC-Payload-Digest": payloadDigest,
        "WARC-Block-Digest": sha256Digest([head, ...body]),
        "Content-Type": `application/http; msgtype=${type}`,
      },
    },
    [head, ...body],
  );
  // The header block travels in the payload stream above, byte for byte, instead of being re-serialized.
  record.httpHeaders = null;
  return record;
}

export interface ExchangeRecords {
  /** The records in file order; the response (or revisit) first. */
  records: Buffer[];
  /** Absent when the response was not kept (its AI-use preferences refuse every purpose of the crawl). */
  responseIndex?: number;
  /** What the frontier keeps of the response (or revisit) record besides its location. */
  record?: RecordFacts;
  /** Payload bytes received in the exchange (stored, or not stored again if the record is a revisit). */
  payloadBytes: number;
}

/** The response (or revisit) record of an exchange, as the frontier and the digest index know it. */
export interface RecordFacts {
  recordId: string;
  date: string;
  /** Set when the payload may stand for later identical ones (see dedupable): the frontier indexes it. */
  payloadDigest?: string;
  revisit?: { profile: RevisitProfile; refersToUri: string; refersToDate: string; refersToId?: string };
}

/**
 * Below this many payload bytes a revisit record saves nothing worth its
 * refers-to fields (about as long as such a payload) and the dependency on
 * another record; such payloads are always stored.
 */
export const DEDUP_MIN_BYTES = 512;

/** Whether an exchange's payload may be written as a revisit of, or stand for, an identical one: whole and not tiny. */
export function dedupable(ex: Exchange): boolean {
  return !ex.truncated && ex.bodyBytes >= DEDUP_MIN_BYTES;
}

/** The WARC-Payload-Digest of an exchange's payload as received. */
export function payloadDigestOf(ex: Exchange): string {
  return ex.payloadDigest ?? sha256Digest(ex.body);
}

export interface ExchangeRecordOptions {
  /** The payload digest, if already computed (for the digest lookup). */
  payloadDigest?: string;
  /** Write the response as a revisit of this earlier capture of the same payload (identical-payload-digest). */
  revisitOf?: RefersTo;
  /** What the page's own AI-use preferences refuse; when that is every purpose, no response is written. */
  refusal?: Refusal;
}

/** Heed's politeness evidence for one fetch, as WARC fields. */
function evidenceFields(lease: proto.Lease, workerId: string): [string, string][] {
  const e = lease.evidence;
  const fields: [string, string][] = [
    ["heed-crawl-id", lease.crawlId],
    ["heed-lease-id", lease.id],
    ["heed-worker-id", workerId],
    ["heed-lease-kind", kindName(lease.kind)],
    ["heed-attempt", String(lease.attempt)],
  ];
  if (e !== undefined) {
    if (e.robotsUrl !== "") fields.push(["heed-robots-url", e.robotsUrl]);
    if (e.robotsDigest !== "") fields.push(["heed-robots-digest", e.robotsDigest]);
    if (e.robotsVerdict !== "") fields.push(["heed-robots-verdict", e.robotsVerdict]);
    if (e.robotsLine > 0) {
      fields.push(["heed-robots-line", String(e.robotsLine)]);
      fields.push(["heed-robots-rule", e.robotsRule]);
    }
    fields.push(["heed-delay-ms", String(e.delayMs)]);
    fields.push(["heed-delay-source", e.delaySource]);
    for (const key of e.politenessKeys) fields.push(["heed-politeness-key", key]);
  }
  return fields;
}

function kindName(kind: proto.LeaseKind): string {
  return ["unspecified", "page", "robots", "sitemap", "tdmrep"][kind] ?? String(kind);
}

/** Keeps WARC field values on one line whatever a server or operator put in them. */
function fieldValue(v: string): string {
  return v.replace(/[\r\n]+/g, " ");
}

function fieldsBlock(fields: readonly [string, string][]): Buffer {
  return Buffer.from(fields.map(([k, v]) => `${k}: ${fieldValue(v)}${CRLF}`).join(""), "utf8");
}

/** Why a response was refused for some purposes, as WARC fields: the purpose and the signal that decided. */
function refusalFields(refusal: Refusal | undefined, ex: Exchange): [string, string][] {
  if (refusal === undefined) return [];
  const fields: [string, string][] = refusal.refused.map((d) => [
    "heed-refused-purpose",
    `${d.purpose} (${d.category}=n, ${d.signal ?? "unknown"})`,
  ]);
  const usage = ex.responseHeaders.filter(([name]) => name.toLowerCase() === "content-usage");
  for (const [, value] of usage) fields.push(["heed-content-usage", value]);
  if (refusal.notKept) {
    fields.push([
      "heed-not-kept",
      `response not kept: its AI-use preferences refuse every purpose of the crawl (status ${ex.status}, ${ex.bodyBytes} bytes)`,
    ]);
  }
  return fields;
}

/**
 * Whether the exchange is written as a revisit, and of what: a recrawl's 304
 * stands for the earlier capture the lease names (server-not-modified); a
 * payload the frontier holds already, for its first capture (identical-payload-digest).
 */
function revisitOfExchange(
  ex: Exchange,
  lease: proto.Lease,
  identical: RefersTo | undefined,
): { profile: RevisitProfile; refersTo: RefersTo } | undefined {
  const earlier = lease.earlier;
  if (ex.status === 304 && earlier !== undefined && earlier.targetUri !== "" && earlier.warcDate !== "") {
    return {
      profile: "server-not-modified",
      refersTo: {
        targetUri: earlier.targetUri,
        date: earlier.warcDate,
        ...(earlier.recordId !== "" ? { recordId: earlier.recordId } : {}),
      },
    };
  }
  return identical === undefined ? undefined : { profile: "identical-payload-digest", refersTo: identical };
}

/**
 * The records of one exchange: response, request (concurrent to it) and a
 * metadata record carrying the politeness evidence of the lease. A response
 * whose AI-use preferences refuse every purpose of the crawl (`refusal`) is
 * not written: the request and the metadata record, saying why, remain.
 */
export async function exchangeRecords(
  ex: Exchange,
  lease: proto.Lease,
  workerId: string,
  options: ExchangeRecordOptions = {},
): Promise<ExchangeRecords> {
  const refusal = options.refusal;
  const keep = refusal?.notKept !== true;
  const responseId = recordId();
  const requestId = recordId();
  // Records of one exchange point at its response; without one, at the request.
  const anchorId = keep ? responseId : requestId;
  const date = warcDate(ex.startedAtMs);
  const common = {
    "WARC-Date": date,
    ...(ex.remoteAddress !== "" ? { "WARC-IP-Address": ex.remoteAddress } : {}),
  };
  const response = keep ? responseOf(ex, lease, responseId, date, common, options) : undefined;
  const request = exactRecord(
    "request",
    ex.url,
    { "WARC-Record-ID": requestId, ...common, ...(keep ? { "WARC-Concurrent-To": responseId } : {}) },
    requestHead(ex),
    [],
    EMPTY_DIGEST,
  );
  const evidence = fieldsBlock([...evidenceFields(lease, workerId), ...refusalFields(refusal, ex)]);
  const evidenceDigest = sha256Digest([evidence]);
  const metadata = WARCRecord.create(
    {
      url: ex.url,
      type: "metadata",
      date,
      warcVersion: WARC_VERSION,
      warcHeaders: {
        "WARC-Type": "metadata",
        "WARC-Record-ID": recordId(),
        "WARC-Concurrent-To": anchorId,
        "WARC-Payload-Digest": evidenceDigest,
        "WARC-Block-Digest": evidenceDigest,
        "Content-Type": "application/warc-fields",
      },
    },
    [evidence],
  );
  const records = await Promise.all([
    ...(response !== undefined ? [gzipped(response.record)] : []),
    gzipped(request),
    gzipped(metadata),
  ]);
  return response !== undefined
    ? { records, responseIndex: 0, record: response.facts, payloadBytes: ex.bodyBytes }
    : { records, payloadBytes: ex.bodyBytes };
}

/** The response record of an exchange (or a revisit standing for it), and what the frontier keeps of it. */
function responseOf(
  ex: Exchange,
  lease: proto.Lease,
  responseId: string,
  date: string,
  common: Record<string, string>,
  options: ExchangeRecordOptions,
): { record: WARCRecord; facts: RecordFacts } {
  const payloadDigest = options.payloadDigest ?? payloadDigestOf(ex);
  const revisit = revisitOfExchange(ex, lease, options.revisitOf);
  const record =
    revisit !== undefined
      ? revisitRecord({
          profile: revisit.profile,
          recordId: responseId,
          targetUri: ex.url,
          date,
          ipAddress: ex.remoteAddress,
          refersTo: revisit.refersTo,
          // A 304 has no payload of its own; the earlier record holds it.
          ...(revisit.profile === "identical-payload-digest" ? { payloadDigest } : {}),
          head: responseHead(ex),
        })
      : exactRecord(
          "response",
          ex.url,
          {
            "WARC-Record-ID": responseId,
            ...common,
            ...(ex.truncated ? { "WARC-Truncated": "length" } : {}),
          },
          responseHead(ex),
          ex.body,
          payloadDigest,
        );
  const facts: RecordFacts = {
    recordId: responseId,
    date,
    ...(revisit !== undefined
      ? {
          revisit: {
            profile: revisit.profile,
            refersToUri: revisit.refersTo.targetUri,
            refersToDate: revisit.refersTo.date,
            ...(revisit.refersTo.recordId !== undefined ? { refersToId: revisit.refersTo.recordId } : {}),
          },
        }
      : dedupable(ex)
        ? { payloadDigest }
        : {}),
  };
  return { record, facts };
}

export interface WarcInfo {
  filename: string;
  software: string;
  crawlId: string;
  workerId: string;
  userAgent: string;
  from: string;
  /** `<hostname> <pid>` of the writing process: recovery closes only files whose writer is gone. */
  owner: string;
  /** Set when the crawl signs its requests (Web Bot Auth): the key's thumbprint and where it is published. */
  webBotAuth?: { keyid: string; signatureAgent: string };
}

/** The record that opens every file: who wrote it, for which crawl, under which policy. */
export async function warcinfoRecord(info: WarcInfo, atMs: number): Promise<Buffer> {
  const fields: [string, string][] = [
    ["software", info.software],
    ["format", "WARC File Format 1.1"],
    ["conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"],
    ["isPartOf", info.crawlId],
    ["heed-crawl-id", info.crawlId],
    ["operator", info.from !== "" ? info.from : info.userAgent],
    ["http-header-user-agent", info.userAgent],
    ...(info.from !== "" ? ([["http-header-from", info.from]] as [string, string][]) : []),
    ["robots", "obey (RFC 9309; the deciding robots.txt is captured in the same crawl)"],
    ...(info.webBotAuth !== undefined
      ? ([
          ["heed-web-bot-auth", "signed (draft-ietf-webbotauth-httpsig-protocol-01, RFC 9421 ed25519)"],
          ["heed-web-bot-auth-keyid", info.webBotAuth.keyid],
          ["heed-web-bot-auth-signature-agent", info.webBotAuth.signatureAgent],
        ] as [string, string][])
      : []),
    ["heed-worker-id", info.workerId],
    ["heed-owner", info.owner],
  ];
  const record = WARCRecord.create(
    {
      type: "warcinfo",
      filename: info.filename,
      date: warcDate(atMs),
      warcVersion: WARC_VERSION,
      warcHeaders: {
        "WARC-Type": "warcinfo",
        "WARC-Record-ID": recordId(),
        "Content-Type": "application/warc-fields",
      },
    },
    [fieldsBlock(fields)],
  );
  return gzipped(record);
}

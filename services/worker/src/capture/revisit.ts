import { WARCRecord } from "warcio";
import { sha256Digest } from "./digest.js";

/**
 * The WARC 1.1 revisit profiles Heed writes (WARC 1.1 §6.7): the payload is
 * one the archive already holds (`identical-payload-digest`), or the server
 * said it has not changed since an earlier capture (`server-not-modified`).
 */
export const REVISIT_PROFILES = {
  "identical-payload-digest": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
  "server-not-modified": "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
} as const;

export type RevisitProfile = keyof typeof REVISIT_PROFILES;

/** The earlier capture a revisit points at. */
export interface RefersTo {
  /** Its WARC-Target-URI. */
  targetUri: string;
  /** Its WARC-Date, as written there. */
  date: string;
  /** Its WARC-Record-ID (`<urn:uuid:…>`), when known. */
  recordId?: string;
}

export interface RevisitInput {
  profile: RevisitProfile;
  /** This record's WARC-Record-ID. */
  recordId: string;
  targetUri: string;
  /** This record's WARC-Date. */
  date: string;
  /** WARC-IP-Address, when known. */
  ipAddress?: string;
  refersTo: RefersTo;
  /**
   * WARC-Payload-Digest: the digest of the payload not stored again (required for
   * identical-payload-digest; for server-not-modified, the earlier capture's, if known).
   */
  payloadDigest?: string;
  /** The HTTP status line and headers as received, ending with the blank line: the whole block. */
  head: Buffer;
}

/**
 * A revisit record: its block is only the HTTP header block, and it names the
 * earlier capture whose payload stands for it. The one builder of revisit
 * records, for both profiles.
 */
export function revisitRecord(input: RevisitInput): WARCRecord {
  if (input.profile === "identical-payload-digest" && input.payloadDigest === undefined) {
    throw new TypeError("an identical-payload-digest revisit needs the payload digest");
  }
  const record = WARCRecord.create(
    {
      url: input.targetUri,
      type: "revisit",
      date: input.date,
      warcVersion: "WARC/1.1",
      warcHeaders: {
        "WARC-Type": "revisit",
        "WARC-Record-ID": input.recordId,
        "WARC-Date": input.date,
        ...(input.ipAddress !== undefined && input.ipAddress !== ""
          ? { "WARC-IP-Address": input.ipAddress }
          : {}),
        "WARC-Profile": REVISIT_PROFILES[input.profile],
        "WARC-Refers-To-Target-URI": input.refersTo.targetUri,
        "WARC-Refers-To-Date": input.refersTo.date,
        ...(input.refersTo.recordId !== undefined && input.refersTo.recordId !== ""
          ? { "WARC-Refers-To": input.refersTo.recordId }
          : {}),
        ...(input.payloadDigest !== undefined ? { "WARC-Payload-Digest": input.payloadDigest } : {}),
        "WARC-Block-Digest": sha256Digest([input.head]),
        "Content-Type": "application/http; msgtype=response",
      },
    },
    [input.head],
  );
  // warcio puts its own (identical-payload-digest) profile on every revisit it creates.
  record.warcHeaders.headers.set("WARC-Profile", REVISIT_PROFILES[input.profile]);
  // The header block travels as given, byte for byte, instead of being re-serialized.
  record.httpHeaders = null;
  return record;
}

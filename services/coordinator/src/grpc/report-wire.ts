import { proto } from "@heed/shared";
import type {
  CaptureLocation,
  FetchErrorKind,
  FetchReport,
  ReportAnswer,
  ReportOutcome,
} from "../frontier/records.js";

const ERROR_KIND: Record<number, FetchErrorKind | undefined> = {
  [proto.FetchErrorKind.FETCH_ERROR_KIND_TIMEOUT]: "timeout",
  [proto.FetchErrorKind.FETCH_ERROR_KIND_CONNECT]: "connect",
  [proto.FetchErrorKind.FETCH_ERROR_KIND_DNS]: "dns",
  [proto.FetchErrorKind.FETCH_ERROR_KIND_BLOCKED_ADDRESS]: "blocked_address",
  [proto.FetchErrorKind.FETCH_ERROR_KIND_PROTOCOL]: "protocol",
  [proto.FetchErrorKind.FETCH_ERROR_KIND_LEASE_WINDOW]: "lease_window",
  [proto.FetchErrorKind.FETCH_ERROR_KIND_INVALID_URL]: "invalid_url",
  [proto.FetchErrorKind.FETCH_ERROR_KIND_TOO_MANY_REDIRECTS]: "too_many_redirects",
  [proto.FetchErrorKind.FETCH_ERROR_KIND_OTHER]: "other",
  [proto.FetchErrorKind.FETCH_ERROR_KIND_RELEASED]: "released",
};

const OUTCOME: Record<ReportOutcome, proto.ReportOutcome> = {
  accepted: proto.ReportOutcome.REPORT_OUTCOME_ACCEPTED,
  duplicate: proto.ReportOutcome.REPORT_OUTCOME_DUPLICATE,
  unknown_lease: proto.ReportOutcome.REPORT_OUTCOME_UNKNOWN_LEASE,
  expired: proto.ReportOutcome.REPORT_OUTCOME_EXPIRED,
};

/** A worker's result as the frontier reads it. An error kind this coordinator does not know counts as `other`. */
export function reportFromProto(r: proto.FetchResult): FetchReport {
  const kind = r.error?.kind ?? proto.FetchErrorKind.FETCH_ERROR_KIND_UNSPECIFIED;
  return {
    leaseId: r.leaseId,
    startedAtMs: r.startedAtMs,
    finishedAtMs: r.finishedAtMs,
    statusCode: r.statusCode,
    contentType: r.contentType,
    bodyBytes: r.bodyBytes,
    truncated: r.truncated,
    digestSha256: r.digestSha256,
    outlinks: r.outlinks,
    redirectLocation: r.redirectLocation,
    ...(kind !== proto.FetchErrorKind.FETCH_ERROR_KIND_UNSPECIFIED
      ? {
          error: {
            kind: ERROR_KIND[kind] ?? "other",
            code: r.error?.code ?? "",
            message: r.error?.message ?? "",
          },
        }
      : {}),
    retryAfter: r.retryAfter,
    nofollow: r.nofollow,
    noindex: r.noindex,
    noarchive: r.noarchive,
    remoteAddress: r.remoteAddress,
    robotsBody: r.robotsBody,
    sitemapIndex: r.sitemapIndex,
    tdmReserved: r.tdmReserved,
    contentUsage: r.contentUsage,
    wellKnownBody: r.wellKnownBody,
    ...(r.capture !== undefined && r.capture.file !== "" ? { capture: captureFromProto(r.capture) } : {}),
    ...(r.requestEnded ? { requestEnded: true as const } : {}),
    ...(r.heldMs > 0 ? { heldMs: r.heldMs } : {}),
    etag: r.etag,
    lastModified: r.lastModified,
  };
}

/** A capture location as the frontier keeps it: empty wire fields are left out. */
export function captureFromProto(c: proto.CaptureLocation): CaptureLocation {
  return {
    file: c.file,
    offset: c.offset,
    length: c.length,
    ...(c.recordId !== "" ? { recordId: c.recordId } : {}),
    ...(c.date !== "" ? { date: c.date } : {}),
    ...(c.payloadDigest !== "" ? { payloadDigest: c.payloadDigest } : {}),
    ...(c.revisitProfile !== ""
      ? {
          revisit: {
            profile: c.revisitProfile,
            refersToUri: c.refersToUri,
            refersToDate: c.refersToDate,
            ...(c.refersToId !== "" ? { refersToId: c.refersToId } : {}),
          },
        }
      : {}),
  };
}

/** A kept capture location on the wire (admin Url, digest lookups). */
export function captureToProto(c: CaptureLocation): proto.CaptureLocation {
  return {
    file: c.file,
    offset: c.offset,
    length: c.length,
    recordId: c.recordId ?? "",
    date: c.date ?? "",
    payloadDigest: c.payloadDigest ?? "",
    revisitProfile: c.revisit?.profile ?? "",
    refersToUri: c.revisit?.refersToUri ?? "",
    refersToDate: c.revisit?.refersToDate ?? "",
    refersToId: c.revisit?.refersToId ?? "",
  };
}

export function reportAnswerToProto(a: ReportAnswer): proto.ReportAck {
  return { leaseId: a.leaseId, outcome: OUTCOME[a.outcome], reason: a.reason };
}

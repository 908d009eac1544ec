import { proto } from "@heed/shared";

/**
 * Phase one of a page's report: only what politeness needs from a request
 * that is over (its timing, status, Retry-After, error and the address it
 * went to). The coordinator frees the host's slots on it while the capture is
 * still being made durable; the full result follows as phase two.
 */
export function requestEndOf(result: proto.FetchResult): proto.FetchResult {
  return proto.FetchResult.fromPartial({
    leaseId: result.leaseId,
    startedAtMs: result.startedAtMs,
    finishedAtMs: result.finishedAtMs,
    statusCode: result.statusCode,
    bodyBytes: result.bodyBytes,
    retryAfter: result.retryAfter,
    remoteAddress: result.remoteAddress,
    ...(result.error !== undefined ? { error: result.error } : {}),
    requestEnded: true,
  });
}

/** Whether a fetch's end is worth reporting ahead of its capture: a page-like lease with something to capture. */
export function reportsEndFirst(lease: proto.Lease, result: proto.FetchResult, exchanges: number): boolean {
  return (
    exchanges > 0 &&
    lease.kind !== proto.LeaseKind.LEASE_KIND_ROBOTS &&
    result.error?.kind !== proto.FetchErrorKind.FETCH_ERROR_KIND_RELEASED
  );
}

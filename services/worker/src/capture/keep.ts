import { errorMessage, type Logger, proto } from "@heed/shared";
import type { Exchange } from "./exchange.js";
import type { ExchangeRecordOptions } from "./records.js";
import { type Refusal, refusalOf } from "./refusal.js";
import type { CaptureLocation, WarcWriter } from "./warc-writer.js";

function captureToProto(c: CaptureLocation): proto.CaptureLocation {
  return {
    file: c.file,
    offset: c.offset,
    length: c.length,
    recordId: c.recordId,
    date: c.date,
    payloadDigest: c.payloadDigest ?? "",
    revisitProfile: c.revisit?.profile ?? "",
    refersToUri: c.revisit?.refersToUri ?? "",
    refersToDate: c.revisit?.refersToDate ?? "",
    refersToId: c.revisit?.refersToId ?? "",
  };
}

/**
 * Makes a fetch's exchanges durable before its result is reported, and puts
 * the capture's location on the result. A capture that cannot be kept hands
 * the lease back (released, no penalty) instead of reporting the URL done.
 * A page whose own AI-use preferences refuse every purpose of the crawl is
 * captured without its response (request and evidence only); the frontier
 * records it as refused.
 */
export async function keepCapture(
  writer: WarcWriter,
  lease: proto.Lease,
  result: proto.FetchResult,
  exchanges: readonly Exchange[],
  log: Logger,
  options?: readonly (ExchangeRecordOptions | undefined)[],
  refusal: Refusal | undefined = refusalOf(lease, result),
): Promise<proto.FetchResult> {
  try {
    // The page's own preferences decide about its response: the last exchange.
    const withRefusal =
      refusal === undefined
        ? options
        : exchanges.map((_, i) => (i === exchanges.length - 1 ? { ...options?.[i], refusal } : options?.[i]));
    const location = await writer.capture(lease, exchanges, withRefusal);
    if (location !== undefined && result.error === undefined) result.capture = captureToProto(location);
    else if (refusal?.notKept === true) {
      log.debug(
        { leaseId: lease.id, url: lease.url },
        "response not kept: its AI-use preferences refuse the crawl's purposes",
      );
    } else if (exchanges.length === 0 && result.error === undefined) {
      // Every successful fetch has an exchange; none means the fetch path skipped the capture.
      log.warn({ leaseId: lease.id, url: lease.url }, "fetched without a capture");
    }
  } catch (err) {
    log.error(
      { leaseId: lease.id, url: lease.url, err: errorMessage(err) },
      "capture not kept; lease handed back",
    );
    result.capture = undefined;
    result.error = {
      kind: proto.FetchErrorKind.FETCH_ERROR_KIND_RELEASED,
      code: "HEED_CAPTURE_FAILED",
      message: errorMessage(err).slice(0, 500),
    };
  }
  return result;
}

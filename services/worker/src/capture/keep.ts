import { errorMessage, type Logger, proto } from "@heed/shared";
import type { Exchange } from "./exchange.js";
import { refusalOf } from "./refusal.js";
import type { WarcWriter } from "./warc-writer.js";

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
): Promise<proto.FetchResult> {
  const refusal = refusalOf(lease, result);
  try {
    const location = await writer.capture(lease, exchanges, refusal);
    if (location !== undefined && result.error === undefined) result.capture = location;
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

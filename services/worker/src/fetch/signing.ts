import { proto, type RequestSigner } from "@heed/shared";
import { FetchFailure } from "./errors.js";

/**
 * Web Bot Auth headers for one request of a lease: none when the crawl does
 * not sign, a fresh signature per request (each robots.txt redirect hop too)
 * when it does. A crawl that signs never goes out unsigned: without a key the
 * fetch fails with HEED_SIGNING_UNAVAILABLE before anything is sent.
 */
export function signatureHeaders(
  lease: proto.Lease,
  signer: RequestSigner | undefined,
  url: string,
): Record<string, string> {
  if (!lease.signRequests) return {};
  if (signer === undefined) {
    throw new FetchFailure(
      proto.FetchErrorKind.FETCH_ERROR_KIND_OTHER,
      "HEED_SIGNING_UNAVAILABLE",
      "the crawl signs its requests but this worker has no signing key (signingKeyFile and signatureAgent)",
    );
  }
  return { ...signer.sign("GET", new URL(url)) };
}

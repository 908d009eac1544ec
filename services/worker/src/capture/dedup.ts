import { errorMessage, type Logger, type proto } from "@heed/shared";
import type { Exchange } from "./exchange.js";
import { dedupable, type ExchangeRecordOptions, payloadDigestOf } from "./records.js";

/** Asks the frontier for the first durable capture of a payload fetched under a lease. */
export type DigestLookup = (
  leaseId: string,
  payloadDigest: string,
) => Promise<proto.DigestOriginal | undefined>;

/**
 * How each exchange of a lease is to be written: as a revisit of the capture
 * the frontier names for its payload, or stored whole. Asked after the body
 * is read (only then is its digest known) and before anything is written, so
 * a payload already held costs no bytes. A failed lookup stores the payload:
 * that costs bytes, never correctness. A response that will not be kept
 * (`lastNotKept`: its page refuses the crawl's purposes) is not asked about.
 */
export async function revisitSources(
  lease: proto.Lease,
  exchanges: readonly Exchange[],
  lookup: DigestLookup,
  log: Logger,
  lastNotKept = false,
): Promise<(ExchangeRecordOptions | undefined)[]> {
  return Promise.all(
    exchanges.map(async (ex, i): Promise<ExchangeRecordOptions | undefined> => {
      if (!dedupable(ex) || (lastNotKept && i === exchanges.length - 1)) return undefined;
      const payloadDigest = payloadDigestOf(ex);
      if (!lease.dedupPayloads) return { payloadDigest };
      try {
        const original = await lookup(lease.id, payloadDigest);
        if (original === undefined) return { payloadDigest };
        return {
          payloadDigest,
          revisitOf: {
            targetUri: original.url,
            date: original.date,
            ...(original.recordId !== "" ? { recordId: original.recordId } : {}),
          },
        };
      } catch (err) {
        log.warn(
          { leaseId: lease.id, url: ex.url, err: errorMessage(err) },
          "payload digest lookup failed; storing the payload",
        );
        return { payloadDigest };
      }
    }),
  );
}

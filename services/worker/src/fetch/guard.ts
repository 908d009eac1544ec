import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { blockedAddressReason, blockedLiteralHost, proto } from "@heed/shared";
import { FetchFailure } from "./errors.js";

function blocked(host: string, address: string, reason: string): FetchFailure {
  return new FetchFailure(
    proto.FetchErrorKind.FETCH_ERROR_KIND_BLOCKED_ADDRESS,
    "HEED_ADDRESS_BLOCKED",
    `${address} is in a ${reason}${host.replace(/^\[|\]$/g, "") !== address ? ` (${host} resolves to it)` : ""}; ` +
      "refused: this worker and the crawl must both allow private addresses to fetch it",
  );
}

/**
 * A resolver for the socket itself. Guarded, it checks every address it
 * returns, so the connection goes to the address that was checked (no DNS
 * rebinding between check and connect). Either way it tells `onResolved` the
 * address used, which workers report (politeness by IP).
 */
export function createLookup(options: {
  guard: boolean;
  onResolved?: (hostname: string, address: string) => void;
}): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses as LookupAddress[];
      if (options.guard) {
        for (const a of list) {
          const reason = blockedAddressReason(a.address);
          if (reason !== null) {
            return callback(blocked(hostname, a.address, reason) as NodeJS.ErrnoException, "", 0);
          }
        }
      }
      const first = list[0];
      if (first === undefined) {
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), "", 0);
      }
      options.onResolved?.(hostname, first.address);
      if (lookupOptions.all) return callback(null, list as never);
      callback(null, first.address, first.family);
    });
  };
}

export const guardedLookup: LookupFunction = createLookup({ guard: true });

/** IP literals never reach a resolver, so they are checked before connecting. */
export function checkLiteralHost(url: URL): void {
  const literal = blockedLiteralHost(url);
  if (literal !== undefined) throw blocked(url.hostname, literal.address, literal.reason);
}

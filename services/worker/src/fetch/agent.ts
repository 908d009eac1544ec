import { Agent } from "undici";
import { createLookup } from "./guard.js";

/**
 * The HTTP client a worker fetches through: one keep-alive pool per origin,
 * kept across leases, so a host's next request (often a politeness delay
 * later) reuses its connection instead of opening a new one. An idle
 * connection is closed after the server's Keep-Alive timeout less undici's
 * margin, or `keepAliveTimeout` when the server names none, and never kept
 * past `keepAliveMaxTimeout`; a pool closes with its last connection.
 * Guarded, it refuses private addresses at connect time.
 */
export function createFetchAgent(
  guard: boolean,
  onResolved?: (hostname: string, address: string) => void,
): Agent {
  return new Agent({
    connect: { timeout: 10_000, lookup: createLookup({ guard, ...(onResolved ? { onResolved } : {}) }) },
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 60_000,
    maxHeaderSize: 64 * 1024,
    connections: 64,
  });
}

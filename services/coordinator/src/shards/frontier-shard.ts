import type { FrontierShard, ShardAllowance } from "../frontier/context.js";
import type { CrawlRecord } from "../frontier/records.js";

/** Where this shard's frontier learns who owns what, once the fleet is joined. */
export interface ShardPlacement {
  /** The shard that owns a host's URLs now, when it is not this one. */
  routeOf(hostname: string): string | undefined;
  /** Whether this shard may lease for a host now. */
  mayLease(hostKey: string): boolean;
  outboxFilled(): void;
  /** This shard's share of a crawl-wide budget. */
  allowance(crawl: CrawlRecord): ShardAllowance;
}

/** Nothing to spend until the fleet is joined and a share claimed. */
const NO_ALLOWANCE: ShardAllowance = { pages: 0, bytes: 0, pagesSpent: false, bytesSpent: false };

/**
 * The frontier opens before NATS is reached, so its view of the fleet is bound
 * later. Until then it leases nothing and routes nothing (nothing is
 * discovered before the fleet is joined: crawls arrive through the fleet).
 */
export function lateShard(id: string): FrontierShard & { bind(placement: ShardPlacement): void } {
  let placement: ShardPlacement | undefined;
  return {
    id,
    routeOf: (hostname) => placement?.routeOf(hostname),
    mayLease: (hostKey) => placement?.mayLease(hostKey) ?? false,
    outboxFilled: () => placement?.outboxFilled(),
    allowance: (crawl) => placement?.allowance(crawl) ?? NO_ALLOWANCE,
    bind(p) {
      placement = p;
    },
  };
}

import { proto } from "@heed/shared";
import { crawlFetchesOf } from "../frontier/budgets.js";
import type { Frontier } from "../frontier/frontier.js";
import { policyFor } from "../frontier/policies.js";
import type { HostPolicy, HostState, StoredRobots } from "../frontier/records.js";
import { encodePageToken } from "./validate.js";
import { hostToProto } from "./wire.js";

export interface HostQuery {
  crawlId?: string;
  status: proto.HostStatus;
  limit: number;
  /** The last host key of the previous page. */
  after?: string;
}

/** Hosts looked at per call at most, so a rare status filter cannot make one call scan everything. */
const SCAN_BUDGET = 20_000;

/**
 * One page of hosts, in key order, each with what it is doing now, its delay
 * and where the delay came from, its robots.txt per origin and the operator
 * rule that applies. Read-only.
 */
export function listHosts(
  frontier: Frontier,
  q: HostQuery,
  nowMs: number,
): { hosts: proto.Host[]; nextPageToken: string } {
  const policies = new Map(frontier.hostPolicies().map((p) => [p.pattern, p]));
  const hosts: proto.Host[] = [];
  let last: string | undefined;
  let scanned = 0;
  let more = false;
  for (const key of hostKeys(frontier, q.crawlId, q.after)) {
    if (hosts.length >= q.limit || scanned >= SCAN_BUDGET) {
      more = true;
      break;
    }
    scanned++;
    last = key;
    const state = frontier.store.hosts.get(key);
    if (state === undefined) continue;
    const robots = robotsOf(frontier, key);
    const policy = policyFor(policies, key);
    const statuses = statusesOf(state, robots, policy, nowMs);
    if (q.status !== proto.HostStatus.HOST_STATUS_UNSPECIFIED && !statuses.includes(q.status)) continue;
    const host = hostToProto(state, statuses, robots, policy);
    if (q.crawlId !== undefined) {
      // Listed for one crawl: that crawl's fetches, not every crawl's.
      const mine = crawlFetchesOf(frontier.store.crawlHosts.get([q.crawlId, key]), state, q.crawlId);
      host.fetches = mine.fetches;
      host.bytes = mine.bytes;
    }
    hosts.push(host);
  }
  return { hosts, nextPageToken: more && last !== undefined ? encodePageToken(last) : "" };
}

export function* hostKeys(
  frontier: Frontier,
  crawlId: string | undefined,
  after: string | undefined,
): Iterable<string> {
  const store = frontier.store;
  if (crawlId === undefined) {
    for (const key of store.hosts.getKeys(after !== undefined ? { start: after } : {})) {
      if (key !== after) yield key;
    }
    return;
  }
  const start = after === undefined ? [crawlId] : [crawlId, after];
  for (const [, hostKey] of store.crawlHosts.getKeys({ start, end: [`${crawlId}\u0000`] })) {
    if (hostKey !== after) yield hostKey;
  }
}

/** Robots records are kept per origin; a host has one per scheme and port it was crawled on. */
export function robotsOf(frontier: Frontier, hostKey: string): StoredRobots[] {
  const out: StoredRobots[] = [];
  for (const scheme of ["http://", "https://"]) {
    // ';' sorts right after ':', so this range holds "scheme://host" and "scheme://host:port".
    for (const { value } of frontier.store.robots.getRange({
      start: `${scheme}${hostKey}`,
      end: `${scheme}${hostKey};`,
    })) {
      if (hostOfOrigin(value.origin) === hostKey) out.push(value);
    }
  }
  return out;
}

function hostOfOrigin(origin: string): string | undefined {
  try {
    return new URL(origin).hostname;
  } catch {
    return undefined;
  }
}

export function statusesOf(
  h: HostState,
  robots: StoredRobots[],
  policy: HostPolicy | undefined,
  nowMs: number,
): proto.HostStatus[] {
  const S = proto.HostStatus;
  const out: proto.HostStatus[] = [];
  if (h.inFlight > 0) out.push(S.HOST_STATUS_BUSY);
  else if (h.nextAllowedAtMs > nowMs) out.push(S.HOST_STATUS_WAITING);
  else out.push(S.HOST_STATUS_IDLE);
  if (robots.some((r) => r.fetchedAtMs > 0 && r.status === "unreachable"))
    out.push(S.HOST_STATUS_ROBOTS_UNREACHABLE);
  if (policy?.mode === "block") out.push(S.HOST_STATUS_BLOCKED);
  if (policy?.mode === "slow") out.push(S.HOST_STATUS_SLOW);
  if ((h.parkedUntilMs ?? 0) > nowMs) out.push(S.HOST_STATUS_PARKED);
  return out;
}

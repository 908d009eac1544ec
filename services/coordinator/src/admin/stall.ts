import { proto } from "@heed/shared";
import type { Frontier } from "../frontier/frontier.js";
import type { CrawlRecord } from "../frontier/records.js";
import { hostKeys, robotsOf } from "./hosts.js";

/** What a crawl's hosts with queued work are doing now. */
export interface HostWaits {
  /** Hosts that may be leased now, or have a lease out. */
  active: number;
  /** Hosts waiting on a delay (politeness, back-off, a parked host, a retry). */
  waiting: number;
  /** Hosts waiting to try their robots.txt again. */
  robots: number;
  /** The earliest time a waiting host may be asked again. */
  earliestMs?: number;
}

export interface StallFacts {
  /** Workers that heartbeat and take leases (draining ones do not). */
  liveWorkers: number;
  /** Read only when the answer depends on it: it looks at the crawl's hosts. */
  hosts(): HostWaits;
}

/** Waits shorter than this are a polite crawl's ordinary pace, not a stall. */
export const STALL_MIN_WAIT_MS = 2000;

/**
 * Why a crawl that has not ended makes no progress now, or undefined while it
 * does. Checked in the order an operator can act on: a pause, no workers, a
 * spent budget; then, with nothing in flight, what every host with queued
 * work is waiting for.
 */
export function stallOf(c: CrawlRecord, facts: StallFacts, nowMs: number): proto.Stall | undefined {
  const R = proto.StallReason;
  const stall = (reason: proto.StallReason, detail: string, extra: Partial<proto.Stall> = {}) => ({
    reason,
    untilMs: 0,
    hostsWaiting: 0,
    hostsRobotsUnreachable: 0,
    detail,
    ...extra,
  });
  if (c.state === "finished" || c.state === "cancelled") return undefined;
  if (c.state === "paused") return stall(R.STALL_REASON_PAUSED, "paused (heedctl crawl resume)");
  const { queued, leased } = c.counts;
  if (queued + leased === 0) return undefined;
  if (facts.liveWorkers === 0)
    return stall(R.STALL_REASON_NO_LIVE_WORKERS, "no live workers: none sent a heartbeat lately");
  const budget = spentBudget(c);
  if (budget !== undefined && queued > 0)
    return stall(
      R.STALL_REASON_BUDGET_SPENT,
      `budget spent: ${budget}; ${queued} queued URL(s) will be skipped`,
    );
  if (leased > 0) return undefined;
  const h = facts.hosts();
  if (h.active > 0 || h.earliestMs === undefined) return undefined;
  const counts = { untilMs: h.earliestMs, hostsWaiting: h.waiting, hostsRobotsUnreachable: h.robots };
  const until = new Date(h.earliestMs).toISOString();
  if (h.waiting === 0)
    return stall(
      R.STALL_REASON_ROBOTS_UNREACHABLE,
      `robots.txt unreachable on ${h.robots} host(s): next try ${until}`,
      counts,
    );
  if (h.earliestMs - nowMs < STALL_MIN_WAIT_MS) return undefined;
  const robots = h.robots > 0 ? `, ${h.robots} of them on an unreachable robots.txt` : "";
  return stall(
    R.STALL_REASON_ALL_HOSTS_WAITING,
    `all ${h.waiting + h.robots} host(s) waiting until ${until}${robots}`,
    counts,
  );
}

function spentBudget(c: CrawlRecord): string | undefined {
  if (c.pagesLeased >= c.spec.maxPages) return `max pages ${c.spec.maxPages} reached`;
  const maxBytes = c.spec.budgets.maxBytes;
  if (maxBytes > 0 && c.bytes >= maxBytes) return `max bytes ${maxBytes} reached`;
  return undefined;
}

/** Hosts looked at per answer at most: past this many, the answer is "not stalled" rather than slow. */
const SCAN_BUDGET = 5000;

/** Queue entries read per host, at most, to learn whether the crawl has work there. */
const QUEUE_PEEK = 256;

/**
 * Whether the host's queue holds this crawl's URLs. Queues are per host and
 * shared by crawls; past the first entries read the answer is "maybe", taken
 * as yes.
 */
function queuedFor(frontier: Frontier, hostKey: string, crawlId: string): boolean {
  let read = 0;
  const entries = frontier.store.queue.getRange({
    start: [hostKey],
    end: [hostKey, Number.MAX_SAFE_INTEGER],
    limit: QUEUE_PEEK,
  });
  for (const { value } of entries) {
    read++;
    if (value[0] === crawlId) return true;
  }
  return read >= QUEUE_PEEK;
}

/**
 * What the crawl's hosts with queued work of its own wait for, from the lease
 * schedule. A host busy or ready for another crawl does not count.
 */
export function hostWaits(frontier: Frontier, crawlId: string, nowMs: number): HostWaits {
  const out: HostWaits = { active: 0, waiting: 0, robots: 0 };
  let scanned = 0;
  for (const key of hostKeys(frontier, crawlId, undefined)) {
    if (++scanned > SCAN_BUDGET) {
      out.active++;
      break;
    }
    if (!queuedFor(frontier, key, crawlId)) continue;
    const due = frontier.hostDueAtMs(key);
    if (due === undefined) {
      // Not scheduled: every slot taken by leases out (or the schedule is about to be updated).
      if ((frontier.host(key)?.inFlight ?? 0) > 0) out.active++;
      continue;
    }
    if (due <= nowMs) {
      out.active++;
      continue;
    }
    const robotsWait = robotsOf(frontier, key).some(
      (r) => r.fetchedAtMs > 0 && r.status === "unreachable" && r.nextAttemptAtMs > nowMs,
    );
    if (robotsWait) out.robots++;
    else out.waiting++;
    out.earliestMs = Math.min(out.earliestMs ?? due, due);
  }
  return out;
}

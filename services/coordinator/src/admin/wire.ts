import { crawlSpecToProto, proto } from "@heed/shared";
import type {
  CrawlRecord,
  CrawlState,
  HostPolicy,
  HostState,
  StoredRobots,
  UrlRecord,
  UrlState,
} from "../frontier/records.js";
import { seedCount } from "../frontier/seeds.js";
import { captureToProto } from "../grpc/report-wire.js";

/** Frontier records as admin API messages. Reads only; nothing here decides anything. */

const CRAWL_STATES: Record<CrawlState, proto.CrawlState> = {
  running: proto.CrawlState.CRAWL_STATE_RUNNING,
  paused: proto.CrawlState.CRAWL_STATE_PAUSED,
  finished: proto.CrawlState.CRAWL_STATE_FINISHED,
  cancelled: proto.CrawlState.CRAWL_STATE_CANCELLED,
};

export const URL_STATES: Record<UrlState, proto.UrlState> = {
  queued: proto.UrlState.URL_STATE_QUEUED,
  leased: proto.UrlState.URL_STATE_LEASED,
  done: proto.UrlState.URL_STATE_DONE,
  failed: proto.UrlState.URL_STATE_FAILED,
  skipped: proto.UrlState.URL_STATE_SKIPPED,
};

// Keyed by string: the frontier may learn new delay sources before this table does (then: unspecified).
const DELAY_SOURCES: Record<string, proto.DelaySource> = {
  none: proto.DelaySource.DELAY_SOURCE_NONE,
  min_delay: proto.DelaySource.DELAY_SOURCE_MIN_DELAY,
  crawl_delay: proto.DelaySource.DELAY_SOURCE_CRAWL_DELAY,
  retry_after: proto.DelaySource.DELAY_SOURCE_RETRY_AFTER,
  error_backoff: proto.DelaySource.DELAY_SOURCE_ERROR_BACKOFF,
  adaptive: proto.DelaySource.DELAY_SOURCE_ADAPTIVE,
};

const ROBOTS_STATUSES: Record<string, proto.RobotsStatus> = {
  parsed: proto.RobotsStatus.ROBOTS_STATUS_PARSED,
  unavailable: proto.RobotsStatus.ROBOTS_STATUS_UNAVAILABLE,
  unreachable: proto.RobotsStatus.ROBOTS_STATUS_UNREACHABLE,
};

export function crawlStateToProto(state: CrawlState): proto.CrawlState {
  return CRAWL_STATES[state];
}

export function crawlStateFromProto(state: proto.CrawlState): CrawlState | undefined {
  return (Object.keys(CRAWL_STATES) as CrawlState[]).find((k) => CRAWL_STATES[k] === state);
}

export function urlStateFromProto(state: proto.UrlState): UrlState | undefined {
  return (Object.keys(URL_STATES) as UrlState[]).find((k) => URL_STATES[k] === state);
}

/** A crawl without its seeds (see seed_count and ListSeeds): no message grows with the crawl. */
export function crawlToProto(c: CrawlRecord): proto.Crawl {
  return {
    id: c.id,
    state: crawlStateToProto(c.state),
    definition: { ...crawlSpecToProto(c.spec), seeds: [] },
    seedCount: seedCount(c),
    createdAtMs: c.createdAtMs,
    finishedAtMs: c.finishedAtMs ?? 0,
    counts: { ...c.counts },
    pagesLeased: c.pagesLeased,
    bytes: c.bytes,
    statusCounts: { ...c.statusCounts },
    skipCounts: { ...c.skipCounts },
    hosts: c.hosts,
  };
}

export function policyToProto(p: HostPolicy): proto.HostPolicy {
  return {
    pattern: p.pattern,
    mode:
      p.mode === "block"
        ? proto.HostPolicyMode.HOST_POLICY_MODE_BLOCK
        : proto.HostPolicyMode.HOST_POLICY_MODE_SLOW,
    minDelayMs: p.minDelayMs,
    reason: p.reason,
    createdAtMs: p.createdAtMs,
  };
}

export function robotsToProto(r: StoredRobots): proto.HostRobots {
  return {
    origin: r.origin,
    // A robots record exists from the first lease on; until a fetch ends it says nothing.
    status:
      r.fetchedAtMs === 0
        ? proto.RobotsStatus.ROBOTS_STATUS_UNKNOWN
        : (ROBOTS_STATUSES[r.status] ?? proto.RobotsStatus.ROBOTS_STATUS_UNSPECIFIED),
    httpStatus: r.httpStatus,
    digest: r.digest,
    fetchedAtMs: r.fetchedAtMs,
    expiresAtMs: r.expiresAtMs,
    failures: r.failures,
    redirects: r.redirects ?? [],
    following: r.following?.url ?? "",
    reason:
      r.addressRefused !== undefined
        ? `address_refused: ${r.addressRefused}`
        : r.status === "unreachable"
          ? (r.error ?? "")
          : "",
  };
}

export function hostToProto(
  h: HostState,
  statuses: proto.HostStatus[],
  robots: StoredRobots[],
  policy: HostPolicy | undefined,
): proto.Host {
  return {
    hostKey: h.hostKey,
    statuses,
    nextAllowedAtMs: h.nextAllowedAtMs,
    inFlight: h.inFlight,
    delayMs: h.delayMs,
    delaySource: DELAY_SOURCES[h.delaySource] ?? proto.DelaySource.DELAY_SOURCE_UNSPECIFIED,
    consecutiveErrors: h.consecutiveErrors,
    fetches: h.fetches,
    bytes: h.bytes,
    minDelayMs: h.minDelayMs,
    // Unset until some crawl queued a URL here (the frontier keeps "no limit" as MAX_SAFE_INTEGER).
    maxConcurrency: Math.min(h.maxConcurrency, 0xffffffff),
    robots: robots.map(robotsToProto),
    ...(policy !== undefined ? { policy: policyToProto(policy) } : {}),
    parkedUntilMs: h.parkedUntilMs ?? 0,
    parkedReason: h.parkedReason ?? "",
  };
}

export function urlToProto(u: UrlRecord): proto.Url {
  const r = u.result;
  return {
    url: u.url,
    crawlId: u.crawlId,
    hostKey: u.hostKey,
    depth: u.depth,
    state: URL_STATES[u.state],
    attempts: u.attempts,
    reason: u.reason === undefined ? "" : u.reasonDetail ? `${u.reason}: ${u.reasonDetail}` : u.reason,
    via: u.via ?? "",
    discoveredAtMs: u.discoveredAtMs,
    updatedAtMs: u.updatedAtMs,
    notBeforeMs: u.notBeforeMs,
    leaseId: u.leaseId ?? "",
    ...(r !== undefined
      ? {
          result: {
            status: r.status,
            bytes: r.bytes,
            truncated: r.truncated,
            contentType: r.contentType,
            digestSha256: r.digest,
            startedAtMs: r.startedAtMs,
            finishedAtMs: r.finishedAtMs,
            redirect: r.redirect ?? "",
            errorKind: r.errorKind ?? "",
            errorCode: r.errorCode ?? "",
            error: r.error ?? "",
            noindex: r.noindex ?? false,
            nofollow: r.nofollow ?? false,
            outlinks: r.outlinks,
            workerId: r.workerId,
            remoteAddress: r.remoteAddress ?? "",
            etag: r.etag ?? "",
            lastModified: r.lastModified ?? "",
            ...(r.notModified !== undefined ? { notModified: { ...r.notModified } } : {}),
          },
        }
      : {}),
    ...(u.robots !== undefined
      ? {
          robots: {
            digest: u.robots.digest,
            verdict: u.robots.verdict,
            line: u.robots.line ?? 0,
            readings: (u.robots.readings ?? []).map((r) => ({
              reading: r.reading,
              allowed: r.allowed,
              line: r.line ?? 0,
            })),
            disagreement: u.robots.disagreement === true,
          },
        }
      : {}),
    preferences: (u.preferences ?? []).map((p) => ({
      purpose: p.purpose,
      category: p.category,
      decision: p.decision,
      signal: p.signal ?? "",
      line: p.line ?? 0,
    })),
    ...(r?.capture !== undefined ? { capture: captureToProto(r.capture) } : {}),
    ...(u.politeness !== undefined
      ? {
          politeness: {
            delayMs: u.politeness.delayMs,
            delaySource: DELAY_SOURCES[u.politeness.source] ?? proto.DelaySource.DELAY_SOURCE_UNSPECIFIED,
            keys: u.politeness.keys,
          },
        }
      : {}),
  };
}

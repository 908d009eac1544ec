import type { CrawlPurpose, CrawlSpec, PurposeDecision, RobotsPolicy } from "@heed/shared";

/** Every URL is in exactly one state; counts per crawl are kept in step with the records. */
export type UrlState = "queued" | "leased" | "done" | "failed" | "skipped";
export const URL_STATES: readonly UrlState[] = ["queued", "leased", "done", "failed", "skipped"];

export type SkipReason =
  | "robots_disallowed"
  | "robots_unreachable"
  | "budget_max_pages"
  | "crawl_cancelled"
  | "opt_out"
  | "budget_max_bytes"
  | "budget_host_pages"
  | "budget_host_bytes"
  | "host_parked"
  | "crawl_delay_too_long"
  | "tdm_reserved"
  /** A site's AI-use preferences refuse one of the crawl's purposes (see preferences.ts). */
  | "content_usage"
  /** The worker's address guard refused the host's address (private, loopback, link-local, metadata). */
  | "address_refused";

export type FailReason = "lease_expired" | "fetch_error" | "http_error" | "not_retryable" | "address_refused";

export interface FetchOutcome {
  status: number;
  bytes: number;
  truncated: boolean;
  contentType: string;
  digest: string;
  startedAtMs: number;
  finishedAtMs: number;
  redirect?: string;
  errorKind?: string;
  errorCode?: string;
  error?: string;
  noindex?: boolean;
  noarchive?: boolean;
  nofollow?: boolean;
  outlinks: number;
  workerId: string;
  remoteAddress?: string;
  /** Where the worker wrote the response (or revisit) record: WARC file base name, offset, length. */
  capture?: CaptureLocation;
  /** The response's validators, as the site sent them: what a recrawl asks with. */
  etag?: string;
  lastModified?: string;
  /** A recrawl's 304: the page has not changed since this earlier capture (the revisit refers to it). */
  notModified?: EarlierRecord;
}

export interface CaptureLocation {
  file: string;
  offset: number;
  length: number;
  /** The record's WARC-Record-ID and WARC-Date (captures kept before these were recorded lack them). */
  recordId?: string;
  date?: string;
  /** WARC-Payload-Digest of a response whose payload may stand for later identical ones: indexed. */
  payloadDigest?: string;
  /** Set when the record is a revisit: not the payload, but a pointer to the capture that holds it. */
  revisit?: RevisitOf;
}

/** A WARC record of an earlier capture, as a revisit names it. */
export interface EarlierRecord {
  targetUri: string;
  warcDate: string;
  /** "" when not known (the capture was itself a revisit). */
  recordId: string;
}

/** What a recrawl knows of a URL's earlier capture: the validators to ask with, and the record to refer to. */
export interface EarlierCapture extends EarlierRecord {
  etag: string;
  lastModified: string;
}

export interface RevisitOf {
  /** `identical-payload-digest` or `server-not-modified`. */
  profile: string;
  refersToUri: string;
  refersToDate: string;
  /** WARC-Record-ID of the record referred to, when known. */
  refersToId?: string;
}

/**
 * The first durable capture of a payload in a crawl: what later identical
 * payloads are written as revisits of. Keyed by [crawlId, payload digest].
 */
export interface DigestEntry {
  url: string;
  /** WARC-Date and WARC-Record-ID of the response record. */
  date: string;
  recordId: string;
  capture: { file: string; offset: number; length: number };
}

export interface UrlRecord {
  url: string;
  /** Sitemap documents are fetched like pages but yield URLs to queue, not links to follow. */
  kind?: "sitemap" | "tdmrep";
  crawlId: string;
  hostKey: string;
  origin: string;
  depth: number;
  state: UrlState;
  /** Leases issued for this URL so far. */
  attempts: number;
  discoveredAtMs: number;
  updatedAtMs: number;
  /** Not to be leased before this time (retry backoff). */
  notBeforeMs: number;
  /** The URL that linked here or redirected here; absent for seeds. */
  via?: string;
  /** In a recrawl: the URL's capture in the earlier crawl, asked for conditionally. */
  earlier?: EarlierCapture;
  /** Position in its host queue while queued. */
  queueKey?: QueueKey;
  /** The one lease allowed to complete this URL (fencing against late reports). */
  leaseId?: string;
  result?: FetchOutcome;
  reason?: SkipReason | FailReason;
  /** What the reason rests on, when it needs more than its name (the address refused and why). */
  reasonDetail?: string;
  /** Evidence: which robots.txt (digest) and line allowed or denied it, and what each reading said. */
  robots?: {
    digest: string;
    verdict: string;
    line?: number;
    readings?: { reading: string; allowed: boolean; line?: number }[];
    disagreement?: boolean;
  };
  /** Evidence: the delay that spaced this fetch from the previous one, its source, and every politeness key it counted against. */
  politeness?: { delayMs: number; source: DelaySource; keys: string[] };
  /** Evidence: each purpose's AI-use preference, and the signal that decided it (only when a signal spoke). */
  preferences?: PurposeDecision[];
}

export type QueueKey = [hostKey: string, depth: number, seq: number];

export type CrawlState = "running" | "paused" | "finished" | "cancelled";

/**
 * An operator's rule for a host or a whole domain (and its subdomains): `block`
 * (the site asked not to be crawled) or `slow` (a longer minimum delay). Rules
 * only ever make Heed more careful; they apply to every crawl at once.
 */
export interface HostPolicy {
  pattern: string;
  mode: "block" | "slow";
  minDelayMs: number;
  reason: string;
  createdAtMs: number;
}

/** A crawl as callers see it: its definition joined with its live counters. */
export interface CrawlRecord extends CrawlCounters {
  spec: CrawlSpec;
}

/**
 * What changes as a crawl runs, stored apart from its (possibly large, never
 * changing) definition so that every commit rewrites only the counters.
 */
export interface CrawlCounters {
  id: string;
  state: CrawlState;
  createdAtMs: number;
  finishedAtMs?: number;
  counts: Record<UrlState, number>;
  /** Page URLs that were ever leased: what `maxPages` bounds. */
  pagesLeased: number;
  bytes: number;
  statusCounts: Record<string, number>;
  skipCounts: Record<string, number>;
  hosts: number;
  /** Seeds added after creation (absent: none), kept apart from the definition so adding stays linear. */
  addedSeeds?: number;
}

export interface HostState {
  hostKey: string;
  /** No lease for this host starts before this time. */
  nextAllowedAtMs: number;
  inFlight: number;
  /** Evidence for the current delay: its length and where it came from. */
  delayMs: number;
  delaySource: DelaySource;
  consecutiveErrors: number;
  fetches: number;
  bytes: number;
  /** The largest minimum delay any crawl asked for on this host. */
  minDelayMs: number;
  /** The smallest concurrency any crawl allowed on this host. */
  maxConcurrency: number;
  /** Exponential back-off level: up by one per failure, halved by each success. */
  backoffLevel?: number;
  /** A parked host gets no requests until then (circuit breaker, Retry-After past the ceiling). */
  parkedUntilMs?: number;
  parkedReason?: string;
  lastFetchMs?: number;
  /** The address the host resolved to at its last fetch, as the worker reported it. */
  ip?: string;
  /** When the key's last request ended (report or expiry): the start of the gap metrics watch. */
  lastEndAtMs?: number;
  /**
   * The fetches of the crawl that last fetched the host, not yet added to its crawl-host record:
   * the host record is written with every report anyway, so counting here saves a write (and at
   * scale a page of its own) per fetch. Moved to the crawl-host record when another crawl fetches.
   */
  crawlFetches?: CrawlFetches;
}

/** A crawl's fetches of a host and their body bytes. */
export interface CrawlFetches {
  crawlId: string;
  fetches: number;
  bytes: number;
}

export type DelaySource = "none" | "min_delay" | "crawl_delay" | "adaptive" | "retry_after" | "error_backoff";

/** A crawl's use of one host, for its per-host budgets. */
export interface CrawlHostState {
  firstSeenMs: number;
  pages: number;
  bytes: number;
  windowStartMs: number;
  windowPages: number;
  /** Sitemap documents queued for this host. */
  sitemaps?: number;
  /**
   * Fetches (every lease kind) this crawl made of the host, and their body bytes; counted for every
   * crawl. The latest crawl's most recent ones are in the host record (see HostState.crawlFetches).
   */
  fetches?: number;
  fetchedBytes?: number;
}

export interface RobotsRecord extends RobotsPolicy {
  /** Set when a worker's address guard refused the origin's address: why (its pages are not asked for). */
  addressRefused?: string;
  /** The robots lease now in flight for this origin, if any. */
  pendingLeaseId?: string;
  /** When the next fetch may be tried, for unreachable answers. */
  nextAttemptAtMs: number;
  /**
   * While the robots.txt is being resolved through redirects: the next hop to
   * fetch (its own lease, on its host's politeness keys) and the URLs fetched
   * so far. The origin's pages wait until the chain ends.
   */
  following?: { url: string; chain: string[] };
  /** Evidence for a redirected robots.txt: every URL fetched, in order; the last one's answer is in force. */
  redirects?: string[];
}

/** A robots record as its table holds it: the text is in a table of its own (see store.ts). */
export type StoredRobots = Omit<RobotsRecord, "text">;

export type LeaseState = "active" | "reported" | "expired";

export interface LeaseRecord {
  id: string;
  kind: "page" | "robots";
  crawlId: string;
  url: string;
  /** For page leases: the URL record's key hash. */
  urlHash?: string;
  origin: string;
  hostKey: string;
  workerId: string;
  issuedAtMs: number;
  /** The fetch may not start before this; absent: at issue (a lease issued ahead of its host's due time). */
  startsAtMs?: number;
  expiresAtMs: number;
  /** Politeness keys besides the host (domain, group) whose slots this lease holds. */
  keys?: string[];
  /** Renewals never extend a lease past this: issue time + fetch timeout + margin. */
  maxExpiresAtMs: number;
  attempt: number;
  state: LeaseState;
  endedAtMs?: number;
  /**
   * When the request was over, as its phase-one report bounds it (the host's
   * delay ran from then): the slots were freed, so neither the full report nor
   * the expiry frees them again. The lease stays active until one of those.
   */
  requestEndedAtMs?: number;
}

/** An origin's TDM reservations (W3C TDMRep): its tdmrep.json rules and whether a page's header reserved all. */
export interface TdmRecord {
  origin: string;
  fetchedAtMs: number;
  rules: { pattern: string; reserved: boolean }[];
  /** A page of the origin answered `tdm-reservation: 1`: taken as reserving the whole origin. */
  headerReserved?: boolean;
}

/** What a URL is fetched as: a page, robots.txt, a sitemap document, or an origin's tdmrep.json. */
export type GrantKind = "page" | "robots" | "sitemap" | "tdmrep";

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  maxOutlinks: number;
}

/**
 * A lease as the frontier grants it: what to fetch, until when, within which
 * limits and as whom. The transport turns it into its wire form.
 */
export interface LeaseGrant {
  id: string;
  crawlId: string;
  url: string;
  hostKey: string;
  kind: GrantKind;
  issuedAtMs: number;
  /** The fetch may not start before this (a lease may be issued shortly before its host is due). */
  startsAtMs: number;
  expiresAtMs: number;
  attempt: number;
  limits: FetchLimits;
  userAgent: CrawlSpec["userAgent"];
  allowPrivateAddresses: boolean;
  /** Sign with Web Bot Auth (workers hold the key; the grant carries only this flag). */
  signRequests: boolean;
  /** Ask the frontier whether a fetched payload is held already, and write a revisit if it is. */
  dedupPayloads: boolean;
  /** Why this fetch was allowed, for the worker to write beside its capture. */
  evidence: LeaseEvidence;
  /** The crawl's purposes: the worker keeps no page its response refuses for all of them. */
  purposes: CrawlPurpose[];
  /** A recrawl's page: its earlier capture (validators for a conditional request, the record a 304 refers to). */
  earlier?: EarlierCapture;
}

/** The politeness evidence of one lease: the deciding robots.txt and line, the delay and its source, the keys counted. */
export interface LeaseEvidence {
  robotsUrl: string;
  robotsDigest: string;
  robotsVerdict: string;
  robotsLine: number;
  robotsRule: string;
  delayMs: number;
  delaySource: string;
  politenessKeys: string[];
}

/** The answer to one lease renewal. */
export interface RenewAnswer {
  leaseId: string;
  renewed: boolean;
  expiresAtMs: number;
  reason: string;
}

/** Why a fetch produced no usable answer; `released` means a draining worker handed the lease back unfetched. */
export type FetchErrorKind =
  | "timeout"
  | "connect"
  | "dns"
  | "blocked_address"
  | "protocol"
  | "lease_window"
  | "invalid_url"
  | "too_many_redirects"
  | "other"
  | "released";

/** What a worker reports for one lease. Fields that do not apply to the lease's kind are empty. */
export interface FetchReport {
  leaseId: string;
  startedAtMs: number;
  finishedAtMs: number;
  statusCode: number;
  contentType: string;
  bodyBytes: number;
  truncated: boolean;
  digestSha256: string;
  outlinks: string[];
  redirectLocation: string;
  error?: { kind: FetchErrorKind; code: string; message: string };
  /** The site's Retry-After header, as sent. */
  retryAfter: string;
  nofollow: boolean;
  noindex: boolean;
  noarchive: boolean;
  remoteAddress: string;
  /** Robots leases: the robots.txt text. */
  robotsBody: string;
  /** Sitemap leases: the document was a sitemap index, so its outlinks are sitemaps. */
  sitemapIndex: boolean;
  tdmReserved: boolean;
  /** The page's Content-Usage header (AI-use preferences), as sent; "" when absent. */
  contentUsage: string;
  /** tdmrep leases: the tdmrep.json text. */
  wellKnownBody: string;
  /** Where the worker's WARC record of the response is, once durable. */
  capture?: CaptureLocation;
  /**
   * Phase one of a page's report: the request is over, its capture not yet
   * durable. Only the fields politeness needs are read; the URL waits for the
   * full report.
   */
  requestEnded?: true;
  /**
   * How long the worker held the result before sending it (its monotonic clock): the request
   * ended at least this long before the report arrived.
   */
  heldMs?: number;
  /** The response's ETag and Last-Modified headers, as sent; "" or absent when the site sent none. */
  etag?: string;
  lastModified?: string;
}

export type ReportOutcome = "accepted" | "duplicate" | "unknown_lease" | "expired";

/** The answer to one reported result: applied, or why not. */
export interface ReportAnswer {
  leaseId: string;
  outcome: ReportOutcome;
  reason: string;
}

/**
 * A discovered URL that belongs to another shard, kept in the same commit as
 * the report or seed that found it, until the URL stream has acknowledged it.
 */
export interface OutboxEntry {
  /** The shard that owns the URL's host. */
  shard: string;
  crawlId: string;
  /** Canonical. */
  url: string;
  depth: number;
  via?: string;
  kind?: UrlRecord["kind"];
}

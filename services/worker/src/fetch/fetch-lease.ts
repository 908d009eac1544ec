import { hash } from "node:crypto";
import { isIP } from "node:net";
import { canonicalizeUrl, proto, type RequestSigner, sleep, tryCanonicalizeUrl } from "@heed/shared";
import type { Dispatcher } from "undici";
import { type Exchange, headerMap } from "../capture/exchange.js";
import { directivesFromHeader } from "../links/directives.js";
import { decodeText, extractLinks } from "../links/extract.js";
import { parseSitemap } from "../links/sitemap.js";
import { ACCEPT_ENCODING, type BodyRead, contentDecoder } from "./body.js";
import { classifyFetchError, FetchFailure } from "./errors.js";
import { get } from "./get.js";
import { checkLiteralHost } from "./guard.js";
import { signatureHeaders } from "./signing.js";

const Kind = proto.FetchErrorKind;

/** Stop this long before a lease expires, so the coordinator never sees two fetches of one host overlap. */
export const LEASE_SAFETY_MS = 500;

export interface FetchDeps {
  /** Dispatcher that refuses private addresses, and one that does not (used only when both sides allow it). */
  guarded: Dispatcher;
  open: Dispatcher;
  allowPrivateAddresses: boolean;
  clock?: () => number;
  /** The lease's current expiry; renewals move it. Defaults to the expiry it was issued with. */
  leaseExpiresAt?: () => number;
  /** The address a host name last resolved to (reported for politeness by IP). */
  addressOf?: (hostname: string) => string | undefined;
  /** Told of every whole HTTP exchange (redirect hops included), for the capture. */
  onExchange?: (exchange: Exchange) => void;
  /** Web Bot Auth signer, for crawls that sign their requests. */
  signer?: RequestSigner;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? "") : (v ?? "");
}

function headerList(headers: Record<string, string | string[] | undefined>, name: string): string[] {
  const v = headers[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function productOf(userAgent: string): string {
  return /^[A-Za-z_-]+/.exec(userAgent)?.[0] ?? "";
}

function emptyResult(lease: proto.Lease, startedAtMs: number): proto.FetchResult {
  return proto.FetchResult.fromPartial({ leaseId: lease.id, startedAtMs, finishedAtMs: startedAtMs });
}

/**
 * Fetches exactly what a lease allows: one request, not before its window
 * opens, never after it closes, within its timeout and byte limits. A redirect
 * is reported, never followed (robots.txt hops too: each is its own lease, so
 * it is spaced like every request). Always resolves to a result; failures are
 * typed in `result.error`.
 */
export async function fetchLease(
  lease: proto.Lease,
  deps: FetchDeps,
  signal?: AbortSignal,
): Promise<proto.FetchResult> {
  const clock = deps.clock ?? Date.now;
  const limits = lease.limits ?? {
    timeoutMs: 30_000,
    maxBytes: 1024 * 1024,
    maxRedirects: 0,
    maxOutlinks: 0,
  };
  const expiresAt = deps.leaseExpiresAt ?? (() => lease.expiresAtMs);
  const closesAt = expiresAt() - LEASE_SAFETY_MS;
  // A timer may fire a millisecond early: wait until the clock says the window is open.
  while (lease.notBeforeMs > clock() && signal?.aborted !== true) {
    await sleep(lease.notBeforeMs - clock() + 1, signal);
  }
  const startedAtMs = clock();
  const result = emptyResult(lease, startedAtMs);
  if (startedAtMs >= closesAt || startedAtMs < lease.notBeforeMs || signal?.aborted) {
    result.error = {
      kind: Kind.FETCH_ERROR_KIND_LEASE_WINDOW,
      code: "HEED_LEASE_WINDOW",
      message: "outside the lease's window; not fetched",
    };
    return result;
  }
  const deadline = startedAtMs + limits.timeoutMs;
  const ends = watchFetchEnds(deadline, () => expiresAt() - LEASE_SAFETY_MS, clock, signal);
  const dispatcher = deps.allowPrivateAddresses && lease.allowPrivateAddresses ? deps.open : deps.guarded;
  const guardLiterals = dispatcher === deps.guarded;
  const robots = lease.kind === proto.LeaseKind.LEASE_KIND_ROBOTS;
  try {
    const url = canonicalizeUrl(lease.url);
    const target = new URL(url);
    if (guardLiterals) checkLiteralHost(target);
    const remaining = deadline - clock();
    const requestHeaders: [string, string][] = [
      ["user-agent", lease.userAgent],
      ...(lease.from ? ([["from", lease.from]] as [string, string][]) : []),
      ["accept", robots ? "text/plain, */*;q=0.5" : "text/html, application/xhtml+xml, */*;q=0.8"],
      ["accept-encoding", ACCEPT_ENCODING],
      ...conditionalHeaders(lease),
      ...Object.entries(signatureHeaders(lease, deps.signer, url)),
    ];
    const sentAtMs = clock();
    let headers: Record<string, string | string[]> = {};
    const got = await get(target, {
      dispatcher,
      signal: ends.signal,
      headersTimeout: remaining,
      bodyTimeout: remaining,
      headers: Object.fromEntries(requestHeaders),
      maxBytes: Number(limits.maxBytes),
      plan: (answer) => {
        headers = headerMap(answer.headers);
        // A redirect's own body is only captured, never parsed: it is kept as it came.
        return isRedirect(answer.statusCode, headers)
          ? undefined
          : contentDecoder(header(headers, "content-encoding"));
      },
    });
    const res = got.answer;
    const hostname = target.hostname.replace(/^\[|\]$/g, "");
    result.remoteAddress = isIP(hostname) !== 0 ? hostname : (deps.addressOf?.(hostname) ?? "");
    const responseHeaders = res.headers;
    const exchange = (body: BodyRead, payloadDigest?: string): void =>
      deps.onExchange?.({
        url,
        startedAtMs: sentAtMs,
        remoteAddress: result.remoteAddress,
        method: "GET",
        requestHeaders: [["host", target.host], ...requestHeaders],
        status: res.statusCode,
        statusText: res.statusText,
        responseHeaders,
        body: body.raw,
        bodyBytes: body.rawBytes,
        truncated: !body.rawComplete,
        ...(payloadDigest !== undefined ? { payloadDigest } : {}),
      });
    if (isRedirect(res.statusCode, headers)) {
      const next = tryCanonicalizeUrl(header(headers, "location"), url);
      // A redirect's own body is read (within the lease's limit) so its capture is whole.
      const body = await got.body.catch(() => undefined);
      // A body that failed mid-way is not captured: no record rather than one that lies.
      if (body !== undefined) exchange(body);
      result.statusCode = res.statusCode;
      result.finishedAtMs = clock();
      // A robots.txt redirect too: the coordinator leases each hop on its host's politeness keys.
      if (next.ok) result.redirectLocation = next.url;
      if (robots) result.finalUrl = url;
      return result;
    }
    const contentType = header(headers, "content-type");
    const body = await got.body;
    result.finishedAtMs = clock();
    // One-shot: a hash object per page costs more than hashing a small page.
    result.digestSha256 = hash("sha256", body.bytes, "hex");
    // Without a content-encoding the wire bytes are the decoded ones: the capture's payload digest is this one.
    exchange(body, body.plain ? `sha256:${result.digestSha256}` : undefined);
    result.statusCode = res.statusCode;
    result.contentType = contentType;
    result.bodyBytes = body.bytes.length;
    result.truncated = body.truncated;
    result.retryAfter = header(headers, "retry-after");
    result.etag = header(headers, "etag");
    result.lastModified = header(headers, "last-modified");
    if (robots) {
      result.robotsBody = body.bytes.toString("utf8");
      result.finalUrl = url;
      return result;
    }
    if (lease.kind === proto.LeaseKind.LEASE_KIND_TDMREP) {
      result.wellKnownBody = body.bytes.toString("utf8");
      return result;
    }
    if (lease.kind === proto.LeaseKind.LEASE_KIND_SITEMAP) {
      if (res.statusCode >= 200 && res.statusCode < 300) {
        const sitemap = parseSitemap(body.bytes, limits.maxOutlinks, Number(limits.maxBytes));
        result.outlinks = sitemap.locs;
        result.sitemapIndex = sitemap.isIndex;
      }
      return result;
    }
    const product = productOf(lease.userAgent);
    const fromHeader = directivesFromHeader(headerList(headers, "x-robots-tag"), product);
    const isHtml = /^(text\/html|application\/xhtml\+xml)/i.test(contentType);
    result.tdmReserved = header(headers, "tdm-reservation").trim() === "1";
    // AI-use preferences (draft-ietf-aipref-attach-05 §3); repeated field lines join into one dictionary.
    result.contentUsage = headerList(headers, "content-usage").join(", ").slice(0, 4096);
    if (isHtml && res.statusCode >= 200 && res.statusCode < 300) {
      const page = extractLinks(decodeText(body.bytes, contentType), url, product, limits.maxOutlinks);
      result.nofollow = fromHeader.nofollow || page.directives.nofollow;
      result.noindex = fromHeader.noindex || page.directives.noindex;
      result.noarchive = fromHeader.noarchive || page.directives.noarchive;
      result.tdmReserved = result.tdmReserved || page.tdmReserved;
      result.outlinks = result.nofollow ? [] : page.links;
    } else {
      result.nofollow = fromHeader.nofollow;
      result.noindex = fromHeader.noindex;
      result.noarchive = fromHeader.noarchive;
    }
    return result;
  } catch (err) {
    result.finishedAtMs = clock();
    if (ends.windowClosed()) {
      result.error = {
        kind: Kind.FETCH_ERROR_KIND_LEASE_WINDOW,
        code: "HEED_LEASE_WINDOW",
        message: "the lease ran out mid-fetch",
      };
      return result;
    }
    const failure = classifyFetchError(err);
    result.error = { kind: failure.kind, code: failure.code, message: failure.message.slice(0, 500) };
    return result;
  } finally {
    ends.stop();
  }
}

/**
 * A recrawl asks for a page only if it changed since its earlier capture
 * (RFC 9110 §13.1): If-None-Match with the ETag it had, If-Modified-Since with
 * its Last-Modified, as the site sent them.
 */
function conditionalHeaders(lease: proto.Lease): [string, string][] {
  const earlier = lease.earlier;
  if (earlier === undefined || lease.kind !== proto.LeaseKind.LEASE_KIND_PAGE) return [];
  const out: [string, string][] = [];
  if (earlier.etag !== "") out.push(["if-none-match", earlier.etag]);
  if (earlier.lastModified !== "") out.push(["if-modified-since", earlier.lastModified]);
  return out;
}

/** A redirect the lease reports (never follows): a 3xx with somewhere to go. */
function isRedirect(status: number, headers: Record<string, string | string[]>): boolean {
  return status >= 300 && status < 400 && header(headers, "location") !== "";
}

/**
 * One timer and one signal for everything that ends a fetch early: its
 * timeout, the lease's window closing and the lease being handed back. (A
 * plain timer, not AbortSignal.timeout(): a timeout signal held only by
 * AbortSignal.any() can be garbage-collected before it fires.) The close time
 * is re-read when the timer fires, so a renewal made meanwhile keeps the
 * fetch going.
 */
function watchFetchEnds(
  deadline: number,
  closesAt: () => number,
  clock: () => number,
  released: AbortSignal | undefined,
): { signal: AbortSignal; windowClosed(): boolean; stop(): void } {
  const controller = new AbortController();
  let windowClosed = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const now = clock();
    const close = closesAt();
    if (close <= now) {
      windowClosed = true;
      controller.abort();
    } else if (deadline <= now) controller.abort();
    else timer = setTimeout(arm, Math.min(close, deadline) - now);
  };
  const onReleased = () => controller.abort();
  if (released?.aborted) controller.abort();
  else released?.addEventListener("abort", onReleased, { once: true });
  arm();
  return {
    signal: controller.signal,
    windowClosed: () => windowClosed,
    stop: () => {
      clearTimeout(timer);
      released?.removeEventListener("abort", onReleased);
    },
  };
}

export { FetchFailure };

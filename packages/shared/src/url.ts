import { parse as parseHost } from "tldts";
import { InvalidUrlError } from "./errors.js";

/** Longer URLs are almost always traps (session ids, calendars); refuse rather than store them. */
export const MAX_URL_LENGTH = 8192;

const UNRESERVED = /[A-Za-z0-9\-._~]/;

// Decode escapes of unreserved characters and upper-case the rest, so that
// `%7e`, `%7E` and `~` dedupe to one URL. Reserved escapes keep their meaning.
function normalizeEscapes(part: string): string {
  return part.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
}

/** Why a URL was refused, as a value: outlinks are untrusted input, and most bad ones are no surprise. */
export interface UrlRefusal {
  code: string;
  message: string;
}

const refused = (code: string, message: string): UrlRefusal => ({ code, message });

/** A scheme other than http(s) spelled out at the start (mailto:, javascript:, tel:, data:). */
const OTHER_SCHEME = /^(?!https?:)[A-Za-z][A-Za-z0-9+.-]*:/i;

/**
 * The canonical form, or why there is none. Refusals are values, not thrown:
 * a page's mailto: and javascript: links cost an Error with its stack trace
 * each otherwise, a visible share of a worker's time per page.
 */
function canonicalize(input: string, base: string | undefined): string | UrlRefusal {
  const trimmed = input.trim();
  if (trimmed === "") return refused("HEED_URL_EMPTY", "empty URL");
  if (trimmed.length > MAX_URL_LENGTH) {
    return refused("HEED_URL_TOO_LONG", `URL longer than ${MAX_URL_LENGTH} characters`);
  }
  const scheme = OTHER_SCHEME.exec(trimmed);
  if (scheme !== null) {
    return refused("HEED_URL_SCHEME", `unsupported scheme ${scheme[0].toLowerCase()} (only http and https)`);
  }
  const url = URL.parse(trimmed, base);
  if (url === null) return refused("HEED_URL_SYNTAX", `not a valid URL: ${clip(trimmed)}`);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return refused("HEED_URL_SCHEME", `unsupported scheme ${url.protocol} (only http and https)`);
  }
  if (url.username !== "" || url.password !== "") {
    return refused("HEED_URL_CREDENTIALS", "URLs with credentials are refused");
  }
  if (url.hostname === "") return refused("HEED_URL_SYNTAX", "URL has no host");
  // Each URL setter re-serialises the whole URL: only the parts that change are set.
  if (url.hash !== "") url.hash = "";
  if (url.hostname.endsWith(".")) url.hostname = url.hostname.replace(/\.+$/, "");
  if (url.hostname === "") return refused("HEED_URL_SYNTAX", "URL has no host");
  if (url.pathname.includes("%")) url.pathname = normalizeEscapes(url.pathname);
  if (url.search.includes("%")) url.search = normalizeEscapes(url.search);
  const out = url.href;
  if (out.length > MAX_URL_LENGTH) {
    return refused("HEED_URL_TOO_LONG", `URL longer than ${MAX_URL_LENGTH} characters`);
  }
  return out;
}

/**
 * The one canonical form Heed dedupes on. Lower-case scheme and host, IDN to
 * punycode, default port and fragment dropped, trailing host dot dropped,
 * dot segments resolved, escapes normalised. Throws InvalidUrlError.
 */
export function canonicalizeUrl(input: string, base?: string): string {
  const out = canonicalize(input, base);
  if (typeof out === "string") return out;
  throw new InvalidUrlError(out.code, out.message);
}

export type CanonicalResult = { ok: true; url: string } | { ok: false; error: UrlRefusal };

/** For hot paths over untrusted input (outlinks), where a bad URL is data, not an exception. */
export function tryCanonicalizeUrl(input: string, base?: string): CanonicalResult {
  const out = canonicalize(input, base);
  return typeof out === "string" ? { ok: true, url: out } : { ok: false, error: out };
}

/** `scheme://host[:port]`: the unit robots.txt applies to. */
export function originOf(canonicalUrl: string): string {
  return new URL(canonicalUrl).origin;
}

/** The politeness key: the host name (without port), shared by every crawl and scheme. */
export function hostKeyOf(canonicalUrl: string): string {
  return new URL(canonicalUrl).hostname;
}

export function robotsUrlOf(origin: string): string {
  return `${origin}/robots.txt`;
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/**
 * Whether a name is itself a public suffix (com, co.uk, and hosting platforms
 * such as github.io): a scope or a block on one reaches every site under it.
 */
export function isPublicSuffix(name: string): boolean {
  const parsed = parseHost(name, { allowPrivateDomains: true });
  return (
    parsed.domain === null &&
    parsed.publicSuffix === name &&
    (parsed.isIcann === true || parsed.isPrivate === true)
  );
}

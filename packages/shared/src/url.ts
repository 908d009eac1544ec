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

/**
 * The one canonical form Heed dedupes on. Lower-case scheme and host, IDN to
 * punycode, default port and fragment dropped, trailing host dot dropped,
 * dot segments resolved, escapes normalised. Throws InvalidUrlError.
 */
export function canonicalizeUrl(input: string, base?: string): string {
  const trimmed = input.trim();
  if (trimmed === "") throw new InvalidUrlError("HEED_URL_EMPTY", "empty URL");
  if (trimmed.length > MAX_URL_LENGTH) {
    throw new InvalidUrlError("HEED_URL_TOO_LONG", `URL longer than ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(trimmed, base);
  } catch (cause) {
    throw new InvalidUrlError("HEED_URL_SYNTAX", `not a valid URL: ${clip(trimmed)}`, { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidUrlError("HEED_URL_SCHEME", `unsupported scheme ${url.protocol} (only http and https)`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new InvalidUrlError("HEED_URL_CREDENTIALS", "URLs with credentials are refused");
  }
  if (url.hostname === "") throw new InvalidUrlError("HEED_URL_SYNTAX", "URL has no host");
  url.hash = "";
  if (url.hostname.endsWith(".")) url.hostname = url.hostname.replace(/\.+$/, "");
  if (url.hostname === "") throw new InvalidUrlError("HEED_URL_SYNTAX", "URL has no host");
  url.pathname = normalizeEscapes(url.pathname);
  if (url.search !== "") url.search = normalizeEscapes(url.search);
  const out = url.href;
  if (out.length > MAX_URL_LENGTH) {
    throw new InvalidUrlError("HEED_URL_TOO_LONG", `URL longer than ${MAX_URL_LENGTH} characters`);
  }
  return out;
}

export type CanonicalResult = { ok: true; url: string } | { ok: false; error: InvalidUrlError };

/** For hot paths over untrusted input (outlinks), where a bad URL is data, not an exception. */
export function tryCanonicalizeUrl(input: string, base?: string): CanonicalResult {
  try {
    return { ok: true, url: canonicalizeUrl(input, base) };
  } catch (error) {
    if (error instanceof InvalidUrlError) return { ok: false, error };
    throw error;
  }
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

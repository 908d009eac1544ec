/**
 * Allow/Disallow values and URL paths, as RFC 9309 §2.2.2 compares them, with the
 * Google reference parser's (google/robotstxt) normalisations.
 */

/** A rule value ready to be matched: `glob` matches whole paths, `*` being the only wildcard. */
export interface CompiledPattern {
  glob: string;
  /** Longest match wins (RFC 9309 §2.2.2): the length of the normalised value, `*` and `$` included. */
  priority: number;
}

/**
 * Percent-encodes octets outside ASCII and upper-cases existing escapes, so that rule
 * values compare with percent-encoded URLs. `octets` holds one char per octet (latin1).
 */
export function escapeRuleValue(octets: string): string {
  return octets.replace(/%[0-9A-Fa-f]{2}|[\x80-\xff]/g, (m) =>
    m.length === 3 ? m.toUpperCase() : `%${m.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A rule value matches any path it is a prefix of, unless a final `$` anchors it to the end. */
export function compilePattern(value: string): CompiledPattern {
  const glob = value.endsWith("$") ? value.slice(0, -1) : `${value}*`;
  return { glob, priority: value.length };
}

/**
 * Google treats an allowed ".../index.htm[l]" as allowing its directory too
 * ("/dir/index.html" also allows exactly "/dir/"). Only Allow rules get this.
 */
export function indexDirectoryPattern(value: string): CompiledPattern | undefined {
  const slash = value.lastIndexOf("/");
  if (slash < 0 || !value.startsWith("/index.htm", slash)) return undefined;
  return compilePattern(`${value.slice(0, slash + 1)}$`);
}

/**
 * Whether `glob` matches all of `text`. Greedy with backtracking to the last `*` only,
 * which is exact when `*` is the sole wildcard and keeps hostile patterns at O(n·m).
 */
export function globMatches(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (glob[g] === "*") {
      star = g++;
      resume = t;
    } else if (g < glob.length && glob[g] === text[t]) {
      g++;
      t++;
    } else if (star >= 0) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (glob[g] === "*") g++;
  return g === glob.length;
}

function indexOfAny(s: string, chars: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (chars.includes(s.charAt(i))) return i;
  }
  return -1;
}

/**
 * The part of a URL robots.txt rules are matched against: path, params and query,
 * always starting with "/". Works on the string as given, like the reference: the URL
 * is expected percent-encoded already (Heed's canonical URLs are), and a raw non-ASCII
 * character must not match an escaped rule. Escapes are upper-cased, as rules' are.
 */
export function matchablePath(url: string): string {
  const start = url.startsWith("//") ? 2 : 0;
  const earlyPath = indexOfAny(url, "/?;", start);
  let authority = url.indexOf("://", start);
  // A "://" after the path has started (e.g. in a query) is not a scheme separator.
  authority = authority < 0 || (earlyPath >= 0 && earlyPath < authority) ? start : authority + 3;
  const pathStart = indexOfAny(url, "/?;", authority);
  if (pathStart < 0) return "/";
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < pathStart) return "/";
  const path = url.slice(pathStart, hash < 0 ? url.length : hash);
  const rooted = path.startsWith("/") ? path : `/${path}`;
  return rooted.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase());
}

/**
 * The strict reading of RFC 9309: what the text of the RFC asks, without the
 * leniencies of Google's reference parser (see parse.ts). Where the two differ:
 *
 * - §2.2.2 encoding, taken literally: octets outside ASCII and those in RFC 3986's
 *   reserved set compare percent-encoded, escapes of unreserved characters compare
 *   decoded, and anything else (a space, `"`, `{`…) is percent-encoded before
 *   comparison, in rules and URLs alike. So `/` and `%2F` are one octet, as are a
 *   URL's `*` and `%2A` or `$` and `%24`, and `b` and `%62`; Google compares as written.
 * - Keys are exactly `user-agent`, `allow`, `disallow` and `sitemap` (case-insensitive),
 *   each with a colon: no typos, no missing colon, no `crawl-delay` (not in the RFC).
 * - A user-agent value is a product token only if all of it is one (letters, `_`, `-`),
 *   or exactly `*`: "FooBot/1.0" or "FooBot extra" names no crawler, where Google keeps
 *   the leading token.
 * - Lines are not cut short, and an allowed `…/index.html` allows only itself.
 *
 * Groups are formed and merged, and the longest match decided, as in agent.ts.
 */
import type { ParsedRobots, RobotsGroup, RobotsRule } from "./parse.js";
import { asciiLower, octetsOf, stripAsciiSpace, withoutByteOrderMark } from "./parse.js";
import { compilePattern } from "./pattern.js";

const UNRESERVED = /[A-Za-z0-9\-._~]/;
// RFC 3986 reserved characters that stay as they are; `*` and `$` mean something in rules,
// so as octets (a URL's, or an escaped one in a rule) they are always written %2A and %24.
const RESERVED_KEPT = /[:/?#[\]@!&'()+,;=]/;

function encodedOctet(octet: string): string {
  if (UNRESERVED.test(octet) || RESERVED_KEPT.test(octet)) return octet;
  return `%${octet.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
}

// Every octet's canonical form, worked out once: a long file has tens of thousands of them.
const ENCODED = Array.from({ length: 256 }, (_, code) => encodedOctet(String.fromCharCode(code)));

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * One canonical form for comparison. `octets` holds one char per octet (latin1). In a
 * rule, a raw `*` is the wildcard and a final raw `$` the end anchor; in a URL they are octets.
 */
export function strictCanonical(octets: string, rule: boolean): string {
  let out = "";
  for (let i = 0; i < octets.length; i++) {
    const code = octets.charCodeAt(i);
    if (code === 37) {
      const high = hexValue(octets.charCodeAt(i + 1));
      const low = hexValue(octets.charCodeAt(i + 2));
      if (high >= 0 && low >= 0) {
        out += ENCODED[high * 16 + low];
        i += 2;
        continue;
      }
    }
    if (rule && (code === 42 || (code === 36 && i === octets.length - 1))) out += octets.charAt(i);
    else out += ENCODED[code] ?? encodedOctet(octets.charAt(i));
  }
  return out;
}

/** The path of a URL (as matchablePath gives it) in the strict reading's canonical form. */
export function strictPath(path: string): string {
  return strictCanonical(octetsOf(path), false);
}

type Key = "user-agent" | "allow" | "disallow" | "sitemap";
const KEYS: readonly Key[] = ["user-agent", "allow", "disallow", "sitemap"];

function keyValueOf(line: string): [Key, string] | undefined {
  const hash = line.indexOf("#");
  const content = hash < 0 ? line : line.slice(0, hash);
  const colon = content.indexOf(":");
  if (colon < 0) return undefined;
  const key = asciiLower(stripAsciiSpace(content.slice(0, colon)));
  const known = KEYS.find((k) => k === key);
  return known === undefined ? undefined : [known, stripAsciiSpace(content.slice(colon + 1))];
}

/** robots.txt as RFC 9309 reads it, in the shape agent.ts decides with. */
export function parseRobotsTxtStrictly(text: string): ParsedRobots {
  const groups: RobotsGroup[] = [];
  const sitemaps: string[] = [];
  let group: RobotsGroup | undefined;
  const lines = octetsOf(withoutByteOrderMark(text)).split(/\r\n|\r|\n/);
  lines.forEach((raw, index) => {
    const keyValue = keyValueOf(raw);
    if (keyValue === undefined) return;
    const [key, value] = keyValue;
    switch (key) {
      case "user-agent":
        if (group === undefined || group.rules.length > 0) {
          group = { agents: [], global: false, rules: [], crawlDelaysSeconds: [] };
          groups.push(group);
        }
        if (value === "*") group.global = true;
        else if (/^[A-Za-z_-]+$/.test(value)) group.agents.push(asciiLower(value));
        break;
      case "allow":
      case "disallow": {
        const rule: RobotsRule = {
          allow: key === "allow",
          line: index + 1,
          pattern: compilePattern(strictCanonical(value, true)),
        };
        group?.rules.push(rule);
        break;
      }
      case "sitemap":
        if (value !== "") sitemaps.push(value);
        break;
    }
  });
  return { groups, sitemaps };
}

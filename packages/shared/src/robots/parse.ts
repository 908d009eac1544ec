/**
 * robots.txt parsing per RFC 9309, with the leniencies of Google's reference parser
 * (google/robotstxt) so that Heed reads files the way site owners test them.
 *
 * Lines are handled as octets (one latin1 char per byte): RFC 9309 matches
 * percent-encoded octets, and the reference bounds lines in bytes.
 */
import { type CompiledPattern, compilePattern, escapeRuleValue, indexDirectoryPattern } from "./pattern.js";

export interface RobotsRule {
  allow: boolean;
  /** 1-based line number in the robots.txt. */
  line: number;
  pattern: CompiledPattern;
  /** Allow rules for ".../index.html" also allow the directory itself. */
  indexDirectory?: CompiledPattern;
}

export interface RobotsGroup {
  /** Product tokens of the group's user-agent lines, lower-cased. */
  agents: string[];
  /** A `User-agent: *` line belongs to the group. */
  global: boolean;
  rules: RobotsRule[];
  crawlDelaysSeconds: number[];
}

export interface ParsedRobots {
  groups: RobotsGroup[];
  sitemaps: string[];
}

// Google's parser keeps 2083 * 8 - 1 octets of a line (eight maximal browser URLs) and drops the rest.
const MAX_LINE_OCTETS = 2083 * 8 - 1;

type Directive = "user-agent" | "allow" | "disallow" | "sitemap" | "crawl-delay";

// Keys match by case-insensitive prefix, typos included, as in the reference parser.
const KEY_PREFIXES: readonly (readonly [Directive, readonly string[]])[] = [
  ["user-agent", ["user-agent", "useragent", "user agent"]],
  ["allow", ["allow"]],
  ["disallow", ["disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"]],
  ["sitemap", ["sitemap", "site-map"]],
  ["crawl-delay", ["crawl-delay"]],
];

const ASCII_SPACE = " \t\n\v\f\r";

export function stripAsciiSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && ASCII_SPACE.includes(s.charAt(start))) start++;
  while (end > start && ASCII_SPACE.includes(s.charAt(end - 1))) end--;
  return s.slice(start, end);
}

/** ASCII-only lower-casing, as the reference compares agents; Unicode folding could match more. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

function directiveOf(key: string): Directive | undefined {
  const lower = asciiLower(key);
  for (const [directive, prefixes] of KEY_PREFIXES) {
    if (prefixes.some((p) => lower.startsWith(p))) return directive;
  }
  return undefined;
}

/**
 * Splits "key: value" after dropping the comment. Google also accepts a missing colon
 * ("disallow /") when the line is exactly two words.
 */
function keyValueOf(line: string): [string, string] | undefined {
  const hash = line.indexOf("#");
  const content = stripAsciiSpace(hash < 0 ? line : line.slice(0, hash));
  let separator = content.indexOf(":");
  if (separator < 0) {
    separator = content.search(/[ \t]/);
    if (separator < 0 || /[ \t]/.test(content.slice(separator).replace(/^[ \t]+/, ""))) return undefined;
  }
  const key = stripAsciiSpace(content.slice(0, separator));
  return key === "" ? undefined : [key, stripAsciiSpace(content.slice(separator + 1))];
}

/**
 * A UTF-8 BOM is skipped. The worker decodes bodies as UTF-8, where a truncated BOM
 * (which the reference also skips) becomes one U+FFFD, so that is skipped too.
 */
export function withoutByteOrderMark(text: string): string {
  return text.startsWith("\uFEFF") || text.startsWith("\uFFFD") ? text.slice(1) : text;
}

export function octetsOf(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

function textOf(octets: string): string {
  return Buffer.from(octets, "latin1").toString("utf8");
}

function newGroup(): RobotsGroup {
  return { agents: [], global: false, rules: [], crawlDelaysSeconds: [] };
}

// "*" alone, or followed by a space and anything (Google's leniency), names the global group.
function addAgent(group: RobotsGroup, value: string): void {
  if (value.startsWith("*") && (value.length === 1 || ASCII_SPACE.includes(value.charAt(1)))) {
    group.global = true;
    return;
  }
  // The product token is the leading run of RFC 9309 token characters: "FooBot/1.0" is FooBot.
  group.agents.push(asciiLower(/^[A-Za-z_-]*/.exec(value)?.[0] ?? ""));
}

function ruleOf(allow: boolean, value: string, line: number): RobotsRule {
  const escaped = escapeRuleValue(value);
  const indexDirectory = allow ? indexDirectoryPattern(escaped) : undefined;
  return { allow, line, pattern: compilePattern(escaped), ...(indexDirectory ? { indexDirectory } : {}) };
}

function crawlDelayOf(value: string): number | undefined {
  return /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : undefined;
}

export function parseRobotsTxt(text: string): ParsedRobots {
  const groups: RobotsGroup[] = [];
  const sitemaps: string[] = [];
  let group: RobotsGroup | undefined;
  const lines = octetsOf(withoutByteOrderMark(text)).split(/\r\n|\r|\n/);
  lines.forEach((raw, index) => {
    const keyValue = keyValueOf(raw.slice(0, MAX_LINE_OCTETS));
    if (keyValue === undefined) return;
    const [key, value] = keyValue;
    const directive = directiveOf(key);
    switch (directive) {
      case "user-agent":
        // Only an Allow/Disallow ends a group's user-agent lines; other lines do not.
        if (group === undefined || group.rules.length > 0) {
          group = newGroup();
          groups.push(group);
        }
        addAgent(group, value);
        break;
      case "allow":
      case "disallow":
        // Rules before the first user-agent line belong to no group.
        group?.rules.push(ruleOf(directive === "allow", value, index + 1));
        break;
      case "crawl-delay": {
        const seconds = crawlDelayOf(value);
        if (seconds !== undefined) group?.crawlDelaysSeconds.push(seconds);
        break;
      }
      case "sitemap":
        if (value !== "") sitemaps.push(textOf(value));
        break;
      case undefined:
        break;
    }
  });
  return { groups, sitemaps };
}

/**
 * `Content-Usage` rules in robots.txt (draft-ietf-aipref-attach-05 §4): a path
 * and a preference expression, inside the same user-agent groups as Allow and
 * Disallow. Read here, apart from the Allow/Disallow parser, from the robots.txt
 * text the frontier already keeps.
 */
import { asciiLower } from "../robots/parse.js";
import { compilePattern, escapeRuleValue, globMatches, matchablePath } from "../robots/pattern.js";
import { parsePreferences, USAGE_CATEGORIES, type UsageCategory, type UsagePreferences } from "./vocab.js";

interface Group {
  agents: string[];
  rules: { path: string; expression: string; line: number }[];
}

export interface RobotsUsage {
  preferences: UsagePreferences;
  /** The deciding rule's line (1-based), per category with a preference. */
  lines: Partial<Record<UsageCategory, number>>;
}

function groupsOf(text: string): Group[] {
  const groups: Group[] = [];
  let current: Group | undefined;
  let lastWasAgent = false;
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "");
    const colon = line.indexOf(":");
    if (colon < 0) return;
    const key = asciiLower(line.slice(0, colon).trim());
    const value = line.slice(colon + 1).trim();
    if (key === "user-agent") {
      if (!lastWasAgent || current === undefined) {
        current = { agents: [], rules: [] };
        groups.push(current);
      }
      current.agents.push(value.startsWith("*") ? "*" : asciiLower(/^[A-Za-z_-]*/.exec(value)?.[0] ?? ""));
      lastWasAgent = true;
      return;
    }
    lastWasAgent = false;
    if (key !== "content-usage" || current === undefined) return;
    // The path ends at the first SP or HTAB; the rest is the preference expression.
    const m = /^(\/\S*)[ \t]+(.+)$/.exec(value);
    if (m === null) return;
    current.rules.push({ path: m[1] as string, expression: (m[2] as string).trim(), line: i + 1 });
  });
  return groups;
}

/** Parsed groups by robots.txt digest: a host's URLs are decided one by one against the same file. */
const parsed = new Map<string, Group[]>();
function cachedGroups(text: string, key: string | undefined): Group[] {
  if (key === undefined) return groupsOf(text);
  let groups = parsed.get(key);
  if (groups === undefined) {
    groups = groupsOf(text);
    if (parsed.size >= 256) parsed.delete(parsed.keys().next().value as string);
    parsed.set(key, groups);
  }
  return groups;
}

/**
 * The preferences robots.txt attaches to `url` for the crawler `productToken`:
 * its groups (else the `*` groups, as RFC 9309 §2.2.1 chooses them); per
 * category, the longest matching path decides; equally long rules combine, the
 * strictest winning (draft-ietf-aipref-vocab-08 §5.1).
 */
export function robotsContentUsage(
  robotsText: string,
  productToken: string,
  url: string,
  cacheKey?: string,
): RobotsUsage {
  const groups = cachedGroups(robotsText, cacheKey);
  const token = asciiLower(productToken);
  const specific = groups.filter((g) => g.agents.includes(token));
  const chosen = specific.length > 0 ? specific : groups.filter((g) => g.agents.includes("*"));
  const path = matchablePath(url);
  const out: RobotsUsage = { preferences: {}, lines: {} };
  const best: Partial<Record<UsageCategory, number>> = {};
  for (const rule of chosen.flatMap((g) => g.rules)) {
    const pattern = compilePattern(escapeRuleValue(rule.path));
    if (!globMatches(pattern.glob, path)) continue;
    const prefs = parsePreferences(rule.expression);
    for (const category of USAGE_CATEGORIES) {
      const value = prefs[category];
      if (value === undefined) continue;
      const priority = best[category] ?? -1;
      const current = out.preferences[category];
      if (
        pattern.priority > priority ||
        (pattern.priority === priority && value === "n" && current !== "n")
      ) {
        best[category] = pattern.priority;
        out.preferences[category] = value;
        out.lines[category] = rule.line;
      }
    }
  }
  return out;
}

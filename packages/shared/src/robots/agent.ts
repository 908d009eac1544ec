/**
 * What one crawler (product token) must obey in a parsed robots.txt, and the decision
 * for one path, following Google's reference matcher (google/robotstxt).
 */
import { asciiLower, type ParsedRobots, type RobotsRule } from "./parse.js";
import { type CompiledPattern, globMatches } from "./pattern.js";

export interface AgentRules {
  /** In file order: on equal priority the first rule's line is the one reported. */
  rules: RobotsRule[];
  crawlDelaySeconds?: number;
  /** Set for long rule lists: which rules a path can match at all (see ruleIndex). */
  index?: RuleIndex;
}

/**
 * A rule's glob can match a path only if the path begins with the glob's literal start (what
 * comes before its first `*`). Grouped by that start, a path's candidates are the groups of its
 * own beginnings: a few map lookups instead of a match per rule. Matching every rule cost 18.7 µs
 * per URL for a 20 KB file of 490 rules (Google's reading; 1.5 µs indexed), and every leased URL
 * is checked.
 */
export interface RuleIndex {
  /** Literal start -> its group: the positions in `rules` from `offsets[group]` to `offsets[group + 1]`. */
  groups: Map<string, number>;
  offsets: Int32Array;
  /** Positions in `rules`, grouped, ascending within a group (typed arrays: long files have thousands). */
  positions: Int32Array;
  /** The distinct lengths of the starts, ascending. */
  lengths: number[];
}

/** Below this many rules, matching them all is as quick as looking them up. */
const INDEXED_FROM_RULES = 32;

function literalStart(pattern: CompiledPattern): string {
  const star = pattern.glob.indexOf("*");
  return star < 0 ? pattern.glob : pattern.glob.slice(0, star);
}

/** What every path either of a rule's patterns matches begins with. */
function ruleStart(rule: RobotsRule): string {
  const start = literalStart(rule.pattern);
  if (rule.indexDirectory === undefined) return start;
  const other = literalStart(rule.indexDirectory);
  let n = 0;
  while (n < start.length && n < other.length && start[n] === other[n]) n++;
  return start.slice(0, n);
}

function ruleIndex(rules: readonly RobotsRule[]): RuleIndex {
  const byStart = new Map<string, number[]>();
  rules.forEach((rule, position) => {
    const start = ruleStart(rule);
    const group = byStart.get(start);
    if (group === undefined) byStart.set(start, [position]);
    else group.push(position);
  });
  const groups = new Map<string, number>();
  const offsets = new Int32Array(byStart.size + 1);
  const positions = new Int32Array(rules.length);
  let at = 0;
  for (const [start, group] of byStart) {
    positions.set(group, at);
    at += group.length;
    groups.set(start, groups.size);
    offsets[groups.size] = at;
  }
  const lengths = [...new Set([...groups.keys()].map((start) => start.length))].sort((a, b) => a - b);
  return { groups, offsets, positions, lengths };
}

export interface PathDecision {
  allowed: boolean;
  /** The deciding rule's line; absent when no rule with a non-empty match decided. */
  line?: number;
}

/**
 * RFC 9309 §2.2.1: the groups naming the crawler's product token (compared whole and
 * case-insensitively with each line's leading token), merged; failing those, the `*` groups.
 * A group naming the token shadows `*` even when it has no rules.
 */
export function agentRules(parsed: ParsedRobots, productToken: string): AgentRules {
  const token = asciiLower(productToken);
  const specific = parsed.groups.filter((g) => g.agents.includes(token));
  const chosen = specific.length > 0 ? specific : parsed.groups.filter((g) => g.global);
  const delays = chosen.flatMap((g) => g.crawlDelaysSeconds);
  const rules = chosen.flatMap((g) => g.rules);
  return {
    rules,
    ...(rules.length >= INDEXED_FROM_RULES ? { index: ruleIndex(rules) } : {}),
    // Conflicting Crawl-delay lines for us: honour the most conservative one.
    ...(delays.length > 0 ? { crawlDelaySeconds: delays.reduce((a, b) => Math.max(a, b)) } : {}),
  };
}

function priorityOf(pattern: CompiledPattern, path: string): number {
  return globMatches(pattern.glob, path) ? pattern.priority : -1;
}

function rulePriority(rule: RobotsRule, path: string): number {
  const priority = priorityOf(rule.pattern, path);
  return priority < 0 && rule.indexDirectory ? priorityOf(rule.indexDirectory, path) : priority;
}

/** The best match so far of one kind (allow or disallow); -1: none. */
interface Best {
  priority: number;
  /** The rule's position in the list: on equal priority the earlier one decides. */
  position: number;
}

function consider(allow: Best, disallow: Best, rule: RobotsRule, position: number, path: string): void {
  const best = rule.allow ? allow : disallow;
  const priority = rulePriority(rule, path);
  if (priority > best.priority || (priority === best.priority && priority >= 0 && position < best.position)) {
    best.priority = priority;
    best.position = position;
  }
}

// One pass over the rules, or over those the index leaves: files can hold tens of thousands.
function bestMatches(agent: AgentRules, path: string): { allow: Best; disallow: Best } {
  const allow: Best = { priority: -1, position: -1 };
  const disallow: Best = { priority: -1, position: -1 };
  const { rules, index } = agent;
  if (index === undefined) {
    for (let position = 0; position < rules.length; position++)
      consider(allow, disallow, rules[position] as RobotsRule, position, path);
    return { allow, disallow };
  }
  const { groups, offsets, positions } = index;
  for (const length of index.lengths) {
    if (length > path.length) break;
    const group = groups.get(path.slice(0, length));
    if (group === undefined) continue;
    const end = offsets[group + 1] as number;
    for (let i = offsets[group] as number; i < end; i++) {
      const position = positions[i] as number;
      consider(allow, disallow, rules[position] as RobotsRule, position, path);
    }
  }
  return { allow, disallow };
}

/**
 * RFC 9309 §2.2.2: the longest matching rule decides and Allow wins a tie. An empty
 * rule value matches with length 0, which decides nothing: no decision means allowed.
 */
export function decidePath(agent: AgentRules, path: string): PathDecision {
  const { allow, disallow } = bestMatches(agent, path);
  if (allow.priority <= 0 && disallow.priority <= 0) return { allowed: true };
  const allowed = disallow.priority <= allow.priority;
  return { allowed, line: (agent.rules[(allowed ? allow : disallow).position] as RobotsRule).line };
}

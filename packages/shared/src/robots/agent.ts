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
  return {
    rules: chosen.flatMap((g) => g.rules),
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

interface Best {
  priority: number;
  line: number;
}

// One pass over the rules: files can hold tens of thousands, and every leased URL is checked.
function bestMatches(rules: readonly RobotsRule[], path: string): { allow: Best; disallow: Best } {
  const allow: Best = { priority: -1, line: 0 };
  const disallow: Best = { priority: -1, line: 0 };
  for (const rule of rules) {
    const best = rule.allow ? allow : disallow;
    const priority = rulePriority(rule, path);
    if (priority > best.priority) {
      best.priority = priority;
      best.line = rule.line;
    }
  }
  return { allow, disallow };
}

/**
 * RFC 9309 §2.2.2: the longest matching rule decides and Allow wins a tie. An empty
 * rule value matches with length 0, which decides nothing: no decision means allowed.
 */
export function decidePath(agent: AgentRules, path: string): PathDecision {
  const { allow, disallow } = bestMatches(agent.rules, path);
  if (allow.priority <= 0 && disallow.priority <= 0) return { allowed: true };
  return disallow.priority > allow.priority
    ? { allowed: false, line: disallow.line }
    : { allowed: true, line: allow.line };
}

/** Page-level robots directives from `<meta name=robots>` and `X-Robots-Tag`. */
export interface Directives {
  nofollow: boolean;
  noindex: boolean;
  noarchive: boolean;
}

export const NO_DIRECTIVES: Directives = { nofollow: false, noindex: false, noarchive: false };

/** Folds a comma-separated directive list (`noindex, nofollow`, `none`) into `into`. */
export function applyDirectiveList(into: Directives, list: string): void {
  for (const raw of list.split(",")) {
    const d = raw.trim().toLowerCase();
    if (d === "nofollow") into.nofollow = true;
    else if (d === "noindex") into.noindex = true;
    else if (d === "noarchive") into.noarchive = true;
    else if (d === "none") {
      into.nofollow = true;
      into.noindex = true;
    }
  }
}

/**
 * X-Robots-Tag values apply to every crawler unless prefixed with an agent
 * name (`otherbot: noindex`), which applies only to that agent.
 */
export function directivesFromHeader(values: string[], productToken: string): Directives {
  const out = { ...NO_DIRECTIVES };
  const me = productToken.toLowerCase();
  for (const value of values) {
    const m = /^\s*([A-Za-z_-]+)\s*:\s*(.*)$/.exec(value);
    const agent = m?.[1]?.toLowerCase();
    const isDirective =
      agent !== undefined && ["nofollow", "noindex", "noarchive", "none", "all"].includes(agent);
    if (m && !isDirective && agent !== undefined) {
      if (agent === me) applyDirectiveList(out, m[2] ?? "");
    } else {
      applyDirectiveList(out, value);
    }
  }
  return out;
}

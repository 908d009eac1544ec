import type { HostPolicy } from "./records.js";

/**
 * The policy that applies to a host: its own, else the nearest parent
 * domain's (`a.b.example.org` falls under `example.org`).
 */
export function policyFor(
  policies: ReadonlyMap<string, HostPolicy>,
  hostKey: string,
): HostPolicy | undefined {
  if (policies.size === 0) return undefined;
  let name = hostKey;
  for (;;) {
    const p = policies.get(name);
    if (p !== undefined) return p;
    const dot = name.indexOf(".");
    if (dot < 0) return undefined;
    name = name.slice(dot + 1);
  }
}

/** Host names and domains as policies store them: lower case, no trailing dot, no port. */
export function normalizePattern(pattern: string): string | undefined {
  const p = pattern.trim().toLowerCase().replace(/\.+$/, "");
  if (p === "" || p.length > 253 || !/^[a-z0-9.:[\]_-]+$/.test(p) || p.startsWith(".")) return undefined;
  return p;
}

import type { RequestRecord } from "@heed/loopback-site";

export interface GapViolation {
  host: string;
  previous: RequestRecord;
  next: RequestRecord;
  gapMs: number;
  requiredMs: number;
}

/**
 * Checks the fixture's request log for politeness: per host, each request
 * starts no sooner than the required delay after the previous one ended
 * (which also rules out two requests to a host at once).
 */
export function gapViolations(
  log: RequestRecord[],
  requiredDelayMs: (key: string) => number,
  keyOf: (host: string) => string = (h) => h,
): GapViolation[] {
  const byHost = new Map<string, RequestRecord[]>();
  for (const r of log) {
    const key = keyOf(r.host);
    const list = byHost.get(key) ?? [];
    list.push(r);
    byHost.set(key, list);
  }
  const out: GapViolation[] = [];
  for (const [host, list] of byHost) {
    list.sort((a, b) => a.startMs - b.startMs);
    for (let i = 1; i < list.length; i++) {
      const previous = list[i - 1] as RequestRecord;
      const next = list[i] as RequestRecord;
      const gapMs = next.startMs - previous.endMs;
      // Both times come from one clock at millisecond resolution: allow 1 ms of rounding.
      if (gapMs < requiredDelayMs(host) - 1)
        out.push({ host, previous, next, gapMs, requiredMs: requiredDelayMs(host) });
    }
  }
  return out;
}

export function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
  return m;
}

/** Pairs of requests to one politeness key whose [start, end] intervals overlap. */
export function overlaps(
  log: RequestRecord[],
  keyOf: (host: string) => string,
): [RequestRecord, RequestRecord][] {
  const byKey = new Map<string, RequestRecord[]>();
  for (const r of log) {
    const k = keyOf(r.host);
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  const out: [RequestRecord, RequestRecord][] = [];
  for (const list of byKey.values()) {
    list.sort((a, b) => a.startMs - b.startMs);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as RequestRecord;
      const next = list[i] as RequestRecord;
      if (next.startMs < prev.endMs) out.push([prev, next]);
    }
  }
  return out;
}

/** Requests to a host that started before the Retry-After of its previous answer ran out. */
export function retryAfterViolations(log: RequestRecord[]): RequestRecord[] {
  const byHost = new Map<string, RequestRecord[]>();
  for (const r of log) byHost.set(r.host, [...(byHost.get(r.host) ?? []), r]);
  const out: RequestRecord[] = [];
  for (const list of byHost.values()) {
    list.sort((a, b) => a.startMs - b.startMs);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as RequestRecord;
      const next = list[i] as RequestRecord;
      if (prev.retryAfterSeconds > 0 && next.startMs < prev.endMs + prev.retryAfterSeconds * 1000 - 1)
        out.push(next);
    }
  }
  return out;
}

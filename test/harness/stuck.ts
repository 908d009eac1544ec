import type { FrontierReader } from "@heed/coordinator";

/**
 * What a crawl that did not finish is waiting for, read from its frontier: the
 * URLs still leased or queued and the active leases, with their times
 * relative to now, and the frontier check's problems. Put in a timeout's
 * error so a stall seen once can be told from a slow machine.
 */
export function stuckReport(frontier: FrontierReader, crawlId: string): string {
  const now = Date.now();
  const waiting = frontier
    .urls(crawlId)
    .filter((u) => u.state === "leased" || u.state === "queued")
    .slice(0, 10)
    .map((u) => ({
      url: u.url,
      state: u.state,
      attempts: u.attempts,
      leaseId: u.leaseId,
      ...(u.notBeforeMs > now ? { notBeforeInMs: u.notBeforeMs - now } : {}),
    }));
  const active = frontier
    .leases()
    .filter((l) => l.crawlId === crawlId && l.state === "active")
    .slice(0, 10)
    .map((l) => ({
      id: l.id,
      kind: l.kind,
      url: l.url,
      workerId: l.workerId,
      issuedAgoMs: now - l.issuedAtMs,
      expiresInMs: l.expiresAtMs - now,
      maxExpiresInMs: l.maxExpiresAtMs - now,
    }));
  const hosts = [...new Set(waiting.map((u) => new URL(u.url).hostname))].map((h) => {
    const st = frontier.host(h);
    return st === undefined
      ? { host: h, missing: true }
      : {
          host: h,
          inFlight: st.inFlight,
          maxConcurrency: st.maxConcurrency,
          nextAllowedInMs: st.nextAllowedAtMs - now,
          parkedInMs: st.parkedUntilMs === undefined ? undefined : st.parkedUntilMs - now,
          delayMs: st.delayMs,
          delaySource: st.delaySource,
        };
  });
  let problems: unknown[];
  try {
    problems = frontier.check().problems.slice(0, 10);
  } catch (err) {
    problems = [`check failed: ${(err as Error).message}`];
  }
  return JSON.stringify({ waiting, hosts, active, problems });
}

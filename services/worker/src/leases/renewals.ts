import { errorMessage, type Logger } from "@heed/shared";
import type { Reporter } from "../report/reporter.js";
import type { RunningLease } from "./runner.js";

/**
 * Renews leases past half their life, so a slow but healthy download keeps
 * its host slot. Returns a function that stops renewing.
 */
export function startRenewals(
  running: ReadonlyMap<string, RunningLease>,
  reporter: Reporter,
  log: Logger,
  everyMs = 500,
): () => void {
  const timer = setInterval(() => {
    const now = Date.now();
    const due = [...running.values()].filter(
      (e) => e.expiresAtMs - now < (e.lease.expiresAtMs - e.lease.issuedAtMs) / 2,
    );
    if (due.length === 0) return;
    reporter.renew(due.map((e) => e.lease.id)).then(
      (acks) => {
        for (const ack of acks) {
          const e = running.get(ack.leaseId);
          if (e !== undefined && ack.renewed) e.expiresAtMs = ack.expiresAtMs;
          else if (!ack.renewed) log.warn({ leaseId: ack.leaseId, reason: ack.reason }, "lease not renewed");
        }
      },
      (err: unknown) => log.warn({ err: errorMessage(err) }, "lease renewal failed"),
    );
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

import type { Logger } from "pino";

/** Counts the bad message under `kind` and logs it unless this kind already logged its share. */
export type LimitedWarn = (kind: string, fields: Record<string, unknown>, message: string) => void;

/**
 * Warnings about bad messages from the network, at most `burst` per kind per
 * `intervalMs`; the rest are only counted (`count`), and the next logged line
 * says how many were left out. A flood of garbage then costs a metric
 * increment, not a disk full of log lines.
 */
export function createLimitedWarn(
  log: Logger,
  count: (kind: string) => void,
  options: { intervalMs?: number; burst?: number; now?: () => number } = {},
): LimitedWarn {
  const intervalMs = options.intervalMs ?? 10_000;
  const burst = options.burst ?? 5;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { startMs: number; logged: number; suppressed: number }>();
  return (kind, fields, message) => {
    count(kind);
    const t = now();
    let w = windows.get(kind);
    if (w === undefined || t - w.startMs >= intervalMs) {
      const suppressed = w?.suppressed ?? 0;
      w = { startMs: t, logged: 0, suppressed: 0 };
      windows.set(kind, w);
      if (suppressed > 0) log.warn({ kind, suppressed }, "similar warnings left out of the log");
    }
    if (w.logged < burst) {
      w.logged++;
      log.warn({ kind, ...fields }, message);
    } else {
      w.suppressed++;
    }
  };
}

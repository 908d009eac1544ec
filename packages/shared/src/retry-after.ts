/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns the
 * wait in milliseconds from `nowMs`, or undefined when absent or unparseable.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === "") return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

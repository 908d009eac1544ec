/** A crawl's counters at one moment: what the rate and ETA are computed from. */
export interface ProgressSample {
  atMs: number;
  /** Pages done. */
  done: number;
  /** URLs done, failed or skipped: they need nothing more. */
  settled: number;
  /** Every URL the crawl knows: settled, queued and leased. */
  discovered: number;
  /** Leases handed out so far (for a shard's lease rate). */
  leased?: number;
}

export interface ProgressEstimate {
  pagesPerSecond: number;
  settledPerSecond: number;
  discoveredPerSecond: number;
  /** Time left at the recent pace; absent when no estimate would mean anything (see noEtaReason). */
  etaMs?: number;
  noEtaReason?: "too few samples" | "no progress" | "queue growing" | "nothing left";
}

/** An ETA needs this much history: a crawl's first seconds (robots.txt, the first links) say little. */
export const ETA_MIN_SPAN_MS = 20_000;
export const ETA_MIN_SAMPLES = 10;

/**
 * Rates over a window of samples (oldest first, the last one is now) and a
 * time left that is honest about what it knows. A crawl discovers URLs as it
 * goes, so done ÷ known says nothing about the end; what matters is whether
 * the URLs still to do shrink. An ETA is given only when there is enough
 * history and the work left has shrunk over the whole window and over its
 * later half; it uses the slower of the two paces, so it errs late.
 */
export function estimateProgress(samples: readonly ProgressSample[]): ProgressEstimate {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined || last.atMs - first.atMs < 1000)
    return { pagesPerSecond: 0, settledPerSecond: 0, discoveredPerSecond: 0, noEtaReason: "too few samples" };
  const perSecond = (a: number, b: number, span: number) => Math.max(0, (b - a) / (span / 1000));
  const span = last.atMs - first.atMs;
  const out: ProgressEstimate = {
    pagesPerSecond: perSecond(first.done, last.done, span),
    settledPerSecond: perSecond(first.settled, last.settled, span),
    discoveredPerSecond: perSecond(first.discovered, last.discovered, span),
  };
  const left = (s: ProgressSample) => s.discovered - s.settled;
  if (left(last) <= 0) return { ...out, noEtaReason: "nothing left" };
  if (span < ETA_MIN_SPAN_MS || samples.length < ETA_MIN_SAMPLES)
    return { ...out, noEtaReason: "too few samples" };
  if (out.settledPerSecond === 0) return { ...out, noEtaReason: "no progress" };
  const middle = samples.find((s) => s.atMs >= first.atMs + span / 2) ?? last;
  // URLs left per second, over the window and over its later half.
  const shrink = (a: ProgressSample) => (left(a) - left(last)) / ((last.atMs - a.atMs) / 1000);
  const pace = Math.min(shrink(first), middle === last ? shrink(first) : shrink(middle));
  if (!(pace > 0)) return { ...out, noEtaReason: "queue growing" };
  return { ...out, etaMs: Math.round((left(last) / pace) * 1000) };
}

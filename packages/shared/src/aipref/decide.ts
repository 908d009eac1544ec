/**
 * Which of a crawl's purposes a site refuses, from every signal Heed reads:
 * robots.txt Content-Usage, the Content-Usage response header
 * (draft-ietf-aipref-attach-05), and the W3C TDM Reservation Protocol (its
 * tdmrep.json, and the tdm-reservation header or meta tag). Signals combine
 * as draft-ietf-aipref-vocab-08 §5.1 says: any "no" wins, then any "yes";
 * the evidence names the signal that decided.
 */
import type { CrawlPurpose } from "../crawl-spec.js";
import { parsePreferences, type UsageCategory, type UsagePreferences } from "./vocab.js";

export type PreferenceSignal =
  | "robots-content-usage"
  | "content-usage-header"
  | "tdmrep-json"
  | "tdm-reservation";

export interface SignalReading {
  signal: PreferenceSignal;
  preferences: UsagePreferences;
  /** For robots.txt: the deciding line, per category. */
  lines?: Partial<Record<UsageCategory, number>>;
}

export interface PurposeDecision {
  purpose: CrawlPurpose;
  category: UsageCategory;
  decision: "allowed" | "disallowed" | "unknown";
  /** The signal that decided; absent when unknown. */
  signal?: PreferenceSignal;
  line?: number;
}

/**
 * The vocabulary category each purpose falls under. Archiving (keeping a page
 * to replay it as it was) is not a category of the vocabulary, so AI
 * preferences never refuse it; robots.txt and TDMRep opt-outs still apply.
 */
export const PURPOSE_CATEGORY: Record<CrawlPurpose, UsageCategory | undefined> = {
  archive: undefined,
  search: "search",
  "ai-training": "train-ai",
  "ai-use": "ai-use",
};

/** A TDM reservation reserves mining, so training and AI use; it says nothing of search. */
export const TDM_RESERVED: UsagePreferences = { "train-ai": "n", "ai-use": "n" };

export function decidePurposes(
  purposes: readonly CrawlPurpose[],
  readings: SignalReading[],
): PurposeDecision[] {
  const out: PurposeDecision[] = [];
  for (const purpose of purposes) {
    const category = PURPOSE_CATEGORY[purpose];
    if (category === undefined) continue;
    const no = readings.find((r) => r.preferences[category] === "n");
    const yes = readings.find((r) => r.preferences[category] === "y");
    const decided = no ?? yes;
    const line = decided?.lines?.[category];
    out.push({
      purpose,
      category,
      decision: no !== undefined ? "disallowed" : yes !== undefined ? "allowed" : "unknown",
      ...(decided !== undefined ? { signal: decided.signal } : {}),
      ...(line !== undefined ? { line } : {}),
    });
  }
  return out;
}

/** Whether the crawl has a purpose the preferences can refuse at all (an archive-only crawl has none). */
export function hasPreferencePurposes(purposes: readonly CrawlPurpose[]): boolean {
  return purposes.some((p) => PURPOSE_CATEGORY[p] !== undefined);
}

/**
 * What a page's own response says: its Content-Usage header and a
 * tdm-reservation (header or meta tag), as readings. The worker (to leave a
 * refused response out of its capture) and the frontier (to record the
 * refusal) read them the same way.
 */
export function pageReadings(contentUsage: string, tdmReserved: boolean): SignalReading[] {
  return [
    ...(contentUsage !== ""
      ? [{ signal: "content-usage-header" as const, preferences: parsePreferences(contentUsage) }]
      : []),
    ...(tdmReserved ? [{ signal: "tdm-reservation" as const, preferences: TDM_RESERVED }] : []),
  ];
}

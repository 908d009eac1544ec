/**
 * The IETF AI Preferences vocabulary (draft-ietf-aipref-vocab-08): usage
 * categories, their labels, and reading one preference expression, an RFC 9651
 * dictionary such as `train-ai=n, search=y`.
 */
import { parseDictionary, Token } from "structured-headers";

/** Usage category labels (draft-ietf-aipref-vocab-08 §6.1). */
export const USAGE_CATEGORIES = ["train-ai", "ai-use", "search"] as const;
export type UsageCategory = (typeof USAGE_CATEGORIES)[number];

/** Explicit preferences only: a category absent here is "unknown". */
export type UsagePreferences = Partial<Record<UsageCategory, "y" | "n">>;

/**
 * §6.5: parse as a Dictionary; for each known label, the Token `y` allows and
 * `n` disallows; anything else (absent, not a Token, another value) is unknown,
 * and so is everything when the Dictionary does not parse. Unknown labels and
 * parameters are ignored.
 */
export function parsePreferences(expression: string): UsagePreferences {
  let dict: ReturnType<typeof parseDictionary>;
  try {
    dict = parseDictionary(expression);
  } catch {
    return {};
  }
  const out: UsagePreferences = {};
  for (const category of USAGE_CATEGORIES) {
    const member = dict.get(category);
    const value = member?.[0];
    // Strings (`"n"`) and Booleans (a bare key) are not Tokens: unknown.
    if (!(value instanceof Token)) continue;
    const token = value.toString();
    if (token === "y" || token === "n") out[category] = token;
  }
  return out;
}

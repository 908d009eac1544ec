/**
 * C0 and C1 controls, DEL, and the Unicode bidirectional overrides: what a
 * string from the network could use to move the cursor, clear the screen,
 * ring the bell or reorder what an operator reads.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The string with every control character removed: safe to print to a terminal. */
export function stripControl(s: string): string {
  return s.replace(CONTROL, "");
}

/** Control characters removed, then cut to at most `max` characters. */
export function boundedText(s: string, max: number): string {
  const clean = stripControl(s);
  return clean.length > max ? clean.slice(0, max) : clean;
}

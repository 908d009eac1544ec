import { stripControl } from "@heed/shared";

/**
 * Text for people: aligned tables, short durations and sizes. Scripts use --json instead.
 * Everything printed here may hold strings from the server (worker ids and host names from
 * heartbeats, URLs, robots.txt lines, error details): control characters are stripped before
 * they reach a terminal. JSON output escapes them already.
 */

export function table(headers: string[], rows: (string | number)[][], empty = "(none)"): string {
  if (rows.length === 0) return empty;
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  // Numbers read best right-aligned.
  const numeric = headers.map(
    (_, i) => cells.length > 0 && cells.every((r) => /^-?\d[\d,]*(\.\d+)?( ?[%a-zA-Z/]+)?$/.test(r[i] ?? "")),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

/** `key  value` lines, keys aligned. */
export function fields(pairs: [string, string | number | undefined][]): string {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== "");
  const w = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

export function duration(ms: number): string {
  const s = Math.abs(ms) / 1000;
  if (s < 1) return `${Math.round(Math.abs(ms))} ms`;
  if (s < 90) return `${s.toFixed(1)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

/** "in 2.0 s", "3 min ago", "now"; "-" for unset times. */
export function relative(atMs: number, nowMs: number): string {
  if (atMs <= 0) return "-";
  const d = atMs - nowMs;
  if (Math.abs(d) < 50) return "now";
  return d > 0 ? `in ${duration(d)}` : `${duration(d)} ago`;
}

export function timestamp(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z") : "-";
}

/** ENUM_PREFIX_SOME_VALUE -> some-value, for enum values in tables. */
export function enumText(name: string | undefined, prefix: string): string {
  if (name === undefined) return "?";
  return name.startsWith(prefix) ? name.slice(prefix.length).toLowerCase().replace(/_/g, "-") : name;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Text without control characters, line breaks kept. */
export function terminalSafe(text: string): string {
  return text.split("\n").map(stripControl).join("\n");
}

export function print(text: string): void {
  process.stdout.write(`${terminalSafe(text)}\n`);
}

/** Like print, to stderr and without a line break of its own. */
export function printErr(text: string): void {
  process.stderr.write(terminalSafe(text));
}

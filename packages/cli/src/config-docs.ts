import { readFileSync, writeFileSync } from "node:fs";
import { crawlFields } from "@heed/shared";

/**
 * The configuration reference is generated from the schemas, so the docs say
 * what the code does. Each generated table sits between two markers in a
 * Markdown file; `npm run docs` rewrites them and config-docs.test.ts fails
 * when a table is out of date.
 */

const cell = (text: string) => text.replace(/\|/g, "\\|");
const code = (text: string) => `\`${text}\``;

function shownDefault(value: unknown, cliDefault?: string): string {
  if (cliDefault !== undefined) return `${code(cliDefault)} (command line)`;
  if (value === undefined) return "";
  if (Array.isArray(value)) return value.length === 0 ? "none" : code(JSON.stringify(value));
  return code(String(value));
}

/** A Markdown table with its columns padded, as the formatter (biome) writes it. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** Every field of the crawl definition: its flag, environment variable, default and meaning. */
export function crawlFieldsTable(): string {
  return table(
    ["field", "flag", "env", "default", "meaning"],
    crawlFields().map((f) => [
      code(f.path),
      f.doc !== undefined ? code(f.doc.flag) : "",
      f.doc?.env !== undefined ? code(f.doc.env) : "",
      shownDefault(f.default, f.doc?.cliDefault),
      cell(f.doc?.help ?? ""),
    ]),
  );
}

/** The Markdown files that hold generated blocks, from the repository root. */
export const DOC_FILES = ["README.md"];

export const GENERATED: Record<string, () => string> = {
  "crawl-fields": crawlFieldsTable,
};

const markers = (name: string) =>
  [`<!-- generated:${name} (npm run docs) -->`, `<!-- end generated:${name} -->`] as const;

/** `text` with every generated block it holds brought up to date. */
export function withGeneratedBlocks(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(GENERATED)) {
    const [start, end] = markers(name);
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from < 0 || to < from) continue;
    out = `${out.slice(0, from + start.length)}\n${render()}\n${out.slice(to)}`;
  }
  return out;
}

/** The names of the generated blocks `text` holds. */
export function generatedBlocksIn(text: string): string[] {
  return Object.keys(GENERATED).filter((name) => text.includes(markers(name)[0]));
}

/** Rewrites the generated blocks of each file; returns the files that changed. */
export function updateDocs(paths: string[]): string[] {
  return paths.filter((path) => {
    const before = readFileSync(path, "utf8");
    const after = withGeneratedBlocks(before);
    if (after !== before) writeFileSync(path, after);
    return after !== before;
  });
}

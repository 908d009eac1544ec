import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crawlFields } from "@heed/shared";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { crawlCommand } from "./commands/crawl.js";
import { DOC_FILES, GENERATED, generatedBlocksIn, withGeneratedBlocks } from "./config-docs.js";
import { heedctlProgram } from "./heedctl/main.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const docs = DOC_FILES.map((path) => ({ path, text: readFileSync(join(root, path), "utf8") }));

function longFlags(cmd: Command): string[] {
  return cmd.options.flatMap((o) => (o.long !== undefined && !o.negate ? [o.long] : []));
}

describe("the configuration reference", () => {
  it("is generated from the schemas and up to date (npm run docs rewrites it)", () => {
    for (const { path, text } of docs) expect(withGeneratedBlocks(text), path).toBe(text);
    expect(docs.flatMap((d) => generatedBlocksIn(d.text)).sort()).toEqual(Object.keys(GENERATED).sort());
  });

  it("documents every field of the crawl definition with its flag", () => {
    const all = docs.map((d) => d.text).join("\n");
    const rows = new Map(
      all.split("\n").flatMap((line) => {
        const cells = line.split(" | ").map((c) => c.replace(/^\|/, "").trim());
        return cells.length >= 5 ? [[cells[0], cells.slice(1)] as const] : [];
      }),
    );
    for (const f of crawlFields()) {
      const [flag, , , help] = rows.get(`\`${f.path}\``) ?? [];
      expect(flag, f.path).toBe(`\`${f.doc?.flag}\``);
      expect(help, f.path).not.toBe("");
    }
  });
});

describe("heed crawl and heedctl crawl create", () => {
  it("take the same flag for every field of the crawl definition", () => {
    const heedCrawl = crawlCommand(new Command("heed"));
    const create = heedctlProgram()
      .commands.find((c) => c.name() === "crawl")
      ?.commands.find((c) => c.name() === "create");
    expect(create).toBeDefined();
    const fieldFlags = crawlFields().flatMap((f) =>
      f.doc?.flag.startsWith("--") ? [f.doc.flag.split(" ")[0]] : [],
    );
    expect(fieldFlags.length).toBe(crawlFields().length - 1);
    for (const flag of fieldFlags) {
      expect(longFlags(heedCrawl), flag).toContain(flag);
      expect(longFlags(create as Command), flag).toContain(flag);
    }
  });
});

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("heedctl", () => {
  it("is a client: it depends on @heed/shared, never on the coordinator or worker it talks to", () => {
    const files = [...sources(here), join(here, "..", "heedctl.ts"), join(here, "..", "crawl-flags.ts")];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      expect(text, file).not.toMatch(/from "@heed\/(coordinator|worker|loopback-site)"/);
      // Nor through a module of `heed` that does.
      expect(text, file).not.toMatch(/from "\.\.\/(\.\.\/)?(commands|main|summary|nats-server)[./]/);
    }
  });
});

import { join } from "node:path";
import { writeFileAtomically, writeWacz } from "@heed/archive";
import type { Command } from "commander";

export function exportCommand(program: Command): Command {
  const cmd = program.command("export").description("package what a crawl captured");
  cmd
    .command("wacz")
    .description(
      "pack a crawl's closed WARC files, CDXJ index and pages into a WACZ 1.1.1 file for replay tools",
    )
    .requiredOption("--crawl <id>", "the crawl to export")
    .requiredOption(
      "--output <file.wacz>",
      "the package to write (written as <file>.part, renamed when complete)",
    )
    .option("--data-dir <dir>", "the data directory the crawl wrote to", "heed-data")
    .option("--warc-dir <dir>", "where its WARC files are (default: <data-dir>/warc)")
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  heed export wacz --data-dir heed-data --crawl library-2026-11 --output library.wacz",
    )
    .action(
      async (opts: { crawl: string; output: string; dataDir: string; warcDir?: string; json?: boolean }) => {
        const warcDir = opts.warcDir ?? join(opts.dataDir, "warc");
        const started = Date.now();
        const summary = await writeFileAtomically(opts.output, (output) =>
          writeWacz({ warcDir, crawlId: opts.crawl, output }),
        );
        const seconds = (Date.now() - started) / 1000;
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ output: opts.output, ...summary, seconds })}\n`);
        } else {
          process.stdout.write(
            `${opts.output}: ${summary.warcFiles} WARC file(s), ${summary.captures} capture(s), ${summary.pages} page(s), ` +
              `${summary.bytes} bytes in ${seconds.toFixed(1)} s\n`,
          );
        }
      },
    );
  return cmd;
}

import { openFrontierReader } from "@heed/coordinator";
import type { Command } from "commander";

export function frontierCommand(program: Command): Command {
  const frontier = program.command("frontier").description("inspect a coordinator's LMDB frontier");
  frontier
    .command("check")
    .description(
      "verify the frontier's invariants (read-only; best on a stopped coordinator's data directory)",
    )
    .option("--data-dir <dir>", "where the LMDB frontier lives", "heed-data")
    .option("--json", "print the result as JSON")
    .action(async (opts: { dataDir: string; json?: boolean }) => {
      const frontier = openFrontierReader(opts.dataDir);
      try {
        const result = frontier.check();
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          process.stdout.write(
            `${result.crawls} crawl(s), ${result.urls} URL(s), ${result.activeLeases} active lease(s): ` +
              `${result.problems.length === 0 ? "no problems" : `${result.problems.length} problem(s)`}\n`,
          );
          for (const p of result.problems) process.stdout.write(`  ${p.kind}: ${p.detail}\n`);
        }
        process.exitCode = result.problems.length === 0 ? 0 : 1;
      } finally {
        await frontier.close();
      }
    });
  return frontier;
}

import { ConfigError, HeedError, proto } from "@heed/shared";
import type { Command } from "commander";
import { act, arg, CTL_EXIT } from "../context.js";
import { bytes, duration, enumText, printErr, printJson, terminalSafe } from "../output.js";

const BAR_WIDTH = 24;

/** Share of discovered URLs that are settled (done, failed or skipped). */
function settledShare(s: proto.CrawlStats): number {
  const c = s.counts;
  if (c === undefined) return 0;
  const settled = c.done + c.failed + c.skipped;
  const all = settled + c.queued + c.leased;
  return all === 0 ? 0 : settled / all;
}

export function progressText(s: proto.CrawlStats): string {
  const c = s.counts;
  return (
    `${Math.floor(settledShare(s) * 100)
      .toString()
      .padStart(3)}%  done ${c?.done ?? 0}  queued ${c?.queued ?? 0}  in flight ${c?.leased ?? 0}  ` +
    `failed ${c?.failed ?? 0}  skipped ${c?.skipped ?? 0}  ${s.pagesPerSecond.toFixed(1)} pages/s  ` +
    `${bytes(s.bytes)}  ${duration(s.elapsedMs)}`
  );
}

function bar(share: number): string {
  const full = Math.round(share * BAR_WIDTH);
  return `[${"#".repeat(full)}${"-".repeat(BAR_WIDTH - full)}]`;
}

export function watchCommand(program: Command): void {
  program
    .command("watch")
    .description("follow a crawl until it ends: a live progress bar on a terminal, plain lines otherwise")
    .argument("<crawl-id>")
    .option("--interval-ms <ms>", "time between updates (100 to 60000)", "500")
    .addHelpText(
      "after",
      `
Exit code: 0 when the crawl finished, 1 when it was cancelled, 3 when the
coordinator went away. With --json, every update is one JSON line.

Examples:
  heedctl watch library-2026-11
  heedctl watch library-2026-11 --json | jq -c .stats.counts`,
    )
    .action(
      act(async (ctx, cmd) => {
        const intervalMs = Number(cmd.opts().intervalMs);
        if (!Number.isInteger(intervalMs))
          throw new ConfigError("--interval-ms", "a whole number of milliseconds");
        let last: proto.WatchProgressResponse | undefined;
        let lastLine = "";
        let lastLineAt = 0;
        for await (const ev of ctx.admin.stream((c) => c.watchProgress, {
          crawlId: arg(cmd, 0),
          intervalMs,
        })) {
          last = ev;
          const s = ev.stats as proto.CrawlStats;
          const state = enumText(proto.CrawlState[s.state], "CRAWL_STATE_");
          if (ctx.json) {
            printJson(proto.WatchProgressResponse.toJSON(ev));
          } else if (ctx.tty) {
            process.stdout.write(
              `\r\x1b[2K${terminalSafe(`${bar(settledShare(s))} ${state}  ${progressText(s)}`)}`,
            );
            if (ev.final) process.stdout.write("\n");
          } else {
            // Plain lines for logs and pipes: on change, at most one a second, and always the last.
            const line = `${state}  ${progressText(s)}`;
            const changed =
              line.replace(/\s+\S+ (ms|s|min|h|d)$/, "") !== lastLine.replace(/\s+\S+ (ms|s|min|h|d)$/, "");
            if (ev.final || (changed && Date.now() - lastLineAt >= 1000)) {
              process.stdout.write(`${new Date(ev.atMs).toISOString()}  ${terminalSafe(line)}\n`);
              lastLine = line;
              lastLineAt = Date.now();
            }
          }
        }
        if (last?.final !== true) throw new HeedError("HEED_WATCH_ENDED", "the progress stream ended early");
        const ended = last.stats?.state;
        if (!ctx.json && !ctx.tty)
          printErr(
            `crawl ${last.stats?.crawlId} ${enumText(proto.CrawlState[ended ?? 0], "CRAWL_STATE_")}\n`,
          );
        return ended === proto.CrawlState.CRAWL_STATE_CANCELLED ? CTL_EXIT.failure : CTL_EXIT.ok;
      }),
    );
}

import { proto } from "@heed/shared";
import type { Command } from "commander";
import { act, arg } from "../context.js";
import { bytes, duration, enumText, print, printJson, table } from "../output.js";
import { stallText } from "./watch.js";

function row(s: proto.CrawlStats): (string | number)[] {
  const skipped = Object.entries(s.skippedByReason)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return [
    s.crawlId || "TOTAL",
    s.crawlId ? enumText(proto.CrawlState[s.state], "CRAWL_STATE_") : "",
    s.counts?.queued ?? 0,
    s.counts?.leased ?? 0,
    s.counts?.done ?? 0,
    s.counts?.failed ?? 0,
    s.counts?.skipped ?? 0,
    s.pagesPerSecond.toFixed(1),
    s.pagesPerSecondOverall.toFixed(1),
    s.etaMs > 0 ? duration(s.etaMs) : "-",
    bytes(s.bytes),
    duration(s.elapsedMs),
    skipped || "-",
  ];
}

export function statsCommand(program: Command): void {
  program
    .command("stats")
    .description(
      "counts, skips by reason, rates (last minute and overall), ETA and bytes, per crawl and in total; why a crawl is stalled",
    )
    .argument("[crawl-id]", "one crawl (default: all)")
    .action(
      act(async (ctx, cmd) => {
        const res = await ctx.admin.call((c) => c.getStats, { crawlId: arg(cmd, 0) });
        if (ctx.json) {
          printJson(proto.GetStatsResponse.toJSON(res));
          return undefined;
        }
        const rows = res.crawls.map(row);
        if (res.crawls.length > 1 && res.total !== undefined) rows.push(row(res.total));
        print(
          table(
            [
              "CRAWL",
              "STATE",
              "QUEUED",
              "IN FLIGHT",
              "DONE",
              "FAILED",
              "SKIPPED",
              "PAGES/S 1M",
              "PAGES/S",
              "ETA",
              "BYTES",
              "ELAPSED",
              "SKIPPED BY REASON",
            ],
            rows,
          ),
        );
        // Below the table, one line per crawl that makes no progress, with why.
        const now = Date.now();
        for (const s of res.crawls) {
          const stalled = stallText(s, now);
          if (stalled !== "") print(`${s.crawlId}  ${stalled}`);
        }
        return undefined;
      }),
    );
}

export function logLevelCommand(program: Command): void {
  program
    .command("log-level")
    .description("set the coordinator's log level until it restarts")
    .argument("<level>", "fatal, error, warn, info, debug, trace or silent")
    .addHelpText("after", "\nExample:\n  heedctl log-level debug")
    .action(
      act(async (ctx, cmd) => {
        const res = await ctx.admin.call((c) => c.setLogLevel, { level: arg(cmd, 0) });
        if (ctx.json) printJson(proto.SetLogLevelResponse.toJSON(res));
        else print(`log level ${res.previous} -> ${res.level}`);
        return undefined;
      }),
    );
}

import { status } from "@grpc/grpc-js";
import { ConfigError, errorMessage, HeedError, proto, sleep } from "@heed/shared";
import type { Command } from "commander";
import { RpcError } from "../client.js";
import { act, arg, CTL_EXIT } from "../context.js";
import { bytes, duration, enumText, printErr, printJson, relative, terminalSafe } from "../output.js";

/**
 * Settled and known URLs as counts, not a share: a crawl discovers URLs as it
 * goes, so done ÷ known jumps about (28% → 81% → 100%) and says nothing about
 * the end. The rate is over the last minute; the ETA only when the server
 * found one meaningful (enough history, work left shrinking), else why not.
 */
export function progressText(s: proto.CrawlStats): string {
  const c = s.counts;
  const settled = (c?.done ?? 0) + (c?.failed ?? 0) + (c?.skipped ?? 0);
  const known = settled + (c?.queued ?? 0) + (c?.leased ?? 0);
  const eta =
    s.etaMs > 0
      ? `  ETA ${duration(s.etaMs)}`
      : s.noEtaReason !== "" && s.noEtaReason !== "ended"
        ? `  no ETA (${s.noEtaReason})`
        : "";
  return (
    `settled ${settled} of ${known} known  done ${c?.done ?? 0}  queued ${c?.queued ?? 0}  ` +
    `in flight ${c?.leased ?? 0}  failed ${c?.failed ?? 0}  skipped ${c?.skipped ?? 0}  ` +
    `${s.pagesPerSecond.toFixed(1)} pages/s (1 min)${eta}  ${bytes(s.bytes)}  ${duration(s.elapsedMs)}`
  );
}

/** Why the crawl makes no progress, or "" while it does. */
export function stallText(s: proto.CrawlStats, nowMs: number): string {
  const st = s.stall;
  if (st === undefined || st.reason === proto.StallReason.STALL_REASON_UNSPECIFIED) return "";
  const when = st.untilMs > 0 ? ` (${relative(st.untilMs, nowMs)})` : "";
  return `STALLED: ${st.detail}${when}`;
}

/** Between reconnection attempts: from half a second, doubling, to at most this. */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 8000;

/** A lost stream worth calling again: the coordinator is away (restarting) or closed the stream early. */
function reconnectable(err: unknown): boolean {
  if (err instanceof RpcError)
    return (
      err.grpcCode === status.UNAVAILABLE ||
      err.grpcCode === status.INTERNAL ||
      err.grpcCode === status.CANCELLED
    );
  return err instanceof HeedError && err.code === "HEED_WATCH_ENDED";
}

export function watchCommand(program: Command): void {
  program
    .command("watch")
    .description("follow a crawl until it ends: a live progress line on a terminal, plain lines otherwise")
    .argument("<crawl-id>")
    .option("--interval-ms <ms>", "time between updates (100 to 60000)", "500")
    .option(
      "--reconnect-for <seconds>",
      "when the coordinator goes away (a restart), keep reconnecting this long (0: give up at once)",
      "300",
    )
    .addHelpText(
      "after",
      `
Progress shows settled URLs (done, failed or skipped) against all known so far,
pages per second over the last minute, and an ETA only once one means
something. A crawl making no progress says why (STALLED: paused, no live
workers, all hosts waiting until a time, robots.txt unreachable, budget spent).
If the coordinator goes away, watch says so on a line of its own (stderr) and
reconnects with back-off.

Exit code: 0 when the crawl finished, 1 when it was cancelled, 3 when the
coordinator stayed away past --reconnect-for. With --json, every update is one
JSON line.

Examples:
  heedctl watch library-2026-11
  heedctl watch library-2026-11 --json | jq -c .stats.counts`,
    )
    .action(
      act(async (ctx, cmd) => {
        const intervalMs = Number(cmd.opts().intervalMs);
        if (!Number.isInteger(intervalMs))
          throw new ConfigError("--interval-ms", "a whole number of milliseconds");
        const reconnectFor = Number(cmd.opts().reconnectFor);
        if (!Number.isFinite(reconnectFor) || reconnectFor < 0)
          throw new ConfigError("--reconnect-for", "a number of seconds, 0 or more");
        const crawlId = arg(cmd, 0);
        let last: proto.WatchProgressResponse | undefined;
        let lastLine = "";
        let lastLineAt = 0;
        // A progress line drawn in place on the terminal, not yet ended by a line break.
        let lineOpen = false;
        let lostSince: number | undefined;
        let attempt = 0;

        /** A line of its own on stderr: the progress line in place (if any) is ended first. */
        const notice = (text: string) => {
          if (lineOpen) {
            process.stdout.write("\n");
            lineOpen = false;
          }
          printErr(`${new Date().toISOString()}  ${text}\n`);
        };

        const show = (ev: proto.WatchProgressResponse) => {
          const s = ev.stats as proto.CrawlStats;
          const state = enumText(proto.CrawlState[s.state], "CRAWL_STATE_");
          const stalled = stallText(s, ev.atMs);
          if (ctx.json) {
            printJson(proto.WatchProgressResponse.toJSON(ev));
          } else if (ctx.tty) {
            // The stall first: on a narrow terminal the line is cut at its end, and a wrapped line breaks \r.
            const line = terminalSafe(`${state}  ${stalled !== "" ? `${stalled}  ` : ""}${progressText(s)}`);
            const width = process.stdout.columns ?? 0;
            process.stdout.write(`\r\x1b[2K${width > 1 ? line.slice(0, width - 1) : line}`);
            lineOpen = true;
            if (ev.final) {
              process.stdout.write("\n");
              lineOpen = false;
            }
          } else {
            // Plain lines for logs and pipes: on change, at most one a second, and always the last.
            const line = `${state}  ${progressText(s)}${stalled !== "" ? `  ${stalled}` : ""}`;
            const changed =
              line.replace(/\s+\S+ (ms|s|min|h|d)$/, "") !== lastLine.replace(/\s+\S+ (ms|s|min|h|d)$/, "");
            if (ev.final || (changed && Date.now() - lastLineAt >= 1000)) {
              process.stdout.write(`${new Date(ev.atMs).toISOString()}  ${terminalSafe(line)}\n`);
              lastLine = line;
              lastLineAt = Date.now();
            }
          }
        };

        for (;;) {
          let lost: unknown;
          try {
            for await (const ev of ctx.admin.stream((c) => c.watchProgress, { crawlId, intervalMs })) {
              if (lostSince !== undefined) {
                notice(`reconnected to the coordinator after ${duration(Date.now() - lostSince)}`);
                lostSince = undefined;
                attempt = 0;
              }
              last = ev;
              show(ev);
              if (ev.final) break;
            }
            if (last?.final === true) break;
            lost = new HeedError("HEED_WATCH_ENDED", "the progress stream ended early");
          } catch (err) {
            if (!reconnectable(err)) throw err;
            lost = err;
          }
          const now = Date.now();
          lostSince ??= now;
          if (now - lostSince >= reconnectFor * 1000) {
            if (lineOpen) process.stdout.write("\n");
            throw lost;
          }
          const waitMs = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** attempt);
          attempt++;
          notice(
            `lost the coordinator (${errorMessage(lost)}); reconnecting in ${duration(waitMs)} (attempt ${attempt})`,
          );
          await sleep(waitMs);
        }
        const ended = last?.stats?.state;
        if (!ctx.json && !ctx.tty)
          printErr(
            `crawl ${last?.stats?.crawlId} ${enumText(proto.CrawlState[ended ?? 0], "CRAWL_STATE_")}\n`,
          );
        return ended === proto.CrawlState.CRAWL_STATE_CANCELLED ? CTL_EXIT.failure : CTL_EXIT.ok;
      }),
    );
}

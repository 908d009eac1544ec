import { ConfigError, proto } from "@heed/shared";
import type { Command } from "commander";
import { act, arg } from "../context.js";
import { enumText, print, printJson, relative, table } from "../output.js";
import { allPages } from "./crawls.js";

export function workerCommands(program: Command): void {
  const workers = program.command("workers").description("live workers (from their heartbeats) and draining");

  workers
    .command("list")
    .description("workers heard from in their last three heartbeats")
    .action(
      act(async (ctx) => {
        const workers = await allPages(
          (pageToken) => ctx.admin.call((c) => c.listWorkers, { limit: 0, pageToken }),
          (r) => r.workers,
        );
        if (ctx.json) {
          printJson(proto.ListWorkersResponse.toJSON({ workers, nextPageToken: "" }));
          return undefined;
        }
        const now = Date.now();
        print(
          table(
            [
              "ID",
              "STATE",
              "IN FLIGHT",
              "CONCURRENCY",
              "FETCHED",
              "FETCHES/S",
              "LAST SEEN",
              "UP",
              "HOST",
              "VERSION",
            ],
            workers.map((w) => [
              w.workerId,
              enumText(proto.WorkerState[w.state], "WORKER_STATE_"),
              w.inFlight,
              w.concurrency,
              w.fetched,
              w.fetchesPerSecond.toFixed(1),
              relative(w.lastSeenAtMs, now),
              relative(w.startedAtMs, now).replace(/ ago$/, ""),
              `${w.hostname}:${w.pid}`,
              w.version,
            ]),
          ),
        );
        return undefined;
      }),
    );

  workers
    .command("drain")
    .description("ask a worker (or all) to stop taking leases, finish or hand back its fetches and exit")
    .argument("[worker-id]")
    .option("--all", "every live worker")
    .addHelpText(
      "after",
      `
Examples:
  heedctl workers drain worker-a-1234-abcdef
  heedctl workers drain --all`,
    )
    .action(
      act(async (ctx, cmd) => {
        const workerId = arg(cmd, 0);
        const all = cmd.opts().all === true;
        if (all === (workerId !== "")) throw new ConfigError("worker-id", "give a worker id or --all");
        const res = await ctx.admin.call((c) => c.drainWorkers, { workerId, all });
        if (ctx.json) printJson(proto.DrainWorkersResponse.toJSON(res));
        else print(`drain sent to ${res.workerIds.length} worker(s): ${res.workerIds.join(", ") || "-"}`);
        return undefined;
      }),
    );
}

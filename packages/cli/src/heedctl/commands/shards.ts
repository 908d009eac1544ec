import { proto } from "@heed/shared";
import type { Command } from "commander";
import { act } from "../context.js";
import { print, printJson, relative, table } from "../output.js";

export function shardCommands(program: Command): void {
  const shards = program.command("shards").description("the shards of a sharded fleet");

  shards
    .command("list")
    .description("every shard: address, partition ranges, hosts, queued URLs, leases/s, member age")
    .action(
      act(async (ctx) => {
        const res = await ctx.admin.call((c) => c.listShards, {});
        if (ctx.json) {
          printJson(proto.ListShardsResponse.toJSON(res));
          return undefined;
        }
        if (res.shards.length === 0) {
          print("not sharded: this coordinator serves the whole frontier alone");
          return undefined;
        }
        const now = Date.now();
        print(
          table(
            ["SHARD", "ADDRESS", "RANGES", "PARTITIONS", "HOSTS", "QUEUED", "LEASES/S", "AGE", "STATE"],
            res.shards.map((s) => [
              s.shardId,
              s.grpcAddress || "-",
              s.ranges.map((r) => `${r.from}-${r.to}`).join(",") || "-",
              s.partitions,
              s.unanswered || s.expired ? "?" : s.hosts,
              s.unanswered || s.expired ? "?" : s.queued,
              s.unanswered || s.expired ? "?" : s.leasesPerSecond.toFixed(1),
              s.startedAtMs > 0 ? relative(s.startedAtMs, now).replace(/ ago$/, "") : "-",
              s.expired ? "EXPIRED (no member record)" : s.unanswered ? "not answering" : "live",
            ]),
          ),
        );
        print(`map version ${res.mapVersion}`);
        for (const m of res.moves) print(`moving: ${m}`);
        return undefined;
      }),
    );
}

import { ownerOf, type ShardFleet } from "@heed/shared";
import type { AdminFleet, ShardView } from "./fanout.js";

/**
 * The admin API's view of a sharded fleet, from the shared fleet watcher:
 * every shard the map names or that has a live member record. A shard in the
 * map without one has expired: it keeps its ranges, and the admin answers
 * name it as missing.
 */
export function adminFleetView(options: {
  selfId: string;
  fleet: () => ShardFleet | undefined;
  /** A host's partition, as the frontier places it (host groups whole). */
  placement: (host: string) => number;
}): AdminFleet {
  const current = () => options.fleet()?.map();
  return {
    selfId: options.selfId,
    shards() {
      const fleet = options.fleet();
      const views = new Map<string, ShardView>();
      const view = (shardId: string) => {
        let v = views.get(shardId);
        if (v === undefined) {
          v = { shardId, ranges: [] };
          views.set(shardId, v);
        }
        return v;
      };
      for (const r of current()?.map.ranges ?? []) view(r.shard).ranges.push({ from: r.from, to: r.to });
      for (const m of fleet?.members() ?? [])
        view(m.shardId).member = {
          grpcAddress: m.grpcAddress,
          adminSubject: m.adminSubject,
          startedAt: m.startedAt,
        };
      // This shard answers itself even before its first member record is seen.
      view(options.selfId);
      return [...views.values()].sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0));
    },
    ownerOfHost(host) {
      const map = current()?.map;
      return map === undefined ? undefined : ownerOf(map, options.placement(host));
    },
    mapVersion: () => current()?.map.version ?? 0,
    moves: () =>
      (current()?.map.moves ?? []).map((m) => `${m.from}-${m.to} ${m.source}→${m.target} (${m.phase})`),
  };
}

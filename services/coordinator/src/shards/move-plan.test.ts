import { evenMap, partitionOwners, type ShardMap } from "@heed/shared";
import { describe, expect, it } from "vitest";
import { handedOver, joinMove, moveName, parseMoveName, withMove, withPhase } from "./move-plan.js";

describe("shard move plans", () => {
  it("a joining shard gets the upper half of the busiest shard's biggest range, then all of it on hand-over", () => {
    const map = evenMap(["s0", "s1", "s2"]);
    const move = joinMove(map, "s3");
    expect(move).toEqual({ from: 853, to: 1024, source: "s2", target: "s3", phase: "fencing" });
    if (move === undefined) return;
    const moving = withMove(map, move) as ShardMap;
    // Nobody owns a moving partition; a second join takes another range.
    expect(
      partitionOwners(moving)
        .slice(853)
        .every((o) => o === undefined),
    ).toBe(true);
    expect(joinMove(moving, "s3")).toBeUndefined();
    expect(joinMove(moving, "s4")?.source).toBe("s0");
    expect(handedOver(moving, move)).toBeUndefined();
    const exporting = withPhase(moving, move, "fencing", "exporting") as ShardMap;
    expect(withPhase(exporting, move, "fencing", "exporting")).toBeUndefined();
    const importing = withPhase(exporting, move, "exporting", "importing") as ShardMap;
    const after = handedOver(importing, move) as ShardMap;
    expect(after.moves).toEqual([]);
    expect(after.ranges).toEqual([
      { from: 0, to: 341, shard: "s0" },
      { from: 341, to: 682, shard: "s1" },
      { from: 682, to: 853, shard: "s2" },
      { from: 853, to: 1024, shard: "s3" },
    ]);
    // A range that is not wholly the source's cannot move.
    expect(withMove(map, { ...move, from: 600 })).toBeUndefined();
  });

  it("names a move in a form that reads back, with dashes in shard ids", () => {
    const move = { source: "heed-coordinator-2", target: "heed-coordinator-3", from: 853, to: 1024 };
    expect(parseMoveName(moveName(move))).toEqual(move);
    expect(parseMoveName("nonsense")).toBeUndefined();
  });
});

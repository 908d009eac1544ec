import { describe, expect, it } from "vitest";
import { type ShardDemand, splitCapacity } from "./split.js";

const split = (concurrency: number, shards: ShardDemand[], turn = 0, free = concurrency) =>
  Object.fromEntries(splitCapacity({ concurrency, free, shards, turn }));

describe("splitCapacity", () => {
  it("splits an empty worker evenly between shards with due hosts", () => {
    expect(
      split(8, [
        { shard: "s0", inFlight: 0, state: "hungry" },
        { shard: "s1", inFlight: 0, state: "hungry" },
      ]),
    ).toEqual({ s0: 4, s1: 4 });
  });

  it("gives a shard that had nothing due a probe share and the rest to the others", () => {
    expect(
      split(8, [
        { shard: "s0", inFlight: 0, state: "idle" },
        { shard: "s1", inFlight: 0, state: "hungry" },
        { shard: "s2", inFlight: 0, state: "hungry" },
      ]),
    ).toEqual({ s0: 1, s1: 4, s2: 3 });
    expect(
      split(8, [
        { shard: "s0", inFlight: 0, state: "idle" },
        { shard: "s1", inFlight: 0, state: "idle" },
      ]),
    ).toEqual({ s0: 1, s1: 1 });
  });

  it("lets shards that are not asking now hold only their leases in flight, however many there are", () => {
    const resting: ShardDemand[] = Array.from({ length: 100 }, (_, i) => ({
      shard: `r${String(i).padStart(3, "0")}`,
      inFlight: 0,
      state: "resting",
    }));
    const shares = split(8, [
      ...resting,
      { shard: "s0", inFlight: 0, state: "hungry" },
      { shard: "s1", inFlight: 0, state: "hungry" },
    ]);
    expect(shares.s0).toBe(4);
    expect(shares.s1).toBe(4);
  });

  it("gives a freed slot to the shard furthest below its share, a probing one before the busy ones", () => {
    expect(
      split(
        8,
        [
          { shard: "s0", inFlight: 4, state: "hungry" },
          { shard: "s1", inFlight: 3, state: "hungry" },
          { shard: "s2", inFlight: 0, state: "idle" },
        ],
        0,
      ),
    ).toEqual({ s0: 0, s1: 0, s2: 1 });
  });

  it("lets an idle shard that asks take the room no other shard claims, but not a hungry shard's share", () => {
    const ask = (shards: ShardDemand[]) =>
      Object.fromEntries(splitCapacity({ concurrency: 8, free: 8, shards, turn: 0, asking: "s0" }));
    expect(
      ask([
        { shard: "s0", inFlight: 2, state: "idle" },
        { shard: "s1", inFlight: 1, state: "resting" },
      ]),
    ).toEqual({ s0: 5, s1: 0 });
    expect(
      ask([
        { shard: "s0", inFlight: 2, state: "idle" },
        { shard: "s1", inFlight: 1, state: "hungry" },
      ]),
    ).toEqual({ s0: 1, s1: 4 });
  });

  it("gives a shard whose reports cannot be delivered nothing new, and the others its share", () => {
    expect(
      split(6, [
        { shard: "s0", inFlight: 2, state: "blocked" },
        { shard: "s1", inFlight: 0, state: "hungry" },
      ]),
    ).toEqual({ s0: 0, s1: 4 });
  });

  it("never hands out more than the worker has free", () => {
    expect(
      split(
        8,
        [
          { shard: "s0", inFlight: 0, state: "hungry" },
          { shard: "s1", inFlight: 0, state: "hungry" },
        ],
        0,
        3,
      ),
    ).toEqual({ s0: 3, s1: 0 });
    expect(
      split(
        8,
        [
          { shard: "s0", inFlight: 0, state: "hungry" },
          { shard: "s1", inFlight: 0, state: "idle" },
        ],
        0,
        0,
      ),
    ).toEqual({ s0: 0, s1: 0 });
  });

  it("does not let a shard that filled the worker starve one whose hosts became due", () => {
    // s0 had the worker to itself; s1 now has due hosts. Each freed slot must go to s1 until the two are even.
    const inFlight: Record<string, number> = { s0: 8, s1: 0 };
    const history: string[] = [];
    for (let step = 0; step < 8; step++) {
      // One of s0's fetches ends.
      if (inFlight.s0 !== undefined && inFlight.s0 > 0) inFlight.s0--;
      const shares = split(
        8,
        [
          { shard: "s0", inFlight: inFlight.s0 ?? 0, state: "hungry" },
          { shard: "s1", inFlight: inFlight.s1 ?? 0, state: "hungry" },
        ],
        step,
      );
      for (const [shard, n] of Object.entries(shares)) {
        inFlight[shard] = (inFlight[shard] ?? 0) + n;
        for (let i = 0; i < n; i++) history.push(shard);
      }
    }
    expect(history.slice(0, 4)).toEqual(["s1", "s1", "s1", "s1"]);
    expect(inFlight).toEqual({ s0: 4, s1: 4 });
  });

  it("never lets one shard take every slot while another has due hosts", () => {
    for (let concurrency = 2; concurrency <= 12; concurrency++) {
      for (let turn = 0; turn < 4; turn++) {
        const shares = split(
          concurrency,
          [
            { shard: "a", inFlight: 0, state: "hungry" },
            { shard: "b", inFlight: 0, state: "hungry" },
            { shard: "c", inFlight: 0, state: "idle" },
          ],
          turn,
        );
        expect(shares.a).toBeLessThan(concurrency);
        // With fewer slots than shards, the turn decides who waits; otherwise every due shard gets some.
        if (concurrency >= 3) expect(shares.b).toBeGreaterThan(0);
        expect((shares.a ?? 0) + (shares.b ?? 0) + (shares.c ?? 0)).toBeLessThanOrEqual(concurrency);
      }
    }
  });

  it("takes turns when there are more shards than capacity", () => {
    const shards: ShardDemand[] = ["s0", "s1", "s2"].map((shard) => ({
      shard,
      inFlight: 0,
      state: "hungry",
    }));
    const winners = [0, 1, 2].map((turn) =>
      Object.entries(split(1, shards, turn))
        .filter(([, n]) => n > 0)
        .map(([s]) => s),
    );
    expect(winners).toEqual([["s0"], ["s1"], ["s2"]]);
  });

  it("hands a shard that went idle with leases in flight only a probe above them", () => {
    expect(
      split(8, [
        { shard: "s0", inFlight: 5, state: "idle" },
        { shard: "s1", inFlight: 0, state: "hungry" },
      ]),
    ).toEqual({ s0: 0, s1: 3 });
    expect(
      split(8, [
        { shard: "s0", inFlight: 2, state: "idle" },
        { shard: "s1", inFlight: 1, state: "hungry" },
      ]),
    ).toEqual({ s0: 1, s1: 4 });
  });
});

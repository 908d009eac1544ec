import { describe, expect, it } from "vitest";
import { createHostSchedule, type HostSchedule } from "./schedule.js";

/** A small deterministic generator, so a failure names the seed that found it. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Drives the schedule and a plain map with the same random moves (new hosts, earlier and later
 * times, unscheduling, taking what is due) and checks every answer against the map.
 */
function compareWithModel(schedule: HostSchedule, model: Map<string, number>, seed: number, steps: number) {
  const random = rng(seed);
  let now = 1_000;
  for (let step = 0; step < steps; step++) {
    const host = `h${Math.floor(random() * 300)}.example`;
    const r = random();
    if (r < 0.45) {
      const due = now + Math.floor(random() * 2_000) - 500;
      schedule.schedule(host, due);
      model.set(host, due);
    } else if (r < 0.55) {
      schedule.unschedule(host);
      model.delete(host);
    } else if (r < 0.9) {
      const due = schedule.hasDue(now);
      const taken = schedule.takeDue(now);
      expect(due).toBe(taken !== undefined);
      const earliest = Math.min(...model.values());
      if (taken === undefined) expect(earliest > now || model.size === 0).toBe(true);
      else {
        expect(model.get(taken)).toBe(earliest);
        expect(earliest).toBeLessThanOrEqual(now);
        model.delete(taken);
      }
    } else now += Math.floor(random() * 300);
    expect(schedule.size).toBe(model.size);
    expect(schedule.nextDueMs()).toBe(model.size === 0 ? undefined : Math.min(...model.values()));
    expect(schedule.dueAt(host)).toBe(model.get(host));
  }
}

describe("host schedule", () => {
  it("hands out hosts earliest first, and only once they are due", () => {
    const s = createHostSchedule();
    s.schedule("b.example", 200);
    s.schedule("a.example", 100);
    s.schedule("c.example", 300);
    expect(s.takeDue(50)).toBeUndefined();
    expect(s.nextDueMs()).toBe(100);
    expect(s.takeDue(250)).toBe("a.example");
    expect(s.takeDue(250)).toBe("b.example");
    expect(s.takeDue(250)).toBeUndefined();
    expect(s.dueAt("c.example")).toBe(300);
    expect(s.dueAt("a.example")).toBeUndefined();
    expect(s.size).toBe(1);
  });

  it("moves a rescheduled host to its new time, earlier or later, and forgets an unscheduled one", () => {
    const s = createHostSchedule();
    for (const [k, due] of [
      ["a", 100],
      ["b", 200],
      ["c", 300],
      ["d", 400],
    ] as const)
      s.schedule(k, due);
    s.schedule("a", 500);
    s.schedule("d", 50);
    s.unschedule("b");
    expect([s.takeDue(1000), s.takeDue(1000), s.takeDue(1000), s.takeDue(1000)]).toEqual([
      "d",
      "c",
      "a",
      undefined,
    ]);
    expect(s.size).toBe(0);
  });

  it("agrees with a plain map over long random sequences of moves", () => {
    for (const seed of [1, 2, 3, 4, 5]) compareWithModel(createHostSchedule(), new Map(), seed, 3_000);
  });

  it("built at once from a restart's hosts, orders them as one by one would, and goes on from there", () => {
    const random = rng(9);
    const entries: [string, number][] = [];
    for (let i = 0; i < 5_000; i++) entries.push([`h${i}.example`, Math.floor(random() * 10_000)]);
    const s = createHostSchedule(entries);
    const model = new Map(entries);
    expect(s.size).toBe(5_000);
    let last = -1;
    for (let i = 0; i < 2_500; i++) {
      const key = s.takeDue(10_000) as string;
      const due = model.get(key) as number;
      expect(due).toBeGreaterThanOrEqual(last);
      last = due;
      model.delete(key);
    }
    compareWithModel(s, model, 11, 3_000);
  });
});

import { describe, expect, it } from "vitest";
import { ETA_MIN_SAMPLES, ETA_MIN_SPAN_MS, estimateProgress, type ProgressSample } from "./progress.js";

/** One sample a second over `seconds`, settled and discovered growing as the functions say. */
function run(seconds: number, settled: (t: number) => number, discovered: (t: number) => number) {
  const out: ProgressSample[] = [];
  for (let t = 0; t <= seconds; t++) {
    const s = settled(t);
    out.push({ atMs: t * 1000, done: s, settled: s, discovered: discovered(t) });
  }
  return out;
}

describe("progress estimate", () => {
  it("gives rates over the window and an ETA from how fast the work left shrinks", () => {
    // 2 URLs settled a second, 1 discovered a second: the work left shrinks by 1 a second.
    const e = estimateProgress(
      run(
        30,
        (t) => 2 * t,
        (t) => 100 + t,
      ),
    );
    expect(e.pagesPerSecond).toBe(2);
    expect(e.settledPerSecond).toBe(2);
    expect(e.discoveredPerSecond).toBe(1);
    // Left now: 130 - 60 = 70, shrinking by 1/s.
    expect(e.etaMs).toBe(70_000);
    expect(e.noEtaReason).toBeUndefined();
  });

  it("gives no ETA while the known URLs grow faster than they settle, however high done ÷ known jumps", () => {
    // A crawl discovering pages as it goes: the share settled swings, the queue keeps growing.
    const e = estimateProgress(
      run(
        30,
        (t) => 3 * t,
        (t) => 10 + 4 * t,
      ),
    );
    expect(e.etaMs).toBeUndefined();
    expect(e.noEtaReason).toBe("queue growing");
    expect(e.settledPerSecond).toBe(3);
    expect(e.discoveredPerSecond).toBe(4);
  });

  it("gives no ETA when the queue started growing again in the later half of the window", () => {
    // Shrinking fast for 20 s, then a burst of discovery: over the whole window it still shrank.
    const e = estimateProgress(
      run(
        40,
        (t) => 5 * t,
        (t) => (t < 20 ? 300 : 300 + 8 * (t - 20)),
      ),
    );
    expect(e.etaMs).toBeUndefined();
    expect(e.noEtaReason).toBe("queue growing");
  });

  it("waits for enough history, and says when nothing moves or nothing is left", () => {
    expect(estimateProgress([]).noEtaReason).toBe("too few samples");
    expect(
      estimateProgress(
        run(
          0,
          () => 0,
          () => 10,
        ),
      ).noEtaReason,
    ).toBe("too few samples");
    const short = estimateProgress(
      run(
        ETA_MIN_SPAN_MS / 1000 - 1,
        (t) => t,
        () => 100,
      ),
    );
    expect(short).toMatchObject({ noEtaReason: "too few samples", settledPerSecond: 1 });
    expect(short.etaMs).toBeUndefined();
    const sparse = [
      { atMs: 0, done: 0, settled: 0, discovered: 100 },
      { atMs: 60_000, done: 60, settled: 60, discovered: 100 },
    ];
    expect(sparse.length).toBeLessThan(ETA_MIN_SAMPLES);
    expect(estimateProgress(sparse).noEtaReason).toBe("too few samples");
    expect(
      estimateProgress(
        run(
          30,
          () => 5,
          () => 100,
        ),
      ).noEtaReason,
    ).toBe("no progress");
    expect(
      estimateProgress(
        run(
          30,
          (t) => t,
          (t) => t,
        ),
      ).noEtaReason,
    ).toBe("nothing left");
  });

  it("the ETA uses the slower pace of the whole window and its later half", () => {
    // Fast (4/s) for 15 s, then slow (1/s) for 15 s, nothing discovered: left now 1000 - 75 = 925.
    const e = estimateProgress(
      run(
        30,
        (t) => (t <= 15 ? 4 * t : 60 + (t - 15)),
        () => 1000,
      ),
    );
    expect(e.etaMs).toBe(925_000);
  });
});

import { describe, expect, it } from "vitest";
import { table, terminalSafe } from "./output.js";

describe("heedctl output", () => {
  it("strips what a terminal would act on from server-supplied text, keeping line breaks", () => {
    const hostile = "evil\x1b[2J\x1b]0;title\x07\x9b31m\u202eexe.txt\r";
    const text = table(["WORKER", "HOST"], [["w1", hostile]]);
    const safe = terminalSafe(text);
    expect(safe).toBe(`WORKER  HOST\nw1      evil[2J]0;title31mexe.txt`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/.test(safe)).toBe(false);
  });
});

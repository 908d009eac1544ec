import { describe, expect, it } from "vitest";
import { tdmReserved, tdmRulesFromJson } from "./tdm.js";

describe("TDMRep rules", () => {
  const rules = tdmRulesFromJson(
    JSON.stringify([
      { location: "/images/*.jpg$", "tdm-reservation": 1 },
      { location: "/news/*", "tdm-reservation": "1" },
      { location: "/*", "tdm-reservation": 0 },
      { location: 42 },
      "junk",
    ]),
  );
  const record = { origin: "http://a.example", fetchedAtMs: 0, rules };

  it("keeps the readable rules and drops the rest", () => {
    expect(rules).toEqual([
      { pattern: "/images/*.jpg$", reserved: true },
      { pattern: "/news/*", reserved: true },
      { pattern: "/*", reserved: false },
    ]);
    expect(tdmRulesFromJson("{not json")).toEqual([]);
    expect(tdmRulesFromJson('{"location":"/"}')).toEqual([]);
  });

  it("lets the first matching rule decide, with * and $", () => {
    expect(tdmReserved(record, "http://a.example/images/cat.jpg")).toBe(true);
    expect(tdmReserved(record, "http://a.example/images/cat.jpg?size=2")).toBe(false);
    expect(tdmReserved(record, "http://a.example/news/today")).toBe(true);
    expect(tdmReserved(record, "http://a.example/about")).toBe(false);
  });

  it("reserves everything once a page of the origin said so", () => {
    expect(tdmReserved({ ...record, headerReserved: true }, "http://a.example/about")).toBe(true);
  });
});

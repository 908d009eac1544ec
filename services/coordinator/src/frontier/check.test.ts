import { afterEach, describe, expect, it } from "vitest";
import type { Frontier } from "./frontier.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

const spec = {
  id: "c1",
  seeds: ["http://www.alpha.org/"],
  userAgent: { product: "HeedBot", contact: "ops@example.org" },
};

let opened: { frontier: Frontier; dir: string } | undefined;
afterEach(async () => {
  if (opened !== undefined) await closeTestFrontier(opened.frontier, opened.dir);
  opened = undefined;
});

describe("frontier check", () => {
  it("finds counters of a crawl that has no URL records here (a shard whose URLs all moved away)", () => {
    const dir = testFrontierDir("check");
    const frontier = openTestFrontier(dir, () => 1_000_000);
    opened = { frontier, dir };
    // A fleet's other shards create the crawl without its seeds: no URL record here.
    frontier.createCrawl(spec, { discoverSeeds: false });
    expect(frontier.check().problems).toEqual([]);
    const counters = frontier.store.crawls.get("c1");
    if (counters === undefined) throw new Error("no crawl c1");
    frontier.store.crawls.putSync("c1", { ...counters, counts: { ...counters.counts, leased: 3 } });
    expect(frontier.check().problems).toEqual([
      { kind: "count_mismatch", detail: "c1 leased: counted 3, records 0" },
    ]);
    // As it was, for the check on closing.
    frontier.store.crawls.putSync("c1", counters);
  });
});

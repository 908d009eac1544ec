import { partitionOfHost, partitionOfHostGroup } from "@heed/shared";
import { afterEach, describe, expect, it } from "vitest";
import type { Frontier } from "../frontier/frontier.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "../frontier/testing/test-frontier.js";
import { placementFor } from "./placement.js";

const ua = { product: "HeedBot", contact: "ops@example.org" };
const crawl = (id: string, group: string[]) => ({
  id,
  seeds: [`http://${group[0]}/`],
  userAgent: ua,
  politeness: { hostGroups: [{ name: "cdn", hosts: group }] },
});

let open: { frontier: Frontier; dir: string } | undefined;
afterEach(async () => {
  if (open !== undefined) await closeTestFrontier(open.frontier, open.dir);
  open = undefined;
});

describe("placementFor (the frontier's host groups)", () => {
  it("follows the groups as crawls add them, placing one named group whole however many crawls list it", async () => {
    const dir = testFrontierDir("placement");
    let frontier = openTestFrontier(dir, () => 1_000_000);
    open = { frontier, dir };
    const first = ["m.example.net", "z.example.org"];
    const second = ["a.example.com", "z.example.org", "q.example.io"];
    const all = ["a.example.com", "m.example.net", "q.example.io", "z.example.org"];
    // Hosts whose own partitions differ from the group's, so a stale placement shows.
    for (const h of ["m.example.net", "z.example.org", "q.example.io"])
      expect(partitionOfHost(h)).not.toBe(partitionOfHostGroup(all));
    expect(partitionOfHostGroup(first)).not.toBe(partitionOfHostGroup(all));

    const place = placementFor(() => frontier.hostGroups());
    expect(place("z.example.org")).toBe(partitionOfHost("z.example.org"));
    frontier.createCrawl(crawl("c1", first));
    expect(place("z.example.org")).toBe(partitionOfHostGroup(first));
    expect(place("Z.Example.ORG")).toBe(partitionOfHostGroup(first));
    // A second crawl lists more hosts under the same name: the frontier spaces all of them as one key
    // (group:cdn), so one shard must hold them all.
    frontier.createCrawl(crawl("c2", second));
    for (const h of all) expect(place(h)).toBe(partitionOfHostGroup(all));
    expect(place("other.example.com")).toBe(partitionOfHost("other.example.com"));

    // After a restart the groups are read back from the crawls' definitions: the same placement.
    await frontier.close();
    frontier = openTestFrontier(dir, () => 1_000_000);
    open = { frontier, dir };
    const again = placementFor(() => frontier.hostGroups());
    for (const h of all) expect(again(h)).toBe(partitionOfHostGroup(all));
  });
});

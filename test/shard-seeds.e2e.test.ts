import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { evenMap, ownerOf, partitionOfHost } from "@heed/shared";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { crawlSpec } from "./harness/cluster.js";
import { runHeedctl } from "./harness/processes.js";
import { type ShardFleetHandle, startShardFleet } from "./harness/shard-fleet.js";

/**
 * Seeds added to a running sharded crawl, through one shard, for hosts other
 * shards own: every shard learns them, so the owners queue them and keep their
 * same-host links, and a link into an added host found on another shard is in
 * scope there too. Nothing outside the seeds' hosts is fetched.
 */
const SHARDS = ["s0", "s1", "s2"];
const HOSTS = 12;
const MAP = evenMap(SHARDS);
const shardOf = (host: string) => ownerOf(MAP, partitionOfHost(host)) as string;
const address = (i: number) => `127.0.0.${i + 2}`;

const scratch = mkdtempSync(join(tmpdir(), "heed-shard-seeds-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("seeds added to a running sharded crawl", () => {
  let site: LoopbackSite | undefined;
  let fleet: ShardFleetHandle | undefined;
  afterEach(async () => {
    await fleet?.stop();
    await site?.close();
    fleet = undefined;
    site = undefined;
  });

  it("are crawled within their hosts' scope by the shards that own them", async () => {
    // The seed of the crawl's definition is on s0; two consecutive hosts (host i links to host i+1)
    // on s1 and s2 are added later through s0, so s1 finds links into s2's added host.
    const first = Array.from({ length: HOSTS }, (_, i) => i).find(
      (i) => shardOf(address(i)) === "s0",
    ) as number;
    const pair = Array.from({ length: HOSTS - 1 }, (_, i) => i).find(
      (i) =>
        shardOf(address(i)) === "s1" && shardOf(address(i + 1)) === "s2" && i !== first && i + 1 !== first,
    );
    expect(pair, "two consecutive hosts on s1 and s2").toBeDefined();
    const added = [address(pair as number), address((pair as number) + 1)];
    site = await startLoopbackSite({ hosts: defaultPlan(HOSTS, 3, 0), pageLatencyMs: 5, firstOctet: 2 });
    const origin = (a: string) => site?.hosts.find((h) => h.address === a)?.origin as string;
    fleet = await startShardFleet(SHARDS, {
      ...crawlSpec([`${origin(address(first))}/`], { maxDepth: 100, politeness: { minDelayMs: 50 } }),
      id: "seeds",
    });
    for (const s of SHARDS) await fleet.startShard(s);
    const r = await runHeedctl(
      [
        "--server",
        fleet.grpcAddress("s0"),
        "--json",
        "seeds",
        "add",
        "seeds",
        ...added.map((a) => `${origin(a)}/`),
      ],
      { env: { HEED_TOKEN: "", HEEDCTL_CONFIG: "", HOME: scratch }, timeoutMs: 30_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    fleet.startWorkers(2);
    const crawl = await fleet.waitFinished(60_000);
    expect(crawl.state).toBe("finished");

    const inScope = new Set([address(first), ...added]);
    const expected = [...site.expectedPages(100)].filter((u) => inScope.has(new URL(u).hostname)).sort();
    const fetched = [
      ...new Set(site.log.filter((x) => x.path !== "/robots.txt").map((x) => `${origin(x.host)}${x.path}`)),
    ].sort();
    expect(fetched).toEqual(expected);
    // Every shard knows the added seeds: each lists them among the crawl's seeds.
    for (const s of SHARDS) expect(fleet.crawl(s)?.addedSeeds).toBe(2);
    for (const s of SHARDS) expect(fleet.check(s).problems).toEqual([]);
  }, 90_000);
});

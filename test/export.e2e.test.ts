import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { runHeed, runHeedctl } from "./harness/processes.js";
import { writeFixtureWarc } from "./harness/warc-fixtures.js";
import { readZip } from "./harness/zip.js";

// `heed export wacz` reads the data directory; `heedctl export wacz` asks the coordinator,
// which streams the same package over the admin API. No workers run: the WARC files are made here.
let cluster: Cluster;
let out: string;
let crawlId: string;

beforeAll(async () => {
  cluster = await startCluster({ workers: 0 });
  out = await mkdtemp(join(tmpdir(), "heed-export-"));
  crawlId = cluster.coordinator.frontier.createCrawl(crawlSpec(["http://127.0.0.250:9/"])).id;
  const warcDir = join(cluster.dataDir, "warc");
  await writeFixtureWarc(warcDir, crawlId, [
    { url: "http://127.0.0.250:9/", body: "<html><title>Seed</title><p>seed page</p></html>" },
    { url: "http://127.0.0.250:9/robots.txt", contentType: "text/plain", body: "User-agent: *\n" },
  ]);
  await writeFixtureWarc(warcDir, crawlId, [{ url: "http://127.0.0.250:9/p/1", body: "<p>one</p>" }], {
    serial: 2,
  });
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
  await rm(out, { recursive: true, force: true });
});

function resources(entries: Awaited<ReturnType<typeof readZip>>): unknown {
  const dp = entries.find((e) => e.name === "datapackage.json");
  return (JSON.parse(dp?.data.toString() ?? "{}") as { resources: unknown[] }).resources;
}

describe("WACZ export from the command line", () => {
  it("heed export wacz and heedctl export wacz write the same package", async () => {
    const local = join(out, "local.wacz");
    const r = await runHeed([
      "export",
      "wacz",
      "--data-dir",
      cluster.dataDir,
      "--crawl",
      crawlId,
      "--output",
      local,
      "--json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ warcFiles: 2, captures: 3, pages: 2 });

    const remote = join(out, "remote.wacz");
    const c = await runHeedctl(["export", "wacz", crawlId, "--output", remote], {
      env: {
        HEED_SERVER: `127.0.0.1:${cluster.coordinator.grpcPort}`,
        HEEDCTL_CONFIG: "",
        XDG_CONFIG_HOME: out,
      },
    });
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);

    const a = await readZip(local);
    const b = await readZip(remote);
    expect(b.map((e) => e.name).sort()).toEqual(a.map((e) => e.name).sort());
    expect(resources(b)).toEqual(resources(a));
    expect(existsSync(`${remote}.part`)).toBe(false);
  });

  it("fails with a clear message and leaves no file for a crawl that captured nothing or does not exist", async () => {
    const empty = cluster.coordinator.frontier.createCrawl(crawlSpec(["http://127.0.0.251:9/"])).id;
    const target = join(out, "empty.wacz");
    const r = await runHeed([
      "export",
      "wacz",
      "--data-dir",
      cluster.dataDir,
      "--crawl",
      empty,
      "--output",
      target,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`no closed WARC files of crawl ${empty}`);
    const c = await runHeedctl(["export", "wacz", "no-such-crawl", "--output", target], {
      env: {
        HEED_SERVER: `127.0.0.1:${cluster.coordinator.grpcPort}`,
        HEEDCTL_CONFIG: "",
        XDG_CONFIG_HOME: out,
      },
    });
    expect(c.code).not.toBe(0);
    expect(c.stderr).toContain("no crawl no-such-crawl");
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.part`)).toBe(false);
  });
});

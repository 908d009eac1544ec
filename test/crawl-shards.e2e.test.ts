import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openFrontierReader } from "@heed/coordinator";
import { sleep } from "@heed/shared";
import { afterAll, describe, expect, it } from "vitest";
import { expectedRefusals, natsWire, probeRoles, type RoleLogins } from "./harness/nats-wire.js";
import {
  alive,
  childPids,
  commandLine,
  exited,
  listeningPorts,
  runHeed,
  startHeed,
} from "./harness/processes.js";
import { until } from "./harness/until.js";

// `heed crawl --coordinators 3`: one crawl served by three shards in one process, each with its own
// frontier under <data-dir>/shards/<id>, a private nats-server with JetStream storing under the data directory.

const scratch = mkdtempSync(join(tmpdir(), "heed-crawl-shards-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const SHARDS = ["s0", "s1", "s2"];

describe("heed crawl --coordinators 3", () => {
  it("crawls the demo site on three shards; the summary covers all of them and each frontier checks clean", async () => {
    const dataDir = join(scratch, "demo");
    const r = await runHeed(
      ["crawl", "--demo", "--demo-port", "8472", "--coordinators", "3", "--workers", "2", "--json"].concat([
        "--data-dir",
        dataDir,
      ]),
      { timeoutMs: 90_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      state: string;
      pages: { done: number; queued: number; leased: number; skipped: number };
      byStatus: Record<string, number>;
      hosts: number;
    };
    expect(summary.state).toBe("finished");
    expect(summary.pages.queued + summary.pages.leased).toBe(0);
    expect(summary.byStatus["200"]).toBe(summary.pages.done);
    expect(summary.hosts).toBe(8);
    expect(existsSync(join(dataDir, "jetstream"))).toBe(true);

    const hostsOf = new Map<string, Set<string>>();
    let done = 0;
    let skipped = 0;
    for (const s of SHARDS) {
      const check = await runHeed(["frontier", "check", "--data-dir", join(dataDir, "shards", s), "--json"]);
      expect(check.code, check.stdout).toBe(0);
      const reader = openFrontierReader(join(dataDir, "shards", s));
      try {
        const crawl = reader.crawl((JSON.parse(r.stdout) as { crawlId: string }).crawlId);
        done += crawl?.counts.done ?? 0;
        skipped += crawl?.counts.skipped ?? 0;
        hostsOf.set(s, new Set(reader.urls(crawl?.id ?? "").map((u) => new URL(u.url).host)));
        expect(reader.outboxSize()).toBe(0);
      } finally {
        await reader.close();
      }
    }
    // The summary is the sum of the shards, and no host is on two shards.
    expect(done).toBe(summary.pages.done);
    expect(skipped).toBe(summary.pages.skipped);
    const all = SHARDS.flatMap((s) => [...(hostsOf.get(s) ?? [])]);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(8);
  }, 120_000);

  it("SIGTERM stops every shard (whose private nats-server has the fleet's role users), the workers and the nats-server, and prints the summary", async () => {
    const dataDir = join(scratch, "sigterm");
    const run = startHeed([
      "crawl",
      "--demo",
      "--demo-port",
      "8473",
      "--min-delay-ms",
      "800",
      "--coordinators",
      "3",
      "--workers",
      "2",
      "--data-dir",
      dataDir,
    ]);
    const { child } = run;
    try {
      const pid = child.pid as number;
      await until("the crawl to start", () => (run.stderr().includes("Crawling") ? true : undefined), 30_000);
      await sleep(1500);
      const natsPid = childPids(pid)[0];
      expect(natsPid).toBeDefined();
      await expectRoleUsers(natsPid as number);
      process.kill(pid, "SIGTERM");
      const signalled = Date.now();
      await Promise.race([exited(child), sleep(20_000)]);
      expect(child.exitCode, run.stderr()).toBe(143);
      expect(Date.now() - signalled).toBeLessThan(20_000);
      expect(run.stdout()).toMatch(/interrupted after [\d.]+ s: \d+ URL\(s\) remain\./);
      expect(alive(natsPid as number)).toBe(false);
      expect(childPids(pid)).toEqual([]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }, 60_000);
});

/**
 * The private nats-server of a sharded `heed crawl` has Heed's role users, as a deployed fleet's
 * has: nobody connects without them, and a worker's credentials cannot write the shard map or
 * members (which decide where workers send leases and reports), nor serve leases.
 */
async function expectRoleUsers(natsPid: number): Promise<void> {
  const args = commandLine(natsPid);
  expect(args).toContain("-js");
  const conf = readFileSync(args[args.indexOf("-c") + 1] as string, "utf8");
  const loginOf = (role: string): { user: string; pass: string } => {
    const m = new RegExp(`user: "${role}", password: "([^"]+)"`).exec(conf);
    expect(m, `${role} user in the generated configuration`).not.toBeNull();
    return { user: role, pass: m?.[1] as string };
  };
  const logins: RoleLogins = { coordinator: loginOf("coordinator"), worker: loginOf("worker") };
  const [port] = listeningPorts(natsPid);
  expect(port).toBeDefined();
  expect(await natsWire(port as number, {}, [])).toMatch(/Authorization Violation/);
  expect(await probeRoles(port as number, logins)).toEqual(expectedRefusals());
}

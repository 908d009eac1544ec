import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drainAndClose, sleep } from "@heed/shared";
import { startNatsServer } from "@heed/test-support";
import { connect, Events } from "nats";
import { afterAll, describe, expect, it } from "vitest";
import { alive, assertBuilt, childPids, exited, HEED_BIN, runHeed, startHeed } from "./harness/processes.js";
import { startTerminal } from "./harness/terminal.js";
import { until } from "./harness/until.js";

// How `heed crawl` ends when a person presses Ctrl-C in a terminal (SIGINT to the
// whole foreground process group) and when a process manager signals the main
// process only: exit code, summary, time to exit, and no process left behind.

const scratch = mkdtempSync(join(tmpdir(), "heed-shutdown-"));
// Slow enough per host that the crawl is still under way when it is interrupted.
const CRAWL = ["crawl", "--demo", "--demo-port", "8471", "--min-delay-ms", "800", "--workers", "2"];
/** Well inside the workers' and coordinator's drain times: a clean stop needs no more. */
const EXIT_BOUND_MS = 15_000;

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("heed crawl interrupted", () => {
  it("Ctrl-C in a terminal: stops cleanly, says what remains and how to resume, leaves nothing running; the next run resumes", async () => {
    assertBuilt();
    const dataDir = join(scratch, "ctrl-c");
    const term = startTerminal([process.execPath, HEED_BIN, ...CRAWL, "--data-dir", dataDir], {
      name: "crawl",
      scratch,
    });
    try {
      const screen = term.screen;
      const heedPid = await until("heed to start", () => childPids(term.shellPid())[0], 10_000);
      // Under way: some pages fetched, and the private nats-server running.
      await until(
        "pages to be fetched",
        () => (/done ([3-9]|\d\d)/.test(screen()) ? true : undefined),
        30_000,
      );
      const [natsPid] = childPids(heedPid);
      expect(natsPid).toBeDefined();
      expect(execFileSync("ps", ["-o", "comm=", "-p", String(natsPid)], { encoding: "utf8" })).toMatch(
        /nats-server/,
      );

      term.sendKeys("C-c");
      const pressed = Date.now();
      const status = await until("heed to exit", term.exitStatus, EXIT_BOUND_MS);
      const exitMs = Date.now() - pressed;

      expect(status, screen()).toBe(130);
      const text = screen();
      expect(text).toMatch(/stopping cleanly/);
      const m = /Crawl (\S+) interrupted after [\d.]+ s: (\d+) URL\(s\) remain\./.exec(text);
      expect(m, text).not.toBeNull();
      expect(Number(m?.[2])).toBeGreaterThan(0);
      expect(text).toContain(`Run again with the same --data-dir (${dataDir}) to resume it.`);
      expect(exitMs).toBeLessThan(EXIT_BOUND_MS);
      expect(alive(natsPid as number)).toBe(false);

      // What the summary promised: the same command with the same data directory carries on.
      const again = await runHeed([...CRAWL, "--data-dir", dataDir, "--json"], { timeoutMs: 60_000 });
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/Resuming crawl/);
      const summary = JSON.parse(again.stdout) as { crawlId: string; state: string; remaining: number };
      expect(summary.crawlId).toBe(m?.[1]);
      expect(summary.state).toBe("finished");
      expect(summary.remaining).toBe(0);
    } finally {
      term.close();
    }
  });

  it.each([
    ["SIGTERM to the main process only (systemd, Kubernetes, timeout)", false],
    ["SIGTERM after its nats-server died", true],
  ])("%s: exits 143 with the summary, nothing left", async (_name, natsDies) => {
    assertBuilt();
    const dataDir = join(scratch, natsDies ? "sigterm-nats-gone" : "sigterm");
    const run = startHeed([...CRAWL, "--data-dir", dataDir]);
    const { child } = run;
    try {
      const pid = child.pid as number;
      await until("the crawl to start", () => (run.stderr().includes("Crawling") ? true : undefined), 30_000);
      await sleep(1500);
      const natsPid = childPids(pid)[0];
      expect(natsPid).toBeDefined();
      if (natsDies) {
        process.kill(natsPid as number, "SIGKILL");
        await until("nats-server to be gone", () => (alive(natsPid as number) ? undefined : true), 5000);
        await sleep(500);
      }
      process.kill(pid, "SIGTERM");
      const signalled = Date.now();
      await Promise.race([exited(child), sleep(EXIT_BOUND_MS)]);
      const exitMs = Date.now() - signalled;
      expect(child.exitCode, run.stderr()).toBe(143);
      expect(exitMs).toBeLessThan(EXIT_BOUND_MS);
      expect(run.stdout()).toMatch(/interrupted after [\d.]+ s: \d+ URL\(s\) remain\./);
      expect(run.stdout()).toContain("to resume it.");
      expect(alive(natsPid as number)).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});

describe("closing a NATS connection whose server is gone", () => {
  it("ends the connection instead of leaving it reconnecting for ever", async () => {
    const nats = await startNatsServer();
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    try {
      nc.subscribe("heed.test.sub");
      const disconnected = (async () => {
        for await (const s of nc.status()) if (s.type === Events.Disconnect) return;
      })();
      await nats.stop();
      await disconnected;
      const problem = await drainAndClose(nc, 2000);
      expect(problem).toBeDefined();
      expect(nc.isClosed()).toBe(true);
    } finally {
      if (!nc.isClosed()) await nc.close();
      await nats.stop();
    }
  });
});

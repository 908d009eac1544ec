import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { afterAll, describe, expect, it } from "vitest";
import { crawlSpec } from "./harness/cluster.js";
import { type Fleet, startFleet } from "./harness/fleet.js";
import { assertBuilt, exited, HEEDCTL_BIN } from "./harness/processes.js";
import { startTerminal } from "./harness/terminal.js";
import { until } from "./harness/until.js";

// Loopback addresses of this file: .186-.187.

const scratch = mkdtempSync(join(tmpdir(), "heed-watch-restart-"));
let site: LoopbackSite | undefined;
let fleet: Fleet | undefined;

afterAll(async () => {
  await fleet?.stop();
  await site?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("heedctl watch across a coordinator restart", () => {
  it("says on a line of its own that it lost the coordinator, reconnects with back-off and follows the crawl to its end", async () => {
    assertBuilt();
    site = await startLoopbackSite({ hosts: defaultPlan(1, 12, 0), firstOctet: 186, pageLatencyMs: 2 });
    fleet = await startFleet({
      ...crawlSpec(site.seeds(), { politeness: { minDelayMs: 400 } }),
      id: "restart-watch",
    });
    await fleet.startCoordinator();
    fleet.startWorker();

    const term = startTerminal(
      [process.execPath, HEEDCTL_BIN, "watch", "restart-watch", "--interval-ms", "200"],
      {
        name: "watch",
        scratch,
        width: 200,
        env: { HEED_SERVER: `127.0.0.1:${fleet.grpcPort}`, HEEDCTL_CONFIG: "" },
      },
    );
    try {
      const screen = term.screen;
      // Two processes start first (the worker, heedctl in the terminal): on loaded cores each can
      // take 10-15 s, so the bound on progress counts from when both are up.
      await fleet.workersStarted();
      await until(
        "heedctl watch to show the crawl",
        () => (/settled \d+ of \d+ known/.test(screen()) ? true : undefined),
        60_000,
      );
      await until(
        "progress on the terminal",
        () => (/settled [1-9]\d* of \d+ known/.test(screen()) ? true : undefined),
        20_000,
      );

      const f = fleet;
      f.coordinator.kill("SIGKILL");
      await exited(f.coordinator);
      await until(
        "watch to notice",
        () => (/lost the coordinator/.test(screen()) ? true : undefined),
        10_000,
      );
      // Away long enough for a second, longer attempt.
      await until("a second attempt", () => (/\(attempt 2\)/.test(screen()) ? true : undefined), 10_000);
      await f.startCoordinator();

      const status = await until("watch to exit", term.exitStatus, 60_000);
      const text = screen();
      expect(status, text).toBe(0);
      const lines = text.split("\n");
      const stamp = String.raw`\d{4}-\d\d-\d\dT[\d:.]+Z`;
      // Each notice starts a line of its own: not glued to the progress line drawn in place.
      const lost = lines.filter((l) => /lost the coordinator/.test(l));
      expect(lost.length, text).toBeGreaterThanOrEqual(2);
      for (const l of lost)
        expect(l, text).toMatch(
          new RegExp(
            `^${stamp} {2}lost the coordinator \\(.+\\); reconnecting in \\S+ \\S+ \\(attempt \\d+\\)$`,
          ),
        );
      // Back-off: the second wait is longer than the first.
      const waits = lost
        .map((l) => /reconnecting in (\S+) (ms|s)/.exec(l))
        .map((m) => Number(m?.[1]) * (m?.[2] === "s" ? 1000 : 1));
      expect(waits[1]).toBeGreaterThan(waits[0] as number);
      expect(
        lines.filter((l) => new RegExp(`^${stamp} {2}reconnected to the coordinator after`).test(l)),
      ).toHaveLength(1);
      expect(
        lines.some((l) => /settled/.test(l) && /coordinator/.test(l)),
        text,
      ).toBe(false);
      // Carried on to the end: the last progress line is the finished crawl.
      expect(lines.filter((l) => /settled/.test(l)).at(-1), text).toMatch(
        /^finished {2}settled (\d+) of \1 known/,
      );
      expect(fleet.crawl()?.state).toBe("finished");
    } finally {
      term.close();
    }
  }, 120_000);
});

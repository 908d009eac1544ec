import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@heed/shared";
import { expect } from "vitest";
import type { FrontierSettings } from "../context.js";
import { type Frontier, openFrontier } from "../frontier.js";
import type { FrontierObserver } from "../observer.js";

// How the frontier's unit tests open and close one: each its own LMDB in a
// temporary directory, lease margins short enough to expire in a test, and a
// clock the test moves by hand.

/** A fresh temporary directory for a test frontier. */
export function testFrontierDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `heed-${name}-`));
}

export function openTestFrontier(
  dir: string,
  clock: () => number,
  extra: { observer?: FrontierObserver; settings?: Partial<FrontierSettings> } = {},
): Frontier {
  return openFrontier({
    dataDir: dir,
    settings: { leaseMarginMs: 1000, leaseTtlMs: 60_000, maxWaitHintMs: 250, ...extra.settings },
    log: silentLogger(),
    clock,
    ...(extra.observer !== undefined ? { observer: extra.observer } : {}),
  });
}

/** Every scenario must leave the frontier consistent; then it is closed and its directory removed. */
export async function closeTestFrontier(frontier: Frontier, dir: string): Promise<void> {
  expect(frontier.check().problems).toEqual([]);
  await frontier.close();
  rmSync(dir, { recursive: true, force: true });
}

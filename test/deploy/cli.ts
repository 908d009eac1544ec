/** Runs the Heed CLI the way the image's ENTRYPOINT does: node packages/cli/bin/heed.js ... */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { HEED_BIN, REPO_ROOT } from "./repo.js";

export function heed(...args: string[]): SpawnSyncReturns<string> {
  if (!existsSync(join(REPO_ROOT, "packages/cli/dist/main.js"))) {
    throw new Error("the CLI is not built: run `npx tsc --build` (npm test does, through scripts/setup.sh)");
  }
  return spawnSync(process.execPath, [HEED_BIN, ...args], {
    encoding: "utf8",
    cwd: REPO_ROOT,
    timeout: 30_000,
  });
}

const helpCache = new Map<string, string>();

/** `heed <command> --help`, which must succeed. */
export function helpOf(command: string): string {
  const cached = helpCache.get(command);
  if (cached !== undefined) return cached;
  const result = heed(command, "--help");
  if (result.status !== 0)
    throw new Error(`heed ${command} --help exited ${result.status}: ${result.stderr}`);
  helpCache.set(command, result.stdout);
  return result.stdout;
}

/**
 * The runbook's frontier backup, run for real: deploy/ops/lmdb-backup.mjs copies
 * a live coordinator's LMDB frontier while it runs, and `heed frontier check`
 * finds the copy complete and consistent.
 */
import { spawn, spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { heed } from "./cli.js";
import { mustFindWorkload } from "./k8s.js";
import { type Coordinator, startCoordinator, tempDir } from "./procs.js";
import { render } from "./render.js";
import { DEPLOY_DIR, REPO_ROOT } from "./repo.js";

const BACKUP_SCRIPT = join(DEPLOY_DIR, "ops/lmdb-backup.mjs");

/** `node --input-type=module - < deploy/ops/lmdb-backup.mjs`, as the runbook runs it through kubectl exec -i. */
function runBackupScript(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--input-type=module", "-"], {
    // The image's working directory is /app, whose node_modules holds lmdb; here it is the repo root.
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HEED_DATA_DIR: dataDir },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  createReadStream(BACKUP_SCRIPT).pipe(child.stdin);
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
}

interface CheckResult {
  crawls: number;
  urls: number;
  problems: unknown[];
}

function frontierCheck(dataDir: string): CheckResult {
  const result = heed("frontier", "check", "--data-dir", dataDir, "--json");
  expect(result.status, result.stderr + result.stdout).toBe(0);
  const parsed: unknown = JSON.parse(result.stdout);
  if (parsed === null || typeof parsed !== "object") throw new Error(`unexpected output: ${result.stdout}`);
  const get = (k: string): unknown => Reflect.get(parsed, k);
  const crawls = get("crawls");
  const urls = get("urls");
  const problems = get("problems");
  if (typeof crawls !== "number" || typeof urls !== "number" || !Array.isArray(problems)) {
    throw new Error(`unexpected frontier check output: ${result.stdout}`);
  }
  return { crawls, urls, problems };
}

describe("frontier backup while the coordinator runs", () => {
  const data = tempDir("heed-frontier-");
  let nats: NatsServerHandle | undefined;
  let coordinator: Coordinator | undefined;

  beforeAll(async () => {
    nats = await startNatsServer();
    // The site example's crawl, created at start as the crawl-file component does in the cluster.
    coordinator = await startCoordinator(
      { HEED_DATA_DIR: data.path, HEED_NATS_URL: `nats://127.0.0.1:${nats.port}` },
      ["--crawl-file", join(DEPLOY_DIR, "examples/site/crawl.json")],
    );
  });

  afterAll(async () => {
    await coordinator?.stop();
    await nats?.stop();
    data.remove();
  });

  it("starts a coordinator that creates the example crawl", async () => {
    expect(coordinator?.started, coordinator?.log()).toBe(true);
    await coordinator?.waitFor(/crawl created/);
  });

  it("copies a consistent frontier that `heed frontier check` accepts", async () => {
    const live = frontierCheck(data.path);
    expect(live.crawls).toBe(1);
    const { code, stdout, stderr } = await runBackupScript(data.path);
    expect(code, stderr).toBe(0);
    const out: unknown = JSON.parse(stdout);
    const backupDir = out !== null && typeof out === "object" ? Reflect.get(out, "dir") : undefined;
    const bytes = out !== null && typeof out === "object" ? Reflect.get(out, "bytes") : undefined;
    expect(typeof backupDir).toBe("string");
    expect(bytes).toBeGreaterThan(0);
    expect(String(backupDir).startsWith(join(data.path, "backup"))).toBe(true);
    const copy = frontierCheck(String(backupDir));
    expect(copy.problems).toEqual([]);
    expect(copy).toMatchObject({ crawls: live.crawls, urls: live.urls });
    // The coordinator kept running throughout.
    expect(coordinator?.log()).not.toMatch(/"level":(50|60)/);
  });

  it("fails plainly when there is no frontier to copy", async () => {
    const empty = tempDir("heed-empty-");
    try {
      const { code, stderr } = await runBackupScript(empty.path);
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/ENOENT/);
    } finally {
      empty.remove();
    }
  });
});

describe("the maintenance pod (deploy/ops)", () => {
  it("idles with node alone (no shell in the image) until deleted", () => {
    const [c] = mustFindWorkload(render("ops"), "heed-lmdb-maintenance").pod.containers;
    const [bin, ...args] = c?.command ?? [];
    expect(bin).toBe("node");
    // Still running after a second: killed by the timeout, not exited (a syntax error would exit at once).
    const result = spawnSync(process.execPath, args, { timeout: 1000, encoding: "utf8" });
    expect(result.signal, result.stderr).toBe("SIGTERM");
  });
});

/** Real processes on loopback for the deploy/ checks: the Heed services and heedctl (nats-server: @heed/test-support). */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HEED_BIN, REPO_ROOT } from "./repo.js";

/** A Heed process (coordinator, worker, heedctl) with its stderr collected. */
export interface HeedProcess {
  pid: number | undefined;
  log(): string;
  /** Resolves with the exit code (null: killed by a signal). */
  exited: Promise<number | null>;
  /** The exit code once it exited, undefined while it runs. */
  exitCode(): number | null | undefined;
  /** Resolves when the log matches `pattern`; rejects if it exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM (SIGKILL if it is still there after `killAfterMs`), then the exit code. */
  stop(killAfterMs?: number): Promise<number | null>;
}

/** Runs `node <bin> ...args` from the repository root with exactly `env`. */
export function spawnNode(bin: string, args: string[], env: Record<string, string>): HeedProcess {
  const child: ChildProcess = spawn(process.execPath, [bin, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (c) => {
      code = c;
      resolve(c);
    }),
  );
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    log += chunk;
  });
  return {
    pid: child.pid,
    log: () => log,
    exited,
    exitCode: () => code,
    waitFor: async (pattern, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(log)) {
        if (code !== undefined) throw new Error(`exited ${code} before logging ${pattern}: ${log}`);
        if (Date.now() > deadline) throw new Error(`never logged ${pattern}: ${log}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop: async (killAfterMs = 30_000) => {
      if (code !== undefined) return code;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Polls `url` until it answers 200 (returns the body); fails if `proc` exits first or after `timeoutMs`. */
export async function waitForHttp(url: string, proc: HeedProcess, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  for (;;) {
    const code = proc.exitCode();
    if (code !== undefined) throw new Error(`exited ${code} before ${url} answered 200: ${proc.log()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === 200) return body;
      last = `${res.status} ${body}`;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) throw new Error(`${url} never answered 200 (last: ${last}): ${proc.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Coordinator {
  /** Whether it logged "coordinator started"; false when it exited first. */
  started: boolean;
  log(): string;
  /** Resolves when the log matches `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `heed coordinator` with only the given HEED_* settings (plus PATH) and waits for it to start or exit. */
export function startCoordinator(
  settings: Record<string, string>,
  args: string[] = [],
): Promise<Coordinator> {
  const proc = spawnNode(HEED_BIN, ["coordinator", ...args], {
    PATH: process.env.PATH ?? "",
    HEED_GRPC_LISTEN: "127.0.0.1:0",
    HEED_LOG_LEVEL: "info",
    ...settings,
  });
  const handle = (started: boolean): Coordinator => ({
    started,
    log: proc.log,
    waitFor: proc.waitFor,
    stop: () => proc.stop(),
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void proc.stop(0);
      reject(new Error(`coordinator neither started nor exited: ${proc.log()}`));
    }, 20_000);
    const poll = setInterval(() => {
      if (/coordinator started/.test(proc.log())) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(handle(true));
      }
    }, 25);
    void proc.exited.then(() => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve(handle(false));
    });
  });
}

/** A temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

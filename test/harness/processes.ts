import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const HEED_BIN = fileURLToPath(new URL("../../packages/cli/bin/heed.js", import.meta.url));
export const HEEDCTL_BIN = fileURLToPath(new URL("../../packages/cli/bin/heedctl.js", import.meta.url));
const BUILT = fileURLToPath(new URL("../../packages/cli/dist/main.js", import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(BUILT))
    throw new Error("the CLI is not built: run `npm test` (or `npx tsc --build`) first");
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs `heed …` to completion, bounded in time; the process is killed if it overstays. */
export function runHeed(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runBin(HEED_BIN, args, options);
}

/** Runs `heedctl …` to completion, bounded in time, like runHeed. */
export function runHeedctl(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runBin(HEEDCTL_BIN, args, options);
}

function runBin(bin: string, args: string[], options: RunOptions): Promise<RunResult> {
  const run = startBin(bin, args, options);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      run.child.kill("SIGKILL");
      reject(
        new Error(`${bin} ${args.join(" ")} did not finish in time; stderr: ${run.stderr().slice(-2000)}`),
      );
    }, options.timeoutMs ?? 60_000);
    run.child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: run.stdout(), stderr: run.stderr() });
    });
  });
}

/** A process started in the background whose output is kept as it comes. */
export interface RunningBin {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
}

/** Starts `heed …` in the background, keeping its output; the caller must stop it. */
export function startHeed(args: string[], options: RunOptions = {}): RunningBin {
  return startBin(HEED_BIN, args, options);
}

/** Starts `heedctl …` in the background, keeping its output; the caller must stop it. */
export function startHeedctl(args: string[], options: RunOptions = {}): RunningBin {
  return startBin(HEEDCTL_BIN, args, options);
}

function startBin(bin: string, args: string[], options: RunOptions): RunningBin {
  assertBuilt();
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  return { child, stdout: () => stdout, stderr: () => stderr };
}

/** Starts `heed …` in the background; the caller must stop it. */
export function spawnHeed(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  assertBuilt();
  return spawn(process.execPath, [HEED_BIN, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    ...(options.env !== undefined ? { env: { ...process.env, ...options.env } } : {}),
  });
}

export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

/** The ids of a process's direct children (Linux `ps`). */
export function childPids(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

/** Whether a process still exists (signal 0 checks without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The loopback TCP ports a process listens on (Linux: its socket inodes matched in /proc/net/tcp). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1] !== undefined) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[3] === "0A" && inodes.has(f[9] ?? ""))
    .map((f) => Number.parseInt((f[1] ?? "").split(":")[1] ?? "", 16));
}

/** A process's command-line arguments (Linux /proc). */
export function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
}

/**
 * Stops a process with SIGSTOP and returns once every one of its threads is
 * stopped (Linux /proc): kill() returns before the signal lands, and a thread
 * still running meanwhile can stamp work with a time after the caller's.
 */
export async function freeze(child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || !child.kill("SIGSTOP"))
    throw new Error("cannot stop a process that is not running");
  const states = () =>
    readdirSync(`/proc/${pid}/task`).map((t) => {
      try {
        // The state follows the command name, which is in parentheses and may hold spaces.
        const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      } catch {
        return "T"; // the thread ended meanwhile
      }
    });
  const until = Date.now() + timeoutMs;
  while (!states().every((s) => s === "T" || s === "t")) {
    if (Date.now() > until) throw new Error(`process ${pid} did not stop within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

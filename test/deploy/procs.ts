/** Real processes on loopback for the deploy/ checks: nats-server and the Heed coordinator. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HEED_BIN, REPO_ROOT } from "./repo.js";

export function natsServerBinary(): string {
  const candidate = process.env.HEED_NATS_SERVER ?? "nats-server";
  const probe = spawnSync(candidate, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      "nats-server is needed (scripts/setup.sh installs it; Debian/Ubuntu: apt-get install nats-server), " +
        "or set HEED_NATS_SERVER=/path/to/nats-server",
    );
  }
  return candidate;
}

export interface NatsServer {
  clientPort: number;
  monitorPort: number;
  stop(): void;
}

/** nats-server on 127.0.0.1 with OS-chosen client and monitoring ports; extra args go first. */
export function startNats(args: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<NatsServer> {
  const child = spawn(natsServerBinary(), [...args, "-a", "127.0.0.1", "-p", "-1", "-m", "-1"], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`nats-server did not start: ${log}`));
    }, 10_000);
    child.stderr?.setEncoding("utf8");
    const onData = (chunk: string) => {
      log += chunk;
      const client = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      const monitor = /Starting http monitor on [^\s]*:(\d+)/.exec(log);
      if (client?.[1] && monitor?.[1]) {
        clearTimeout(timer);
        child.stderr?.off("data", onData);
        child.stderr?.resume();
        resolve({
          clientPort: Number(client[1]),
          monitorPort: Number(monitor[1]),
          stop: () => child.kill("SIGTERM"),
        });
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited ${code}: ${log}`));
    });
  });
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
  const child: ChildProcess = spawn(process.execPath, [HEED_BIN, "coordinator", ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HEED_GRPC_LISTEN: "127.0.0.1:0",
      HEED_LOG_LEVEL: "info",
      ...settings,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    log += chunk;
  });
  const handle = (started: boolean): Coordinator => ({
    started,
    log: () => log,
    waitFor: async (pattern, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(log)) {
        if (Date.now() > deadline) throw new Error(`coordinator never logged ${pattern}: ${log}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`coordinator neither started nor exited: ${log}`));
    }, 20_000);
    const poll = setInterval(() => {
      if (/coordinator started/.test(log)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(handle(true));
      }
    }, 25);
    void exited.then(() => {
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

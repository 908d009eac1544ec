import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * Bench processes talk over Node's IPC channel: the parent sends a command,
 * the child answers with one message. Every child also answers `cpu` with its
 * own process CPU time, so figures come from the processes doing the work.
 */
export interface BenchMessage {
  type: string;
  [key: string]: unknown;
}

export interface BenchChild {
  proc: ChildProcess;
  /** What the child said when it was ready (a port, say). */
  details: BenchMessage;
  /** Sends `msg` and resolves with the child's next answer. */
  ask<T extends BenchMessage>(msg: BenchMessage, timeoutMs?: number): Promise<T>;
  /** The child's user + system CPU time so far, in microseconds. */
  cpuMicros(): Promise<number>;
  /** Asks the child to stop and waits for it to exit (killed after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts `script` (a module beside this one, compiled) with IPC; `BENCH_CPU_PROF=dir` profiles it. */
export function startChild(script: string, args: string[] = []): Promise<BenchChild> {
  const file = fileURLToPath(new URL(script, import.meta.url));
  const profDir = process.env.BENCH_CPU_PROF;
  const execArgv = profDir ? ["--cpu-prof", "--cpu-prof-dir", profDir] : [];
  const proc = fork(file, args, { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting: Array<(m: BenchMessage) => void> = [];
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  proc.on("message", (m) => waiting.shift()?.(m as BenchMessage));
  const ask = <T extends BenchMessage>(msg: BenchMessage, timeoutMs = 600_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script}: no answer to ${msg.type}`)), timeoutMs);
      const onExit = () => reject(new Error(`${script} exited while asked ${msg.type}`));
      proc.once("exit", onExit);
      waiting.push((m) => {
        clearTimeout(timer);
        proc.off("exit", onExit);
        if (m.type === "error") reject(new Error(`${script}: ${String(m.message)}`));
        else resolve(m as T);
      });
      proc.send(msg);
    });
  const child: BenchChild = {
    proc,
    details: { type: "ready" },
    ask,
    cpuMicros: async () => (await ask<BenchMessage & { micros: number }>({ type: "cpu" })).micros,
    stop: async (timeoutMs = 10_000) => {
      if (exited) return;
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      proc.send({ type: "stop" });
      await exit;
      clearTimeout(timer);
    },
  };
  return new Promise((resolve, reject) => {
    waiting.push((m) => {
      if (m.type !== "ready") return reject(new Error(`${script}: ${String(m.message)}`));
      child.details = m;
      resolve(child);
    });
    proc.once("exit", (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
}

/** The child side: answers the parent's commands with `handlers`, plus `cpu` and `stop`. */
export function serveParent(
  handlers: Record<string, (msg: BenchMessage) => Promise<BenchMessage>>,
  onStop: () => Promise<void>,
): void {
  const send = (m: BenchMessage) => process.send?.(m);
  process.on("message", (raw) => {
    const msg = raw as BenchMessage;
    if (msg.type === "cpu") {
      const u = process.cpuUsage();
      send({ type: "cpu", micros: u.user + u.system });
      return;
    }
    if (msg.type === "stop") {
      void onStop().finally(() => process.exit(0));
      return;
    }
    const handler = handlers[msg.type];
    if (!handler) return send({ type: "error", message: `unknown command ${msg.type}` });
    handler(msg).then(send, (e: unknown) =>
      send({ type: "error", message: e instanceof Error ? e.message : String(e) }),
    );
  });
}

/** Tells the parent this child is ready, with any details it needs. */
export function ready(details: Record<string, unknown> = {}): void {
  process.send?.({ type: "ready", ...details });
}

/** Fails the child's start in a way the parent reports. */
export function failStart(e: unknown): never {
  process.send?.({ type: "error", message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}

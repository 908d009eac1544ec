import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SetupError } from "@heed/shared";
import { type NatsRole, natsRolesConfig } from "./nats-roles.js";

export interface NatsServerHandle {
  url: string;
  port: number;
  /** The HTTP monitoring port, when asked for (`monitor: true`). */
  monitorPort?: number;
  /** JetStream's store directory, when asked for (`jetstream`); a temporary one is removed when the server stops. */
  storeDir?: string;
  process: ChildProcess;
  /**
   * With `roles`: the URL a role connects with (its user and generated
   * password inside; Heed takes them out and logs the URL redacted).
   */
  urlFor(role: NatsRole): string;
  stop(): Promise<void>;
}

const HOW_TO_INSTALL =
  "nats-server not found. Install it (Debian/Ubuntu: `sudo apt-get install nats-server`), " +
  "or put its binary on PATH, or set HEED_NATS_SERVER=/path/to/nats-server.";

/** The nats-server binary: $HEED_NATS_SERVER, else `nats-server` on PATH. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string {
  const candidate = env.HEED_NATS_SERVER ?? "nats-server";
  const probe = spawnSync(candidate, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0)
    throw new SetupError("HEED_NATS_SERVER_MISSING", HOW_TO_INSTALL);
  return candidate;
}

/**
 * Starts a private nats-server on loopback on a free port (`-p -1`) and reads
 * the chosen port from its log, as nats.js's own tests do.
 */
export async function startNatsServer(
  options: {
    binary?: string;
    port?: number;
    timeoutMs?: number;
    /** Extra nats-server arguments (authentication, TLS). */
    args?: string[];
    /** The URL clients are given: `tls` for a TLS-only server. */
    scheme?: "nats" | "tls";
    /**
     * Heed's roles as NATS users with subject permissions, with passwords
     * generated for this server alone (a private server is no less a control
     * plane than a shared one).
     */
    roles?: { leaseSubject: string };
    /**
     * Run in a process group of its own, so a terminal's Ctrl-C reaches only
     * the parent, which stops the server last, after its clients have let go.
     * The server is still stopped if the parent exits without stopping it.
     */
    ownProcessGroup?: boolean;
    /** Also serve HTTP monitoring (/healthz, /varz) on a free port. */
    monitor?: boolean;
    /** The server's environment (a config file may read secrets from it). */
    env?: NodeJS.ProcessEnv;
    /** Enable JetStream (`-js`) with a store in a temporary directory of its own. */
    jetstream?: boolean | { storeDir: string };
  } = {},
): Promise<NatsServerHandle> {
  const binary = options.binary ?? findNatsServer();
  let confDir: string | undefined;
  let passwords: Record<NatsRole, string> | undefined;
  const roleArgs: string[] = [];
  if (options.roles !== undefined) {
    passwords = { coordinator: randomBytes(24).toString("hex"), worker: randomBytes(24).toString("hex") };
    confDir = mkdtempSync(join(tmpdir(), "heed-nats-"));
    const conf = join(confDir, "nats-server.conf");
    writeFileSync(conf, natsRolesConfig(passwords, options.roles.leaseSubject), { mode: 0o600 });
    roleArgs.push("-c", conf);
  }
  // A given store is kept (a crawl's streams resume with it); a temporary one goes with the server.
  const givenStore = typeof options.jetstream === "object" ? options.jetstream.storeDir : undefined;
  const tempStore = options.jetstream === true ? mkdtempSync(join(tmpdir(), "heed-js-")) : undefined;
  const storeDir = givenStore ?? tempStore;
  const removeConf = () => {
    if (confDir !== undefined) rmSync(confDir, { recursive: true, force: true });
    if (tempStore !== undefined) rmSync(tempStore, { recursive: true, force: true });
  };
  const args = [
    ...roleArgs,
    "-a",
    "127.0.0.1",
    "-p",
    String(options.port ?? -1),
    "--no_advertise",
    ...(options.monitor === true ? ["-m", "-1"] : []),
    ...(storeDir !== undefined ? ["-js", "-sd", storeDir] : []),
    ...(options.args ?? []),
  ];
  const child = spawn(binary, args, {
    env: options.env ?? process.env,
    stdio: ["ignore", "ignore", "pipe"],
    detached: options.ownProcessGroup === true,
  });
  // Signals to the parent's group no longer reach a detached server: it must not outlive a forced exit.
  const stopWithParent = () => child.kill("SIGTERM");
  if (options.ownProcessGroup === true) {
    process.once("exit", stopWithParent);
    child.once("exit", () => process.off("exit", stopWithParent));
  }
  // The generated configuration holds passwords, the store holds data: both go with the server, or with this process.
  child.once("exit", removeConf);
  process.once("exit", removeConf);
  child.once("exit", () => process.off("exit", removeConf));
  const ports = await new Promise<{ port: number; monitorPort?: number }>((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new SetupError("HEED_NATS_SERVER_START", `nats-server did not start in time: ${log.slice(-500)}`),
      );
    }, options.timeoutMs ?? 10_000);
    child.stderr?.setEncoding("utf8");
    const onData = (chunk: string) => {
      log += chunk;
      const client = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      const monitor = /Starting http monitor on [^\s]*:(\d+)/.exec(log);
      if (client?.[1] !== undefined && (options.monitor !== true || monitor?.[1] !== undefined)) {
        clearTimeout(timer);
        child.stderr?.off("data", onData);
        child.stderr?.resume();
        resolve({
          port: Number(client[1]),
          ...(monitor?.[1] !== undefined ? { monitorPort: Number(monitor[1]) } : {}),
        });
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new SetupError("HEED_NATS_SERVER_START", `nats-server exited (${code}): ${log.slice(-500)}`));
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(
        new SetupError("HEED_NATS_SERVER_START", `cannot run ${binary}: ${err.message}`, { cause: err }),
      );
    });
  });
  const url = `${options.scheme ?? "nats"}://127.0.0.1:${ports.port}`;
  return {
    url,
    ...ports,
    ...(storeDir !== undefined ? { storeDir } : {}),
    process: child,
    urlFor(role) {
      if (passwords === undefined) return url;
      return `${options.scheme ?? "nats"}://${role}:${passwords[role]}@127.0.0.1:${ports.port}`;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

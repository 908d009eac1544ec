/**
 * The dev overlay, run for real on loopback: nats-server with its rendered
 * config, then `heed coordinator` and `heed worker` with the environment the
 * kubelet would give their containers (image ENV, the ConfigMaps, the
 * placeholder Secrets, $(VAR) expansion). Only what ties them to the cluster
 * changes: listen addresses go to 127.0.0.1 on free ports, Service names to
 * the loopback ports, the data directory to a temporary one.
 *
 * What it proves: the coordinator takes the heed-api-tokens Secret (it starts,
 * and admin calls need the admin token, changes are refused to the read-only
 * token), the worker's token is the one the coordinator wants (a worker with
 * another exits 2), heedctl works the way the runbook uses it, both serve
 * /readyz and /metrics, no secret reaches a log, and without the tokens a
 * coordinator listening on 0.0.0.0 refuses to start.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../harness/ports.js";
import { allSecretValues, containerEnv, mustFindWorkload, secretValue } from "./k8s.js";
import { type HeedProcess, spawnNode, tempDir, waitForHttp } from "./procs.js";
import { render } from "./render.js";
import { HEED_BIN, REPO_ROOT } from "./repo.js";
import { loopbackListen, runnableEnv, startRenderedNats } from "./stack.js";

const HEEDCTL_BIN = join(REPO_ROOT, "packages/cli/bin/heedctl.js");
const objects = render("dev");

/** The rendered value of one key of Secret heed-api-tokens (the dev overlay ships placeholders). */
function apiToken(key: string): string {
  const value = secretValue(objects, "heed-api-tokens", key);
  if (value === undefined) throw new Error(`Secret heed-api-tokens has no key ${key}`);
  return value;
}

const ADMIN = apiToken("admin-token");
const READ_ONLY = apiToken("read-only-token");
const WORKER = apiToken("worker-token");

/** Env names the coordinator container takes from Secret heed-api-tokens. */
const apiTokenEnv = (() => {
  const [c] = mustFindWorkload(objects, "heed-coordinator").pod.containers;
  return (c?.env ?? [])
    .filter((e) => e.valueFrom?.secretKeyRef?.name === "heed-api-tokens")
    .map((e) => e.name);
})();

interface Ctl {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** heedctl as an operator runs it through a port-forward: --server, the token in HEED_TOKEN. */
function heedctl(server: string, token: string | undefined, ...args: string[]): Promise<Ctl> {
  const child = spawn(process.execPath, [HEEDCTL_BIN, "--server", server, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", ...(token !== undefined ? { HEED_TOKEN: token } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

function workerIds(out: string): string[] {
  const parsed: unknown = JSON.parse(out);
  const workers = parsed !== null && typeof parsed === "object" ? Reflect.get(parsed, "workers") : undefined;
  if (!Array.isArray(workers)) throw new Error(`unexpected workers list: ${out}`);
  return workers.map((w: unknown) =>
    String(w !== null && typeof w === "object" ? Reflect.get(w, "workerId") : ""),
  );
}

describe("deploy/dev, run on loopback with its rendered environment", () => {
  const data = tempDir("heed-dev-stack-");
  const processes: HeedProcess[] = [];
  let nats: Awaited<ReturnType<typeof startRenderedNats>> | undefined;
  let coordinator: HeedProcess | undefined;
  let worker: HeedProcess | undefined;
  let grpc = "";
  let coordinatorHttp = 0;
  let workerHttp = 0;
  const WORKER_POD = "heed-worker-6d5f7c9b8-x2k8p";

  const start = (command: "coordinator" | "worker", env: Record<string, string>): HeedProcess => {
    const proc = spawnNode(HEED_BIN, [command], env);
    processes.push(proc);
    return proc;
  };
  const workerEnv = (overrides: Record<string, string> = {}) => {
    const [c] = mustFindWorkload(objects, "heed-worker").pod.containers;
    if (!c) throw new Error("heed-worker has no container");
    return runnableEnv(objects, "heed-worker", {
      podName: WORKER_POD,
      services: { "heed-nats:4222": `127.0.0.1:${nats?.port}`, "heed-coordinator-grpc:7400": grpc },
      overrides: {
        HEED_HTTP_LISTEN: loopbackListen(containerEnv(c, objects).get("HEED_HTTP_LISTEN"), workerHttp),
        ...overrides,
      },
    });
  };

  beforeAll(async () => {
    nats = await startRenderedNats(objects);
    grpc = `127.0.0.1:${await freePort()}`;
    coordinatorHttp = await freePort();
    workerHttp = await freePort();
  });

  afterAll(async () => {
    // Workers first (they drain into the coordinator), then the coordinator, then NATS.
    for (const p of processes.reverse()) await p.stop();
    await nats?.stop();
    data.remove();
  });

  it("the coordinator takes admin, read-only and worker tokens from Secret heed-api-tokens", () => {
    const [c] = mustFindWorkload(objects, "heed-coordinator").pod.containers;
    if (!c) throw new Error("heed-coordinator has no container");
    const env = containerEnv(c, objects);
    expect(env.get("HEED_ADMIN_TOKEN")).toBe(ADMIN);
    expect(env.get("HEED_READ_ONLY_TOKEN")).toBe(READ_ONLY);
    expect(env.get("HEED_WORKER_TOKEN")).toBe(WORKER);
    expect(apiTokenEnv.sort()).toEqual(["HEED_ADMIN_TOKEN", "HEED_READ_ONLY_TOKEN", "HEED_WORKER_TOKEN"]);
  });

  it("starts the coordinator with the rendered environment; it becomes ready", async () => {
    const [c] = mustFindWorkload(objects, "heed-coordinator").pod.containers;
    if (!c) throw new Error("heed-coordinator has no container");
    const rendered = containerEnv(c, objects);
    coordinator = start(
      "coordinator",
      runnableEnv(objects, "heed-coordinator", {
        podName: "heed-coordinator-0",
        services: { "heed-nats:4222": `127.0.0.1:${nats?.port}` },
        overrides: {
          HEED_GRPC_LISTEN: loopbackListen(rendered.get("HEED_GRPC_LISTEN"), Number(grpc.split(":")[1])),
          HEED_HTTP_LISTEN: loopbackListen(rendered.get("HEED_HTTP_LISTEN"), coordinatorHttp),
          HEED_DATA_DIR: data.path,
        },
      }),
    );
    expect(await waitForHttp(`http://127.0.0.1:${coordinatorHttp}/readyz`, coordinator)).toBeTruthy();
    await coordinator.waitFor(/coordinator started/);
    const started = coordinator
      .log()
      .split("\n")
      .find((l) => l.includes('"coordinator started"'));
    expect(started).toMatch(/"adminTokensSet":true/);
    expect(started).toMatch(/"workerTokenSet":true/);
  });

  it("answers heedctl only with a token, and changes only with the admin token", async () => {
    const contact = ["--contact", "crawl-operator@example.org"];
    // A loopback seed the workers refuse (HEED_ALLOW_PRIVATE_ADDRESSES=false); the crawl is
    // cancelled before any worker runs anyway. Nothing here leaves 127.0.0.1.
    const create = [
      "crawl",
      "create",
      "http://127.0.0.1:9/",
      "--id",
      "deploy-check",
      "--allow-private-addresses",
      ...contact,
    ];
    const none = await heedctl(grpc, undefined, "crawl", "list");
    expect(none.code, none.stderr).toBe(3);
    const wrong = await heedctl(grpc, "not-a-token-of-this-cluster", "crawl", "list");
    expect(wrong.code, wrong.stderr).toBe(3);
    const readOnly = await heedctl(grpc, READ_ONLY, ...create);
    expect(readOnly.code, readOnly.stderr).toBe(3);
    expect(readOnly.stderr).toMatch(/read-only/);

    const created = await heedctl(grpc, ADMIN, ...create);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/crawl deploy-check created/);
    const listed = await heedctl(grpc, READ_ONLY, "--json", "crawl", "list");
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('"deploy-check"');
    const cancelled = await heedctl(grpc, ADMIN, "crawl", "cancel", "deploy-check");
    expect(cancelled.code, cancelled.stderr).toBe(0);
  });

  it("refuses a worker with another token: it exits 2 before taking a lease", async () => {
    const impostor = start("worker", workerEnv({ HEED_WORKER_TOKEN: "CHANGE-ME-some-other-token" }));
    const code = await impostor.exited;
    expect(code, impostor.log()).toBe(2);
    expect(impostor.log()).toMatch(/refused the worker token/);
  });

  it("starts a worker with the rendered environment; it becomes ready and heedctl lists it", async () => {
    worker = start("worker", workerEnv());
    await waitForHttp(`http://127.0.0.1:${workerHttp}/readyz`, worker);
    const deadline = Date.now() + 15_000;
    let ids: string[] = [];
    while (!ids.includes(WORKER_POD) && Date.now() < deadline) {
      const listed = await heedctl(grpc, ADMIN, "--json", "workers", "list");
      expect(listed.code, listed.stderr).toBe(0);
      ids = workerIds(listed.stdout);
      if (!ids.includes(WORKER_POD)) await new Promise((r) => setTimeout(r, 250));
    }
    // HEED_ID is the pod's name (fieldRef metadata.name).
    expect(ids).toContain(WORKER_POD);
  });

  it("both serve Prometheus metrics on the port their pods are annotated with", async () => {
    for (const [name, port] of [
      ["heed-coordinator", coordinatorHttp],
      ["heed-worker", workerHttp],
    ] as const) {
      const w = mustFindWorkload(objects, name);
      expect(w.podAnnotations["prometheus.io/port"], name).toBe("9464");
      const path = w.podAnnotations["prometheus.io/path"] ?? "";
      expect(path).toBe("/metrics");
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get("content-type"), name).toMatch(/^text\/plain/);
      expect(await res.text(), name).toMatch(/^# TYPE \w+ (counter|gauge|histogram|summary)$/m);
    }
  });

  it("drains on SIGTERM: the worker exits 0, then the coordinator exits 0", async () => {
    expect(await worker?.stop(), worker?.log()).toBe(0);
    expect(await coordinator?.stop(), coordinator?.log()).toBe(0);
  });

  it("never logs a secret (dev logs at debug level)", () => {
    const secrets = allSecretValues(objects).map((s) => s.value);
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const p of processes) {
      for (const secret of secrets) expect(p.log(), `pid ${p.pid}`).not.toContain(secret);
    }
  });
});

describe("deploy/dev's coordinator without its tokens", () => {
  it("refuses to listen on 0.0.0.0: exit 2 and one line naming grpcListen", async () => {
    const data = tempDir("heed-dev-notokens-");
    try {
      const env = runnableEnv(objects, "heed-coordinator", {
        podName: "heed-coordinator-0",
        // Nothing listens here: it must stop before it connects anywhere.
        services: { "heed-nats:4222": `127.0.0.1:${await freePort()}` },
        drop: apiTokenEnv,
        overrides: {
          HEED_GRPC_LISTEN: `0.0.0.0:${await freePort()}`,
          HEED_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
          HEED_DATA_DIR: data.path,
        },
      });
      expect(apiTokenEnv.length).toBeGreaterThan(0);
      for (const name of apiTokenEnv) expect(env[name]).toBeUndefined();
      const proc = spawnNode(HEED_BIN, ["coordinator"], env);
      const timer = setTimeout(() => void proc.stop(0), 20_000);
      const code = await proc.exited;
      clearTimeout(timer);
      expect(code, proc.log()).toBe(2);
      const lines = proc.log().trim().split("\n");
      expect(lines, proc.log()).toHaveLength(1);
      expect(lines[0]).toMatch(/grpcListen/);
      expect(proc.log()).not.toMatch(/coordinator started/);
    } finally {
      data.remove();
    }
  });
});

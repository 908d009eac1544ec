/**
 * The rendered NATS configuration, run for real on loopback: nats-server accepts
 * it, demands the token from the environment, and admits only clients that
 * present it. The coordinator connects with the manifests' URL form
 * (nats://TOKEN@host:port): the app takes the token out of the URL, sends it as
 * credentials and logs the URL redacted.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findNatsServer, type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerEnv, mustFindWorkload } from "./k8s.js";
import { startCoordinator, tempDir } from "./procs.js";
import { render } from "./render.js";
import { REPO_ROOT } from "./repo.js";
import { renderedNatsConfig } from "./stack.js";

const objects = render("dev");
const nats = mustFindWorkload(objects, "heed-nats");
const [container] = nats.pod.containers;
if (!container) throw new Error("NATS has no container");

const dir = tempDir("heed-nats-conf-");
const confFile = join(dir.path, "nats-server.conf");
writeFileSync(confFile, renderedNatsConfig(objects));
const TOKEN = "test-token-0123";

/** The NATS client the worker and coordinator depend on. */
async function natsClient(): Promise<typeof import("nats")> {
  const require = createRequire(join(REPO_ROOT, "services/worker/package.json"));
  return (await import(pathToFileURL(require.resolve("nats")).href)) as typeof import("nats");
}

describe("NATS configuration", () => {
  it("reads the token from the NATS_TOKEN variable the container gets from Secret heed-nats", () => {
    const token = container.env?.find((e) => e.name === "NATS_TOKEN");
    expect(token?.valueFrom?.secretKeyRef).toEqual({ name: "heed-nats", key: "token" });
    expect(renderedNatsConfig(objects)).toMatch(/token:\s*\$NATS_TOKEN/);
  });

  it("is accepted by nats-server when the token is set, and refused when it is not", () => {
    const binary = findNatsServer();
    const ok = spawnSync(binary, ["-c", confFile, "-t"], {
      encoding: "utf8",
      env: { ...process.env, NATS_TOKEN: TOKEN },
    });
    expect(ok.status, ok.stderr + ok.stdout).toBe(0);
    const { NATS_TOKEN: _unset, ...withoutToken } = process.env;
    const missing = spawnSync(binary, ["-c", confFile, "-t"], { encoding: "utf8", env: withoutToken });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr + missing.stdout).toMatch(/NATS_TOKEN/);
  });

  it("gives coordinator and workers a URL that carries the same Secret's token", () => {
    for (const name of ["heed-coordinator", "heed-worker"]) {
      const [c] = mustFindWorkload(objects, name).pod.containers;
      if (!c) throw new Error(`${name} has no container`);
      const token = c.env?.find((e) => e.name === "NATS_TOKEN");
      expect(token?.valueFrom?.secretKeyRef, name).toEqual({ name: "heed-nats", key: "token" });
      expect(containerEnv(c, objects).get("HEED_NATS_URL"), name).toBe(
        "nats://CHANGE-ME-nats-token@heed-nats:4222",
      );
    }
  });
});

describe("NATS with the rendered configuration, on loopback", () => {
  let server: NatsServerHandle | undefined;
  const url = () => `nats://127.0.0.1:${server?.port}`;

  beforeAll(async () => {
    // Ports come from the OS, on 127.0.0.1 only; everything else from the rendered file.
    server = await startNatsServer({
      args: ["-c", confFile],
      env: { ...process.env, NATS_TOKEN: TOKEN },
      monitor: true,
    });
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it("accepts a client that presents the token", async () => {
    const { connect } = await natsClient();
    const nc = await connect({ servers: url(), token: TOKEN, reconnect: false });
    await nc.flush();
    await nc.close();
  });

  it("refuses a client with a wrong token or none", async () => {
    const { connect } = await natsClient();
    await expect(connect({ servers: url(), token: "wrong-token", reconnect: false })).rejects.toThrow(
      /authoriz/i,
    );
    await expect(connect({ servers: url(), reconnect: false })).rejects.toThrow(/authoriz/i);
  });

  it("answers the probes' /healthz on the monitoring port", async () => {
    const probe = container.readinessProbe?.httpGet;
    expect(probe?.path).toBe("/healthz");
    const res = await fetch(`http://127.0.0.1:${server?.monitorPort}${probe?.path}`);
    expect(res.status).toBe(200);
  });

  it("nats.js alone ignores a token in the URL, so the app must take nats://TOKEN@host apart", async () => {
    const { connect } = await natsClient();
    const withToken = `nats://${TOKEN}@127.0.0.1:${server?.port}`;
    await expect(connect({ servers: withToken, reconnect: false })).rejects.toThrow(/authoriz/i);
  });

  it("the coordinator connects with the manifests' HEED_NATS_URL form and never logs the token", async () => {
    const data = tempDir("heed-coord-");
    try {
      const coordinator = await startCoordinator({
        HEED_DATA_DIR: data.path,
        HEED_NATS_URL: `nats://${TOKEN}@127.0.0.1:${server?.port}`,
        // The most the logger says; the token must still not appear.
        HEED_LOG_LEVEL: "trace",
      });
      const code = await coordinator.stop();
      expect(coordinator.started, coordinator.log()).toBe(true);
      expect(code, coordinator.log()).toBe(0);
      expect(coordinator.log()).not.toMatch(/Authorization Violation/i);
      expect(coordinator.log()).not.toContain(TOKEN);
      // It does log where it connected, with the credentials masked.
      expect(coordinator.log()).toContain(`[redacted]@127.0.0.1:${server?.port}`);
    } finally {
      data.remove();
    }
  });
});

/**
 * The rendered NATS configuration, run for real on loopback: nats-server
 * accepts it, demands both roles' passwords from the environment, admits
 * only Heed's users, and refuses each operation a role may not do (Heed's
 * roles as NATS users with subject permissions). The coordinator connects as
 * its user with the manifests' settings and never logs the password.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { findNatsServer, type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectedRefusals, natsWire, probeRoles } from "../harness/nats-wire.js";
import { containerEnv, mustFindWorkload } from "./k8s.js";
import { startCoordinator, tempDir } from "./procs.js";
import { render } from "./render.js";
import { renderedNatsConfig } from "./stack.js";

const objects = render("dev");
const nats = mustFindWorkload(objects, "heed-nats");
const [container] = nats.pod.containers;
if (!container) throw new Error("NATS has no container");

const dir = tempDir("heed-nats-conf-");
const confFile = join(dir.path, "nats-server.conf");
writeFileSync(confFile, renderedNatsConfig(objects));
const PASSWORDS = { coordinator: "coordinator-test-password-0123", worker: "worker-test-password-0123" };
const PASSWORD_ENV = {
  NATS_COORDINATOR_PASSWORD: PASSWORDS.coordinator,
  NATS_WORKER_PASSWORD: PASSWORDS.worker,
};

describe("NATS configuration", () => {
  it("reads each role's password from the environment the container gets from Secret heed-nats", () => {
    for (const [variable, key] of [
      ["NATS_COORDINATOR_PASSWORD", "coordinator-password"],
      ["NATS_WORKER_PASSWORD", "worker-password"],
    ] as const) {
      const ref = container.env?.find((e) => e.name === variable);
      expect(ref?.valueFrom?.secretKeyRef, variable).toEqual({ name: "heed-nats", key });
      expect(renderedNatsConfig(objects)).toContain(`password: $${variable}`);
    }
  });

  it("is accepted by nats-server when both passwords are set, and refused when one is not", () => {
    const binary = findNatsServer();
    const ok = spawnSync(binary, ["-c", confFile, "-t"], {
      encoding: "utf8",
      env: { ...process.env, ...PASSWORD_ENV },
    });
    expect(ok.status, ok.stderr + ok.stdout).toBe(0);
    const missing = spawnSync(binary, ["-c", confFile, "-t"], {
      encoding: "utf8",
      env: { ...process.env, NATS_COORDINATOR_PASSWORD: PASSWORDS.coordinator },
    });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr + missing.stdout).toMatch(/NATS_WORKER_PASSWORD/);
  });

  it("gives the coordinator and workers their own NATS user, with the password from Secret heed-nats", () => {
    for (const [name, role] of [
      ["heed-coordinator", "coordinator"],
      ["heed-worker", "worker"],
    ] as const) {
      const [c] = mustFindWorkload(objects, name).pod.containers;
      if (!c) throw new Error(`${name} has no container`);
      const env = containerEnv(c, objects);
      expect(env.get("HEED_NATS_URL"), name).toBe("nats://heed-nats:4222");
      expect(env.get("HEED_NATS_USER"), name).toBe(role);
      const ref = c.env?.find((e) => e.name === "HEED_NATS_PASSWORD");
      expect(ref?.valueFrom?.secretKeyRef, name).toEqual({ name: "heed-nats", key: `${role}-password` });
    }
  });
});

describe("NATS with the rendered configuration, on loopback", () => {
  let server: NatsServerHandle | undefined;

  beforeAll(async () => {
    // Ports come from the OS, on 127.0.0.1 only; everything else from the rendered file.
    server = await startNatsServer({
      args: ["-c", confFile],
      env: { ...process.env, ...PASSWORD_ENV },
      monitor: true,
    });
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it("refuses a client without a user, or with a wrong password", async () => {
    const port = server?.port ?? 0;
    expect(await natsWire(port, {}, [])).toMatch(/-ERR 'Authorization Violation'/);
    expect(await natsWire(port, { user: "worker", pass: "wrong-password" }, [])).toMatch(
      /-ERR 'Authorization Violation'/,
    );
  });

  it("refuses each operation a role may not do, and none it needs", async () => {
    const logins = {
      coordinator: { user: "coordinator", pass: PASSWORDS.coordinator },
      worker: { user: "worker", pass: PASSWORDS.worker },
    };
    expect(await probeRoles(server?.port ?? 0, logins)).toEqual(expectedRefusals());
  });

  it("answers the probes' /healthz on the monitoring port", async () => {
    const probe = container.readinessProbe?.httpGet;
    expect(probe?.path).toBe("/healthz");
    const res = await fetch(`http://127.0.0.1:${server?.monitorPort}${probe?.path}`);
    expect(res.status).toBe(200);
  });

  it("the coordinator connects as its NATS user with the manifests' settings and never logs the password", async () => {
    const data = tempDir("heed-coord-");
    try {
      const coordinator = await startCoordinator({
        HEED_DATA_DIR: data.path,
        HEED_NATS_URL: `nats://127.0.0.1:${server?.port}`,
        HEED_NATS_USER: "coordinator",
        HEED_NATS_PASSWORD: PASSWORDS.coordinator,
        // The most the logger says; the password must still not appear.
        HEED_LOG_LEVEL: "trace",
      });
      const code = await coordinator.stop();
      expect(coordinator.started, coordinator.log()).toBe(true);
      expect(code, coordinator.log()).toBe(0);
      expect(coordinator.log()).not.toMatch(/Authorization Violation/i);
      expect(coordinator.log()).not.toContain(PASSWORDS.coordinator);
      // It does log where it connected.
      expect(coordinator.log()).toContain(`nats://127.0.0.1:${server?.port}`);
    } finally {
      data.remove();
    }
  });
});

/**
 * The archive overlay's NATS, run for real on loopback: three nats-servers
 * with the rendered configuration file and the rendered clustering and
 * JetStream arguments (pod names, routes and the store directory mapped to
 * loopback ports and temporary directories) form one JetStream cluster that
 * keeps the shard buckets, made with the coordinator's rendered settings, on all
 * three servers.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  coordinatorConfigSchema,
  envLayer,
  openMapBucket,
  openMembersBucket,
  parseConfig,
} from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { connect, type NatsConnection } from "nats";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../harness/ports.js";
import { until } from "../harness/until.js";
import { containerEnv, mustFindWorkload } from "./k8s.js";
import { tempDir } from "./procs.js";
import { render } from "./render.js";
import { renderedNatsConfig } from "./stack.js";

const PASSWORD_ENV = {
  NATS_COORDINATOR_PASSWORD: "coordinator-cluster-password-0123",
  NATS_WORKER_PASSWORD: "worker-cluster-password-0123",
};

describe("the archive overlay's NATS cluster, on loopback", () => {
  const objects = render("archive");
  const [container] = mustFindWorkload(objects, "heed-nats").pod.containers;
  const coordinator = mustFindWorkload(objects, "heed-coordinator");
  const [coordinatorContainer] = coordinator.pod.containers;
  if (coordinatorContainer === undefined)
    throw new Error("the archive overlay runs no coordinator container");
  // The coordinator's settings as the app reads them from its rendered environment.
  const coordinatorConfig = parseConfig(
    coordinatorConfigSchema,
    envLayer(
      coordinatorConfigSchema,
      Object.fromEntries(containerEnv(coordinatorContainer, objects, { name: `${coordinator.name}-0` })),
    ),
  );
  const dir = tempDir("heed-nats-cluster-");
  const servers: NatsServerHandle[] = [];
  let nc: NatsConnection | undefined;

  afterAll(async () => {
    await nc?.close();
    for (const s of servers) await s.stop();
    dir.remove();
  });

  it("forms a 3-node JetStream cluster that keeps the shard buckets on every server", async () => {
    const args = container?.args ?? [];
    const conf = join(dir.path, "nats-server.conf");
    writeFileSync(conf, renderedNatsConfig(objects));
    const routes = (args[args.indexOf("--routes") + 1] ?? "").split(",");
    expect(routes.length).toBe(3);
    const clusterPorts = await Promise.all(routes.map(() => freePort()));
    // Each rendered route names a pod; here each pod is a loopback port.
    const local = (url: string) => {
      const i = routes.indexOf(url);
      return `nats://127.0.0.1:${clusterPorts[i]}`;
    };
    const started = await Promise.all(
      routes.map((_, i) => {
        const name = `heed-nats-${i}`;
        const mapped = args.map((a, k) => {
          const flag = args[k - 1];
          if (flag === "--config") return conf;
          if (flag === "--store_dir") return join(dir.path, name);
          if (flag === "--cluster") return `nats://127.0.0.1:${clusterPorts[i]}`;
          if (flag === "--routes") return routes.map(local).join(",");
          return a.replace("$(POD_NAME)", name);
        });
        return startNatsServer({ args: mapped, env: { ...process.env, ...PASSWORD_ENV }, monitor: true });
      }),
    );
    servers.push(...started);
    nc = await connect({
      servers: started.map((s) => `127.0.0.1:${s.port}`),
      user: "coordinator",
      pass: PASSWORD_ENV.NATS_COORDINATOR_PASSWORD,
      inboxPrefix: "_INBOX_heed_coordinators",
    });
    const conn = nc;
    // A replicated bucket can be made only once the three servers elected a JetStream leader.
    const status = await until(
      "a bucket replicated on three servers",
      async () => {
        try {
          const kv = await openMapBucket(conn, coordinatorConfig.jetstreamReplicas);
          return await kv.status();
        } catch {
          return undefined;
        }
      },
      30_000,
      250,
    );
    expect(status.replicas).toBe(3);
    const cluster = status.streamInfo.cluster;
    expect([cluster?.leader, ...(cluster?.replicas ?? []).map((r) => r.name)].sort()).toEqual([
      "heed-nats-0",
      "heed-nats-1",
      "heed-nats-2",
    ]);
    // The members bucket, opened as a shard opens it, is kept on every server as well.
    const members = await openMembersBucket(
      conn,
      coordinatorConfig.shardOwnershipTimeoutMs,
      coordinatorConfig.jetstreamReplicas,
    );
    expect((await members.status()).replicas).toBe(3);
  }, 60_000);
});

/**
 * Rendered workloads run as local processes: nats-server with its rendered
 * config file, and Heed containers with the environment the kubelet would
 * give them, moved from cluster addresses to loopback.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { keyValues, parseDockerfile, type Stage } from "./dockerfile.js";
import { configMapFileAt, containerEnv, type K8sObject, mustFindWorkload } from "./k8s.js";
import { tempDir } from "./procs.js";
import { REPO_ROOT } from "./repo.js";

/** The nats-server config file the heed-nats container reads (the path after --config). */
export function renderedNatsConfig(objects: readonly K8sObject[]): string {
  const nats = mustFindWorkload(objects, "heed-nats");
  const [container] = nats.pod.containers;
  if (!container) throw new Error("heed-nats has no container");
  const args = container.args ?? [];
  const path = args[args.indexOf("--config") + 1] ?? "";
  return configMapFileAt(objects, nats.pod, container, path);
}

/**
 * nats-server as the heed-nats pod runs it: the rendered config file and the
 * container's environment (the roles' passwords from Secret heed-nats), on
 * 127.0.0.1 with ports from the OS. `passwords` are what each role's user
 * must present.
 */
export async function startRenderedNats(
  objects: readonly K8sObject[],
): Promise<NatsServerHandle & { passwords: Record<"coordinator" | "worker", string> }> {
  const [container] = mustFindWorkload(objects, "heed-nats").pod.containers;
  if (!container) throw new Error("heed-nats has no container");
  const env = containerEnv(container, objects);
  const coordinator = env.get("NATS_COORDINATOR_PASSWORD");
  const worker = env.get("NATS_WORKER_PASSWORD");
  if (coordinator === undefined || worker === undefined)
    throw new Error("heed-nats gets no NATS_COORDINATOR_PASSWORD or NATS_WORKER_PASSWORD");
  const dir = tempDir("heed-nats-conf-");
  const file = join(dir.path, "nats-server.conf");
  writeFileSync(file, renderedNatsConfig(objects));
  try {
    const server = await startNatsServer({
      args: ["-c", file],
      env: { PATH: process.env.PATH ?? "", ...Object.fromEntries(env) },
      monitor: true,
    });
    return {
      ...server,
      passwords: { coordinator, worker },
      stop: async () => {
        await server.stop();
        dir.remove();
      },
    };
  } catch (err) {
    dir.remove();
    throw err;
  }
}

/** The runtime stage's ENV: what a container starts with before its own env. */
export function imageEnv(): Map<string, string> {
  const stages = parseDockerfile(readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8"));
  return keyValues(stages.at(-1) as Stage, "ENV");
}

/**
 * The environment of a workload's first container, as the kubelet builds it
 * (image ENV, envFrom, env with Secrets and $(VAR) expansion), with the pod's
 * name for fieldRef metadata.name, `services` ("name:port" -> "host:port")
 * replaced inside every value, then `overrides` applied. Fails if any value
 * still names a cluster Service, so nothing is dialled outside loopback.
 */
export function runnableEnv(
  objects: readonly K8sObject[],
  workload: string,
  options: {
    podName: string;
    services: Record<string, string>;
    overrides?: Record<string, string>;
    drop?: readonly string[];
  },
): Record<string, string> {
  const [container] = mustFindWorkload(objects, workload).pod.containers;
  if (!container) throw new Error(`${workload} has no container`);
  const env = new Map([...imageEnv(), ...containerEnv(container, objects)]);
  env.set("HOSTNAME", options.podName);
  const out: Record<string, string> = { PATH: process.env.PATH ?? "" };
  for (const [name, raw] of env) {
    if (options.drop?.includes(name)) continue;
    let value = raw === "field:metadata.name" ? options.podName : raw;
    for (const [from, to] of Object.entries(options.services)) value = value.split(from).join(to);
    out[name] = value;
  }
  Object.assign(out, options.overrides ?? {});
  const serviceNames = new Set(
    objects.filter((o) => o.kind === "Service").map((o) => o.metadata.name as string),
  );
  for (const [name, value] of Object.entries(out)) {
    for (const service of serviceNames) {
      if (new RegExp(`(^|[/@,])${service}(\\.|:|$)`).test(value))
        throw new Error(`${workload} ${name}=${value} still names Service ${service}`);
    }
  }
  return out;
}

/** `0.0.0.0:<port>` (what the manifests listen on) moved to 127.0.0.1:`port`. */
export function loopbackListen(rendered: string | undefined, port: number): string {
  if (!/^0\.0\.0\.0:\d+$/.test(rendered ?? ""))
    throw new Error(`expected a 0.0.0.0:<port> listen address, got ${rendered}`);
  return `127.0.0.1:${port}`;
}

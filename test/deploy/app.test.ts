/**
 * The manifests against the application itself: the commands, flags and HEED_*
 * settings they pass exist, and their values pass the app's own config schemas,
 * as do the crawl definitions shipped in deploy/.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  coordinatorConfigSchema,
  crawlSpecSchema,
  envLayer,
  envNameOf,
  parseConfig,
  workerConfigSchema,
} from "@heed/shared";
import { describe, expect, it } from "vitest";
import { helpOf } from "./cli.js";
import { containerEnv, findObject, mustFind, workloads } from "./k8s.js";
import { FULL_TARGETS, render, TARGETS, type Target } from "./render.js";
import { DEPLOY_DIR } from "./repo.js";

const SCHEMAS = { coordinator: coordinatorConfigSchema, worker: workerConfigSchema } as const;
type Command = keyof typeof SCHEMAS;
/**
 * Secrets each command also takes by value from the environment, beside the
 * settings naming a file (adminTokenFile …); `--help` names them.
 */
const SECRET_ENV: Record<Command, readonly string[]> = {
  coordinator: [
    "HEED_ADMIN_TOKEN",
    "HEED_READ_ONLY_TOKEN",
    "HEED_WORKER_TOKEN",
    "HEED_NATS_TOKEN",
    "HEED_NATS_PASSWORD",
  ],
  worker: ["HEED_WORKER_TOKEN", "HEED_NATS_TOKEN", "HEED_NATS_PASSWORD", "HEED_SIGNING_KEY"],
};
const isCommand = (s: string | undefined): s is Command => s === "coordinator" || s === "worker";

/** Every container that runs a Heed service command, with its target. */
function heedContainers(target: Target) {
  const objects = render(target);
  return workloads(objects).flatMap((w) =>
    w.pod.containers.flatMap((c) => {
      const command = c.args?.[0];
      return isCommand(command) ? [{ objects, w, c, command, where: `${target} ${w.name}/${c.name}` }] : [];
    }),
  );
}

const ALL_TARGETS = Object.keys(TARGETS) as Target[];

describe.each(ALL_TARGETS)("deploy/%s against the CLI", (target) => {
  it("runs the image with commands and flags the CLI has", () => {
    for (const { c, command, where } of heedContainers(target)) {
      expect(c.command, `${where} keeps the image's ENTRYPOINT`).toBeUndefined();
      const help = helpOf(command);
      for (const arg of c.args?.slice(1) ?? []) {
        const flag = /^(--[a-z][a-z0-9-]*)/.exec(arg)?.[1];
        expect(flag, `${where}: argument ${arg} is a --flag`).toBeDefined();
        expect(help, `${where}: heed ${command} has no ${flag}`).toContain(`${flag} `);
      }
    }
  });

  it("sets only HEED_* settings the command reads, with values its config schema accepts", () => {
    for (const { objects, w, c, command, where } of heedContainers(target)) {
      const schema = SCHEMAS[command];
      const known = new Set([...Object.keys(schema.shape).map((k) => envNameOf(k)), ...SECRET_ENV[command]]);
      const env = containerEnv(c, objects, { name: `${w.name}-0` });
      const help = helpOf(command);
      for (const name of env.keys()) {
        if (!name.startsWith("HEED_")) continue;
        expect(known.has(name), `${where}: ${name} is not a ${command} setting`).toBe(true);
        expect(help, `${where}: ${name} is documented in --help`).toContain(name);
      }
      const parsed = () => parseConfig(schema, envLayer(schema, Object.fromEntries(env)), command);
      expect(parsed, where).not.toThrow();
    }
  });
});

describe.each(FULL_TARGETS)("deploy/%s configuration, as the app reads it", (target) => {
  const containers = heedContainers(target);
  const one = (command: Command) => {
    const found = containers.find((x) => x.command === command);
    if (!found) throw new Error(`${target} runs no ${command}`);
    return found;
  };

  it("coordinator: listens where its probes, ports and Services look; keeps data on its volume", () => {
    const { objects, w, c } = one("coordinator");
    const config = parseConfig(
      coordinatorConfigSchema,
      envLayer(
        coordinatorConfigSchema,
        Object.fromEntries(containerEnv(c, objects, { name: `${w.name}-0` })),
      ),
    );
    expect(config.grpcListen).toBe("0.0.0.0:7400");
    expect(config.httpListen).toBe("0.0.0.0:9464");
    expect(config.dataDir).toBe("/var/lib/heed");
    // Credentials come as the NATS user "coordinator" and a password from a Secret, not in the URL.
    expect(config.natsUrl).toBe("nats://heed-nats:4222");
    expect(config.natsUser).toBe("coordinator");
    if (config.shardId !== "") {
      // Sharded: each pod is the shard named after it, and publishes the address its pod name resolves to.
      expect(config.shardId).toBe(`${w.name}-0`);
      expect(config.grpcAdvertise).toBe(
        `${w.name}-0.${mustFind(objects, "StatefulSet", w.name).spec?.serviceName}:7400`,
      );
      expect(config.shardIds).toContain(config.shardId);
      // Every NATS server keeps a copy of the shard buckets and the URL stream.
      expect(config.jetstreamReplicas).toBe(mustFind(objects, "StatefulSet", "heed-nats").spec?.replicas);
    }
  });

  it("worker: drains within its grace period, refuses private addresses, reports to the coordinator", () => {
    const { objects, w, c } = one("worker");
    const config = parseConfig(
      workerConfigSchema,
      envLayer(workerConfigSchema, Object.fromEntries(containerEnv(c, objects))),
    );
    expect(config.allowPrivateAddresses).toBe(false);
    expect(config.drainTimeoutMs).toBeGreaterThan(0);
    expect((w.pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(config.drainTimeoutMs);
    expect(config.coordinator).toBe("heed-coordinator-grpc:7400");
    expect(config.httpListen).toBe("0.0.0.0:9464");
    expect(config.id).toBe("field:metadata.name");
    const coordinator = one("coordinator");
    const sharded =
      containerEnv(coordinator.c, coordinator.objects, { name: `${coordinator.w.name}-0` }).get(
        "HEED_SHARD_ID",
      ) !== undefined;
    // A worker that starts before the shards registered must wait for them, not settle for one coordinator.
    expect(config.shards).toBe(sharded ? "on" : "auto");
  });
});

describe("deploy/site signs with Web Bot Auth (components/web-bot-auth)", () => {
  const containers = heedContainers("site");
  it("gives workers the key from the Secret and the coordinator the same key where the Secret is mounted", () => {
    const worker = containers.find((x) => x.command === "worker");
    const coordinator = containers.find((x) => x.command === "coordinator");
    if (worker === undefined || coordinator === undefined)
      throw new Error("site runs no worker or coordinator");
    const workerEnv = containerEnv(worker.c, worker.objects);
    expect(workerEnv.get("HEED_SIGNING_KEY")).toBe("out-of-band-heed-signing-key-signing.pem");
    const wc = parseConfig(workerConfigSchema, envLayer(workerConfigSchema, Object.fromEntries(workerEnv)));
    expect(wc.signatureAgent).toMatch(/^https:\/\/.+\/\.well-known\/http-message-signatures-directory$/);
    const cc = parseConfig(
      coordinatorConfigSchema,
      envLayer(
        coordinatorConfigSchema,
        Object.fromEntries(
          containerEnv(coordinator.c, coordinator.objects, { name: `${coordinator.w.name}-0` }),
        ),
      ),
    );
    expect(cc.signatureAgent).toBe(wc.signatureAgent);
    const mount = coordinator.c.volumeMounts?.find((m) => m.name === "signing-key");
    const volume = coordinator.w.pod.volumes?.find((v) => v.name === "signing-key");
    expect(volume?.secret?.secretName).toBe("heed-signing-key");
    expect(mount?.readOnly).toBe(true);
    for (const file of cc.directoryKeyFiles) expect(file.startsWith(`${mount?.mountPath}/`)).toBe(true);
    expect(cc.directoryKeyFiles).toEqual([`${mount?.mountPath}/signing.pem`]);
  });
});

describe("crawl definitions in deploy/", () => {
  const readJson = (path: string): Record<string, unknown> => {
    const parsed: unknown = JSON.parse(readFileSync(join(DEPLOY_DIR, path), "utf8"));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new Error(`${path} is not an object`);
    return { ...parsed };
  };

  it("the crawl defaults are a valid crawl once seeds are added", () => {
    const defaults = readJson("base/crawl-defaults.json");
    expect(defaults.seeds).toBeUndefined();
    const spec = parseConfig(crawlSpecSchema, { ...defaults, seeds: ["https://example.org/"] }, "crawl");
    expect(spec.allowPrivateAddresses).toBe(false);
  });

  it("the site example's crawl is valid, has an explicit id, and reaches the coordinator", () => {
    const crawl = readJson("examples/site/crawl.json");
    const spec = parseConfig(crawlSpecSchema, crawl, "crawl");
    // Without an id the coordinator would create a new crawl on every restart.
    expect(spec.id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    const site = render("site");
    const sts = mustFind(site, "StatefulSet", "heed-coordinator");
    const c = sts.spec?.template.spec?.containers[0];
    const path = c?.args?.find((a) => a.startsWith("--crawl-file="))?.slice("--crawl-file=".length) ?? "";
    const mount = c?.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    const volume = sts.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
    const cm = findObject(site, "ConfigMap", volume?.configMap?.name ?? "");
    const key = path.slice((mount?.mountPath.length ?? 0) + 1);
    expect(cm?.data?.[key], `ConfigMap ${volume?.configMap?.name} key ${key}`).toBeDefined();
    expect(JSON.parse(cm?.data?.[key] ?? "null")).toEqual(crawl);
  });
});

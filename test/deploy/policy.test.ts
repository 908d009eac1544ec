/** Policy over the rendered manifests: hardening, sizing, wiring and secrets hygiene. */
import { describe, expect, it } from "vitest";
import {
  allContainers,
  allSecretValues,
  byKind,
  containerEnv,
  containerPortNumber,
  danglingEnvRefs,
  describeObject,
  findObject,
  hostPort,
  type K8sObject,
  mustFind,
  mustFindWorkload,
  NAMESPACE,
  parseImage,
  selectorMatches,
  type Workload,
  workloads,
} from "./k8s.js";
import { FULL_TARGETS, render, TARGETS, type Target } from "./render.js";

const ALL_TARGETS = Object.keys(TARGETS) as Target[];

/** Secrets the archive overlay expects to be created out of band (deploy/README.md). */
const OUT_OF_BAND_SECRETS = new Set(["heed-nats", "heed-api-tokens"]);
/** Optional Secrets, also created out of band: the Web Bot Auth signing key (components/web-bot-auth). */
const OPTIONAL_SECRETS = new Set(["heed-signing-key"]);
const PLACEHOLDER = /^CHANGE-ME(-[a-z0-9-]+)?$/;

function eachContainer(objects: readonly K8sObject[]) {
  return workloads(objects).flatMap((w) =>
    allContainers(w.pod).map((c) => ({ w, c, where: `${w.name}/${c.name}` })),
  );
}

/** Parses a Kubernetes quantity ("500m", "1", "256Mi", "2Gi") into base units. */
function quantity(q: string | number | undefined): number {
  if (q === undefined) return Number.NaN;
  if (typeof q === "number") return q;
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) return Number.NaN;
  const factor: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(m[1]) * (m[2] ? (factor[m[2]] ?? Number.NaN) : 1);
}

describe.each(ALL_TARGETS)("deploy/%s: every container", (target) => {
  const objects = render(target);
  const containers = eachContainer(objects);

  it("exists (the target runs something)", () => {
    expect(containers.length).toBeGreaterThan(0);
  });

  it("has cpu and memory requests and limits, requests within limits", () => {
    for (const { c, where } of containers) {
      const { requests = {}, limits = {} } = c.resources ?? {};
      for (const r of ["cpu", "memory"]) {
        const req = quantity(requests[r]);
        const lim = quantity(limits[r]);
        expect(req, `${where} requests.${r}`).toBeGreaterThan(0);
        expect(lim, `${where} limits.${r}`).toBeGreaterThan(0);
        expect(req, `${where} ${r} request <= limit`).toBeLessThanOrEqual(lim);
      }
    }
  });

  it("has liveness and readiness probes", () => {
    for (const { c, where } of containers) {
      expect(c.livenessProbe, `${where} livenessProbe`).toBeDefined();
      expect(c.readinessProbe, `${where} readinessProbe`).toBeDefined();
    }
  });

  it("runs as non-root with a read-only root filesystem, no privilege escalation, no capabilities", () => {
    for (const { w, c, where } of containers) {
      const pod = w.pod.securityContext ?? {};
      const sc = c.securityContext ?? {};
      expect(sc.runAsNonRoot ?? pod.runAsNonRoot, `${where} runAsNonRoot`).toBe(true);
      expect(sc.runAsUser ?? pod.runAsUser, `${where} runAsUser`).toBeGreaterThan(0);
      expect(sc.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(true);
      expect(sc.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false);
      expect(sc.privileged ?? false, `${where} privileged`).toBe(false);
      expect(sc.capabilities?.drop, `${where} capabilities.drop`).toContain("ALL");
      expect(sc.capabilities?.add ?? [], `${where} capabilities.add`).toEqual([]);
      expect((sc.seccompProfile ?? pod.seccompProfile)?.type, `${where} seccompProfile`).toBe(
        "RuntimeDefault",
      );
    }
  });

  it("writes only to mounted volumes: /tmp is a size-limited emptyDir", () => {
    for (const { w, c, where } of containers) {
      const tmp = c.volumeMounts?.find((m) => m.mountPath === "/tmp");
      expect(tmp, `${where} mounts /tmp`).toBeDefined();
      const volume = w.pod.volumes?.find((v) => v.name === tmp?.name);
      expect(volume?.emptyDir, `${where} /tmp is an emptyDir`).toBeDefined();
      expect(quantity(volume?.emptyDir?.sizeLimit), `${where} /tmp sizeLimit`).toBeGreaterThan(0);
    }
  });

  it("uses a pinned image: a tag that is not latest, or a digest", () => {
    for (const { c, where } of containers) {
      const image = parseImage(c.image ?? "");
      expect(image.name, `${where} image`).not.toBe("");
      expect(
        image.tag !== undefined || image.digest !== undefined,
        `${where} image ${c.image} is untagged`,
      ).toBe(true);
      expect(image.tag, `${where} image ${c.image}`).not.toBe("latest");
      if (image.tag !== undefined) expect(image.tag, `${where} image ${c.image}`).toMatch(/\d/);
    }
  });

  it("takes secrets only from Secrets, and expands only variables defined before use", () => {
    for (const { c, where } of containers) {
      expect(danglingEnvRefs(c), where).toEqual([]);
      for (const e of c.env ?? []) {
        if (/TOKEN|PASSWORD|SECRET|CREDENTIAL/i.test(e.name)) {
          expect(e.valueFrom?.secretKeyRef, `${where} ${e.name} comes from a Secret`).toBeDefined();
        }
      }
    }
  });
});

describe.each(ALL_TARGETS)("deploy/%s: every pod", (target) => {
  const objects = render(target);

  it("shares no host namespaces, mounts no host paths, gets no API token and no service links", () => {
    for (const w of workloads(objects)) {
      expect(w.pod.hostNetwork ?? false, `${w.name} hostNetwork`).toBe(false);
      expect(w.pod.hostPID ?? false, `${w.name} hostPID`).toBe(false);
      expect(w.pod.hostIPC ?? false, `${w.name} hostIPC`).toBe(false);
      expect(w.pod.volumes?.filter((v) => v.hostPath) ?? [], `${w.name} hostPath volumes`).toEqual([]);
      expect(w.pod.automountServiceAccountToken, `${w.name} automountServiceAccountToken`).toBe(false);
      // A Service named heed-nats would otherwise inject HEED_NATS_PORT etc. into a HEED_*-configured process.
      expect(w.pod.enableServiceLinks, `${w.name} enableServiceLinks`).toBe(false);
    }
  });

  it("refers only to ConfigMaps, Secrets and ServiceAccounts that exist (or are created out of band)", () => {
    for (const w of workloads(objects)) {
      const configMaps = new Set<string>();
      const secrets = new Set<string>();
      for (const c of allContainers(w.pod)) {
        for (const f of c.envFrom ?? []) {
          if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
          if (f.secretRef?.name) secrets.add(f.secretRef.name);
        }
        for (const e of c.env ?? []) {
          if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
          if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
        }
      }
      for (const v of w.pod.volumes ?? []) {
        if (v.configMap?.name) configMaps.add(v.configMap.name);
        if (v.secret?.secretName) secrets.add(v.secret.secretName);
      }
      for (const name of configMaps)
        expect(findObject(objects, "ConfigMap", name), `${w.name}: ConfigMap ${name}`).toBeDefined();
      for (const name of secrets) {
        const present = findObject(objects, "Secret", name) !== undefined;
        expect(
          present || OUT_OF_BAND_SECRETS.has(name) || OPTIONAL_SECRETS.has(name),
          `${w.name}: Secret ${name}`,
        ).toBe(true);
      }
      if (w.pod.serviceAccountName) {
        expect(
          findObject(objects, "ServiceAccount", w.pod.serviceAccountName),
          `${w.name} ServiceAccount`,
        ).toBeDefined();
      }
    }
  });
});

describe.each(ALL_TARGETS)("deploy/%s: objects", (target) => {
  const objects = render(target);

  it(`are all in the ${NAMESPACE} namespace (cluster-scoped ones excepted)`, () => {
    for (const o of objects) {
      if (o.kind === "Namespace") continue;
      expect(o.metadata.namespace, describeObject(o)).toBe(NAMESPACE);
    }
  });

  it("include Secrets with placeholder values only", () => {
    for (const { where, value } of allSecretValues(objects)) {
      expect(value, `${where} must be a CHANGE-ME placeholder`).toMatch(PLACEHOLDER);
    }
  });
});

describe.each(FULL_TARGETS)("deploy/%s: Heed", (target) => {
  const objects = render(target);
  const coordinator = mustFindWorkload(objects, "heed-coordinator");
  const worker = mustFindWorkload(objects, "heed-worker");

  it("has the namespace under the restricted Pod Security Standard", () => {
    const ns = mustFind(objects, "Namespace", NAMESPACE);
    expect(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });

  it("gives every workload a PodDisruptionBudget that still lets a node drain", () => {
    const pdbs = byKind(objects, "PodDisruptionBudget");
    for (const w of workloads(objects)) {
      const covering = pdbs.filter((p) => p.spec?.selector && selectorMatches(p.spec.selector, w.podLabels));
      expect(
        covering.map((p) => p.metadata.name),
        `PDBs of ${w.name}`,
      ).toHaveLength(1);
      const spec = covering[0]?.spec;
      // maxUnavailable >= 1 (or a percentage above 0): never a budget that blocks every eviction.
      expect(spec?.minAvailable, `${w.name} PDB uses maxUnavailable`).toBeUndefined();
      const max = spec?.maxUnavailable;
      expect(
        typeof max === "number" ? max : Number.parseInt(String(max), 10),
        `${w.name} maxUnavailable`,
      ).toBeGreaterThan(0);
    }
  });

  it("gives workers a termination grace period longer than their drain timeout", () => {
    const [container] = worker.pod.containers;
    if (!container) throw new Error("worker has no container");
    const drainMs = Number(containerEnv(container, objects).get("HEED_DRAIN_TIMEOUT_MS") ?? "25000");
    const graceMs = (worker.pod.terminationGracePeriodSeconds ?? 30) * 1000;
    expect(drainMs).toBeGreaterThan(0);
    // At least 5 s beyond the drain for the process to exit after its flush.
    expect(graceMs).toBeGreaterThanOrEqual(drainMs + 5000);
  });

  it("keeps workers from fetching private addresses", () => {
    for (const c of worker.pod.containers) {
      expect(containerEnv(c, objects).get("HEED_ALLOW_PRIVATE_ADDRESSES") ?? "false").toBe("false");
    }
  });

  it("gives the coordinator every API token and workers only theirs, from Secret heed-api-tokens", () => {
    const fromApiTokens = (w: Workload) =>
      Object.fromEntries(
        (w.pod.containers[0]?.env ?? [])
          .filter((e) => e.valueFrom?.secretKeyRef?.name === "heed-api-tokens")
          .map((e) => [e.name, e.valueFrom?.secretKeyRef]),
      );
    expect(fromApiTokens(coordinator)).toEqual({
      HEED_ADMIN_TOKEN: { name: "heed-api-tokens", key: "admin-token" },
      // Optional, so a Secret created before the key existed still starts the coordinator.
      HEED_READ_ONLY_TOKEN: { name: "heed-api-tokens", key: "read-only-token", optional: true },
      HEED_WORKER_TOKEN: { name: "heed-api-tokens", key: "worker-token" },
    });
    // A worker holding the admin token could steer every crawl.
    expect(fromApiTokens(worker)).toEqual({
      HEED_WORKER_TOKEN: { name: "heed-api-tokens", key: "worker-token" },
    });
  });

  it("probes the coordinator with native gRPC health checks on its gRPC port", () => {
    const [c] = coordinator.pod.containers;
    if (!c) throw new Error("coordinator has no container");
    const grpcPort = Number(containerEnv(c, objects).get("HEED_GRPC_LISTEN")?.split(":").pop());
    expect(grpcPort).toBe(7400);
    for (const probe of [c.livenessProbe, c.readinessProbe]) expect(probe?.grpc?.port).toBe(grpcPort);
    expect(containerPortNumber(c, "grpc")).toBe(grpcPort);
  });

  it("probes workers over HTTP /livez and /readyz on HEED_HTTP_LISTEN's port", () => {
    const [c] = worker.pod.containers;
    if (!c) throw new Error("worker has no container");
    const httpPort = Number(containerEnv(c, objects).get("HEED_HTTP_LISTEN")?.split(":").pop());
    expect(c.livenessProbe?.httpGet?.path).toBe("/livez");
    expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      expect(containerPortNumber(c, probe?.httpGet?.port)).toBe(httpPort);
    }
  });

  it("keeps the coordinator's LMDB on a persistent volume at HEED_DATA_DIR", () => {
    const sts = mustFind(objects, "StatefulSet", "heed-coordinator");
    const [c] = coordinator.pod.containers;
    if (!c) throw new Error("coordinator has no container");
    const dataDir = containerEnv(c, objects).get("HEED_DATA_DIR");
    const mount = c.volumeMounts?.find((m) => m.mountPath === dataDir);
    expect(mount, `a volume at ${dataDir}`).toBeDefined();
    const claim = sts.spec?.volumeClaimTemplates?.find((t) => t.metadata?.name === mount?.name);
    expect(claim?.spec?.accessModes).toEqual(["ReadWriteOnce"]);
    expect(quantity(claim?.spec?.resources?.requests?.storage)).toBeGreaterThan(0);
    expect(sts.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted).toBe("Retain");
    // The StatefulSet's governing Service exists and is headless.
    const governing = mustFind(objects, "Service", sts.spec?.serviceName ?? "");
    expect(governing.spec?.clusterIP).toBe("None");
  });

  it("scales workers with an autoscaling/v2 HPA that owns the replica count", () => {
    const hpa = mustFind(objects, "HorizontalPodAutoscaler", "heed-worker");
    // A Deployment, or a StatefulSet where workers keep their WARC files on a volume of their own.
    const kind = mustFindWorkload(objects, "heed-worker").kind;
    if (kind === "Pod") throw new Error("heed-worker must be a Deployment or StatefulSet");
    expect(hpa.spec?.scaleTargetRef).toMatchObject({ apiVersion: "apps/v1", kind, name: "heed-worker" });
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec?.maxReplicas).toBeGreaterThanOrEqual(hpa.spec?.minReplicas ?? Number.POSITIVE_INFINITY);
    // A replica count in the workload would be reset on every apply, fighting the HPA.
    expect(mustFind(objects, kind, "heed-worker").spec?.replicas).toBeUndefined();
  });

  it("marks coordinator and worker pods for Prometheus scraping on their HTTP port", () => {
    for (const w of [coordinator, worker]) {
      const [c] = w.pod.containers;
      if (!c) throw new Error(`${w.name} has no container`);
      expect(w.podAnnotations["prometheus.io/scrape"], w.name).toBe("true");
      expect(w.podAnnotations["prometheus.io/path"], w.name).toBe("/metrics");
      expect(Number(w.podAnnotations["prometheus.io/port"]), w.name).toBe(containerPortNumber(c, "http"));
    }
  });

  it("wires workers to the coordinator and everyone to NATS through Services that exist", () => {
    const services = byKind(objects, "Service");
    const nats = mustFindWorkload(objects, "heed-nats");
    /** The container port a host:port reaches through a Service, on the pods it selects. */
    const reach = (address: string, target: Workload): number | undefined => {
      const { host, port } = hostPort(address);
      const service = services.find((s) => s.metadata.name === host.split(".")[0]);
      if (
        !service?.spec?.selector ||
        !selectorMatches({ matchLabels: service.spec.selector }, target.podLabels)
      ) {
        return undefined;
      }
      const sp = service.spec.ports?.find((p) => p.port === port);
      const [c] = target.pod.containers;
      return c ? containerPortNumber(c, sp?.targetPort ?? port) : undefined;
    };
    for (const w of [coordinator, worker]) {
      for (const c of w.pod.containers) {
        const env = containerEnv(c, objects);
        expect(reach(env.get("HEED_NATS_URL") ?? "", nats), `${w.name} HEED_NATS_URL`).toBe(4222);
      }
    }
    const [wc] = worker.pod.containers;
    if (!wc) throw new Error("worker has no container");
    expect(reach(containerEnv(wc, objects).get("HEED_COORDINATOR") ?? "", coordinator)).toBe(7400);
  });
});

const containerEnvOf = (objects: readonly K8sObject[], name: string) => {
  const [c] = mustFindWorkload(objects, name).pod.containers;
  if (!c) throw new Error(`${name} has no container`);
  return containerEnv(c, objects);
};

describe("overlays", () => {
  const dev = render("dev");
  const archive = render("archive");
  const storage = (objects: readonly K8sObject[]) =>
    quantity(
      mustFind(objects, "StatefulSet", "heed-coordinator").spec?.volumeClaimTemplates?.[0]?.spec?.resources
        ?.requests?.storage,
    );
  const hpa = (objects: readonly K8sObject[]) =>
    mustFind(objects, "HorizontalPodAutoscaler", "heed-worker").spec;

  it("dev runs one coordinator and two workers on a small volume", () => {
    expect(mustFind(dev, "StatefulSet", "heed-coordinator").spec?.replicas).toBe(1);
    expect(hpa(dev)).toMatchObject({ minReplicas: 2, maxReplicas: 2 });
    expect(storage(dev)).toBeLessThanOrEqual(5 * 2 ** 30);
  });

  it("dev keeps one unsharded coordinator and one NATS server without JetStream", () => {
    const env = containerEnvOf(dev, "heed-coordinator");
    expect(env.get("HEED_SHARD_ID")).toBeUndefined();
    expect(mustFind(dev, "StatefulSet", "heed-nats").spec?.replicas ?? 1).toBe(1);
    expect(mustFindWorkload(dev, "heed-nats").pod.containers[0]?.args).not.toContain("--jetstream");
  });

  it("archive runs several coordinator shards, each named after its pod, with a volume each", () => {
    const sts = mustFind(archive, "StatefulSet", "heed-coordinator");
    const replicas = sts.spec?.replicas ?? 1;
    expect(replicas).toBeGreaterThan(1);
    const [c] = mustFindWorkload(archive, "heed-coordinator").pod.containers;
    expect(c?.env?.find((e) => e.name === "HEED_SHARD_ID")?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.name",
    );
    // The first map is made from exactly the pods the StatefulSet runs.
    const pods = Array.from({ length: replicas }, (_, i) => `heed-coordinator-${i}`);
    expect(containerEnvOf(archive, "heed-coordinator").get("HEED_SHARD_IDS")?.split(",")).toEqual(pods);
    expect(sts.spec?.volumeClaimTemplates?.map((v) => v.metadata?.name)).toEqual(["data"]);
    expect(sts.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled).toBe("Retain");
  });

  it("archive runs NATS as a 3-node JetStream cluster, a volume per server, routes to every peer", () => {
    const sts = mustFind(archive, "StatefulSet", "heed-nats");
    expect(sts.spec?.replicas).toBe(3);
    const [c] = mustFindWorkload(archive, "heed-nats").pod.containers;
    const args = c?.args ?? [];
    const argAfter = (flag: string) => args[args.indexOf(flag) + 1];
    expect(args).toContain("--jetstream");
    const claim = sts.spec?.volumeClaimTemplates?.find((v) => v.metadata?.name === "jetstream");
    expect(quantity(claim?.spec?.resources?.requests?.storage)).toBeGreaterThanOrEqual(10 * 2 ** 30);
    expect(c?.volumeMounts?.find((m) => m.name === "jetstream")?.mountPath).toBe(argAfter("--store_dir"));
    // Each server its own name (JetStream clustering needs one), every peer a route.
    expect(argAfter("--server_name")).toBe("$(POD_NAME)");
    expect(c?.env?.find((e) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
    const headless = sts.spec?.serviceName;
    expect(argAfter("--routes")?.split(",")).toEqual(
      [0, 1, 2].map((i) => `nats://heed-nats-${i}.${headless}:6222`),
    );
    expect(argAfter("--cluster")).toBe("nats://0.0.0.0:6222");
  });

  it("archive is sized up: a larger volume, more workers, a wider HPA range, bigger requests", () => {
    expect(storage(archive)).toBeGreaterThanOrEqual(100 * 2 ** 30);
    expect(hpa(archive)?.minReplicas).toBeGreaterThan(hpa(dev)?.minReplicas ?? 0);
    expect(hpa(archive)?.maxReplicas).toBeGreaterThan((hpa(archive)?.minReplicas ?? 0) * 2);
    for (const name of ["heed-coordinator", "heed-worker"]) {
      const cpu = (objects: readonly K8sObject[]) =>
        quantity(mustFindWorkload(objects, name).pod.containers[0]?.resources?.requests?.cpu);
      expect(cpu(archive), name).toBeGreaterThan(cpu(dev));
    }
  });

  it("archive gives each worker a retained volume for its WARC files, and the HPA scales that StatefulSet", () => {
    expect(byKind(archive, "Deployment").map((d) => d.metadata.name)).not.toContain("heed-worker");
    const sts = mustFind(archive, "StatefulSet", "heed-worker");
    const claim = sts.spec?.volumeClaimTemplates?.[0];
    expect(quantity(claim?.spec?.resources?.requests?.storage)).toBeGreaterThanOrEqual(10 * 2 ** 30);
    expect(sts.spec?.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
    expect(sts.spec?.replicas).toBeUndefined();
    const worker = mustFindWorkload(archive, "heed-worker");
    const [c] = worker.pod.containers;
    if (!c) throw new Error("heed-worker has no container");
    const mount = c.volumeMounts?.find((m) => m.name === claim?.metadata?.name);
    expect(mount?.mountPath).toBe("/data");
    expect(containerEnv(c, archive).get("HEED_WARC_DIR")).toBe("/data/warc");
    expect(worker.pod.securityContext?.fsGroup).toBe(
      c.securityContext?.runAsUser ?? worker.pod.securityContext?.runAsUser,
    );
    expect(hpa(archive)?.scaleTargetRef).toMatchObject({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      name: "heed-worker",
    });
    expect(mustFind(archive, "Service", sts.spec?.serviceName ?? "").spec?.clusterIP).toBe("None");
  });

  it("archive spreads coordinators and workers with pod anti-affinity", () => {
    for (const name of ["heed-coordinator", "heed-worker"]) {
      const w = mustFindWorkload(archive, name);
      const anti = w.pod.affinity?.podAntiAffinity;
      const terms = [
        ...(anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
        ...(anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p) => p.podAffinityTerm),
      ];
      expect(
        terms.some((t) => selectorMatches(t.labelSelector, w.podLabels)),
        `${name} repels its own replicas`,
      ).toBe(true);
    }
    // Coordinator shards must never share a node.
    const required =
      mustFindWorkload(archive, "heed-coordinator").pod.affinity?.podAntiAffinity
        ?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(required.map((t) => t.topologyKey)).toContain("kubernetes.io/hostname");
  });

  it("dev ships placeholder Secrets; archive ships none, so an apply never overwrites real ones", () => {
    expect(
      byKind(dev, "Secret")
        .map((s) => s.metadata.name)
        .sort(),
    ).toEqual([...OUT_OF_BAND_SECRETS].sort());
    expect(byKind(archive, "Secret")).toEqual([]);
    expect(byKind(render("site"), "Secret")).toEqual([]);
  });

  it("the site example adds the ServiceMonitor and a crawl file the coordinator reads", () => {
    const site = render("site");
    expect(site.filter((o) => o.kind === "ServiceMonitor").map((o) => o.metadata.name)).toEqual(["heed"]);
    const [c] = mustFindWorkload(site, "heed-coordinator").pod.containers;
    const arg = c?.args?.find((a) => a.startsWith("--crawl-file="));
    expect(arg).toBeDefined();
    const path = arg?.slice("--crawl-file=".length) ?? "";
    const mount = c?.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
  });
});

/** Typed access to rendered Kubernetes objects, for the deploy/ checks. */

import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import type { IPod } from "kubernetes-models/v1/Pod";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { ISecret } from "kubernetes-models/v1/Secret";
import type { IService } from "kubernetes-models/v1/Service";
import type { IServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { validateObject } from "./schema.js";

export type { IContainer, IPodSpec };

export const NAMESPACE = "heed";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

const isStringMap = (v: unknown): v is Record<string, string> =>
  isRecord(v) && Object.values(v).every((x) => typeof x === "string");

export function isK8sObject(v: unknown): v is K8sObject {
  if (!isRecord(v) || typeof v.apiVersion !== "string" || typeof v.kind !== "string") return false;
  const m = v.metadata;
  return (
    isRecord(m) &&
    typeof m.name === "string" &&
    (m.namespace === undefined || typeof m.namespace === "string") &&
    (m.labels === undefined || isStringMap(m.labels)) &&
    (m.annotations === undefined || isStringMap(m.annotations))
  );
}

export const describeObject = (o: K8sObject): string =>
  `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

interface KindMap {
  ConfigMap: IConfigMap;
  Deployment: IDeployment;
  HorizontalPodAutoscaler: IHorizontalPodAutoscaler;
  Namespace: INamespace;
  NetworkPolicy: INetworkPolicy;
  Pod: IPod;
  PodDisruptionBudget: IPodDisruptionBudget;
  Secret: ISecret;
  Service: IService;
  ServiceAccount: IServiceAccount;
  StatefulSet: IStatefulSet;
}

const API_VERSIONS: { [K in keyof KindMap]: string } = {
  ConfigMap: "v1",
  Deployment: "apps/v1",
  HorizontalPodAutoscaler: "autoscaling/v2",
  Namespace: "v1",
  NetworkPolicy: "networking.k8s.io/v1",
  Pod: "v1",
  PodDisruptionBudget: "policy/v1",
  Secret: "v1",
  Service: "v1",
  ServiceAccount: "v1",
  StatefulSet: "apps/v1",
};

/**
 * The objects of one kind, typed by the Kubernetes schema they were validated
 * against here (an invalid object throws, so typed access is never a guess).
 */
export function byKind<K extends keyof KindMap>(
  objects: readonly K8sObject[],
  kind: K,
): (KindMap[K] & K8sObject)[] {
  return objects
    .filter((o) => o.kind === kind && o.apiVersion === API_VERSIONS[kind])
    .map((o) => {
      const problems = validateObject(o);
      if (problems.length > 0)
        throw new Error(`${describeObject(o)} is not a valid ${kind}: ${problems.join("; ")}`);
      return o as KindMap[K] & K8sObject;
    });
}

export function findObject<K extends keyof KindMap>(
  objects: readonly K8sObject[],
  kind: K,
  name: string,
): (KindMap[K] & K8sObject) | undefined {
  return byKind(objects, kind).find((o) => o.metadata.name === name);
}

export function mustFind<K extends keyof KindMap>(
  objects: readonly K8sObject[],
  kind: K,
  name: string,
): KindMap[K] & K8sObject {
  const found = findObject(objects, kind, name);
  if (!found) throw new Error(`no ${kind} named ${name} in the rendered objects`);
  return found;
}

/** Something that runs pods: its pod spec and the labels its pods carry. */
export interface Workload {
  object: K8sObject;
  kind: "Deployment" | "StatefulSet" | "Pod";
  name: string;
  podLabels: Record<string, string>;
  podAnnotations: Record<string, string>;
  pod: IPodSpec;
}

export function workloads(objects: readonly K8sObject[]): Workload[] {
  const out: Workload[] = [];
  for (const kind of ["Deployment", "StatefulSet"] as const) {
    for (const o of byKind(objects, kind)) {
      const template = o.spec?.template;
      if (!template?.spec) throw new Error(`${describeObject(o)} has no pod template`);
      out.push({
        object: o,
        kind,
        name: o.metadata.name,
        podLabels: template.metadata?.labels ?? {},
        podAnnotations: template.metadata?.annotations ?? {},
        pod: template.spec,
      });
    }
  }
  for (const o of byKind(objects, "Pod")) {
    if (!o.spec) throw new Error(`${describeObject(o)} has no spec`);
    out.push({
      object: o,
      kind: "Pod",
      name: o.metadata.name,
      podLabels: o.metadata.labels ?? {},
      podAnnotations: o.metadata.annotations ?? {},
      pod: o.spec,
    });
  }
  return out;
}

export function mustFindWorkload(objects: readonly K8sObject[], name: string): Workload {
  const w = workloads(objects).find((x) => x.name === name);
  if (!w) throw new Error(`no workload named ${name} in the rendered objects`);
  return w;
}

export const allContainers = (pod: IPodSpec): IContainer[] => [
  ...(pod.initContainers ?? []),
  ...pod.containers,
];

/** The image name before its tag or digest, and the tag (undefined when none). */
export function parseImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf("@");
  const digest = at === -1 ? undefined : image.slice(at + 1);
  const ref = at === -1 ? image : image.slice(0, at);
  const lastSlash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const hasTag = colon > lastSlash;
  return {
    name: hasTag ? ref.slice(0, colon) : ref,
    ...(hasTag ? { tag: ref.slice(colon + 1) } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

type LabelSelector = NonNullable<IDeployment["spec"]>["selector"];

/** Kubernetes label-selector semantics; an empty selector matches everything. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const req of selector.matchExpressions ?? []) {
    const value = labels[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
        if (value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (value === undefined) return false;
        break;
      case "DoesNotExist":
        if (value !== undefined) return false;
        break;
      default:
        throw new Error(`unknown selector operator ${req.operator}`);
    }
  }
  return true;
}

/** Value Secrets resolve to where the render holds none (created out of band). */
export const outOfBand = (secret: string, key: string): string => `out-of-band-${secret}-${key}`;

function secretValues(secret: ISecret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
  Object.assign(out, secret.stringData ?? {});
  return out;
}

/** One key of a rendered Secret, decoded (undefined when the Secret or key is not rendered). */
export function secretValue(objects: readonly K8sObject[], name: string, key: string): string | undefined {
  const secret = findObject(objects, "Secret", name);
  return secret ? secretValues(secret)[key] : undefined;
}

/** Every key of every Secret in the render, decoded. */
export function allSecretValues(objects: readonly K8sObject[]): { where: string; value: string }[] {
  return byKind(objects, "Secret").flatMap((s) =>
    Object.entries(secretValues(s)).map(([k, value]) => ({ where: `${describeObject(s)} key ${k}`, value })),
  );
}

/**
 * The environment a container starts with, as the kubelet builds it: envFrom,
 * then env in order, with $(VAR) references to earlier variables expanded.
 * Values from Secrets missing from the render become `outOfBand(...)`;
 * fieldRefs become `field:<path>`.
 */
/**
 * A container's environment as its process sees it. Field references read
 * `field:<path>`, or with `pod` the value a pod of that name gets for
 * `metadata.name` (a StatefulSet's pods are named `<name>-<ordinal>`).
 */
export function containerEnv(
  container: IContainer,
  objects: readonly K8sObject[],
  pod?: { name: string },
): Map<string, string> {
  const env = new Map<string, string>();
  const configMap = (name: string) => {
    const cm = findObject(objects, "ConfigMap", name);
    if (!cm) throw new Error(`container ${container.name} uses ConfigMap ${name}, which is not rendered`);
    return cm.data ?? {};
  };
  const secret = (name: string) => {
    const s = findObject(objects, "Secret", name);
    return s ? secretValues(s) : undefined;
  };
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.configMapRef) {
      for (const [k, v] of Object.entries(configMap(from.configMapRef.name ?? ""))) env.set(prefix + k, v);
    }
    if (from.secretRef) {
      for (const [k, v] of Object.entries(secret(from.secretRef.name ?? "") ?? {})) env.set(prefix + k, v);
    }
  }
  for (const e of container.env ?? []) {
    let value: string;
    if (e.value !== undefined) {
      value = e.value.replace(/\$\((\w+)\)/g, (ref, name: string) => env.get(name) ?? ref);
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      value = configMap(ref.name ?? "")[ref.key] ?? "";
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      value = secret(ref.name ?? "")?.[ref.key] ?? outOfBand(ref.name ?? "", ref.key);
    } else if (e.valueFrom?.fieldRef) {
      const path = e.valueFrom.fieldRef.fieldPath;
      value = pod !== undefined && path === "metadata.name" ? pod.name : `field:${path}`;
    } else {
      value = "";
    }
    env.set(e.name, value);
  }
  return env;
}

/** `$(VAR)` references in env values that name no variable defined before them. */
export function danglingEnvRefs(container: IContainer): string[] {
  const defined = new Set<string>();
  const out: string[] = [];
  for (const e of container.env ?? []) {
    for (const m of (e.value ?? "").matchAll(/\$\((\w+)\)/g)) {
      const name = m[1] ?? "";
      if (!defined.has(name)) out.push(`${e.name} refers to $(${name}) before it is defined`);
    }
    defined.add(e.name);
  }
  return out;
}

/** "host:port" -> parts; also accepts nats://user@host:port style URLs. */
export function hostPort(address: string): { host: string; port: number } {
  const withoutScheme = address.replace(/^[a-z]+:\/\//, "");
  const afterAuth = withoutScheme.slice(withoutScheme.lastIndexOf("@") + 1).replace(/\/.*$/, "");
  const colon = afterAuth.lastIndexOf(":");
  if (colon === -1) throw new Error(`no port in ${address}`);
  return { host: afterAuth.slice(0, colon), port: Number(afterAuth.slice(colon + 1)) };
}

/** The numeric container port a Service port or probe port (number or name) means. */
export function containerPortNumber(
  container: IContainer,
  port: number | string | undefined,
): number | undefined {
  if (typeof port === "number") return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * The text a container finds at `path` in a ConfigMap volume it mounts, as the
 * kubelet lays it out (key = file name under the mount path).
 */
export function configMapFileAt(
  objects: readonly K8sObject[],
  pod: IPodSpec,
  container: IContainer,
  path: string,
): string {
  const mount = container.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
  const volume = pod.volumes?.find((v) => v.name === mount?.name);
  const cm = findObject(objects, "ConfigMap", volume?.configMap?.name ?? "");
  const text = cm?.data?.[path.slice((mount?.mountPath.length ?? 0) + 1)];
  if (text === undefined)
    throw new Error(`container ${container.name} reads ${path}, which no rendered ConfigMap provides`);
  return text;
}

/**
 * Every rendered object validates against the Kubernetes OpenAPI schemas
 * (offline, pinned npm packages), and the validation demonstrably rejects
 * broken objects.
 */
import { describe, expect, it } from "vitest";
import type { K8sObject } from "./k8s.js";
import { findRenderer, NO_RENDERER_HELP, render, TARGETS, type Target } from "./render.js";
import { modelSource, strictCheck, validateAll, validateObject } from "./schema.js";

const targets = Object.keys(TARGETS) as Target[];

describe("rendering", () => {
  it("finds kustomize (kubectl's or standalone), or fails with instructions", () => {
    // Not a skip: without a renderer this throws NO_RENDERER_HELP, and so does every test below.
    const renderer = findRenderer();
    expect(renderer.version).toMatch(/kustomize/);
  });

  it("fails loudly, naming kubectl, when no renderer is installed", () => {
    const env = {
      PATH: "/nonexistent",
      KUBECTL: "/nonexistent/kubectl",
      KUSTOMIZE: "/nonexistent/kustomize",
    };
    expect(() => findRenderer(env)).toThrow(NO_RENDERER_HELP);
    expect(NO_RENDERER_HELP).toMatch(/install kubectl/i);
  });

  it.each(targets)("deploy/%s renders", (target) => {
    const objects = render(target);
    expect(objects.length).toBeGreaterThan(0);
  });
});

describe("schema validation", () => {
  it.each(targets)("every object of deploy/%s validates", (target) => {
    expect(validateAll(render(target))).toEqual([]);
  });

  it("knows the kinds Heed uses, including the ServiceMonitor CRD", () => {
    for (const [apiVersion, kind] of [
      ["v1", "Namespace"],
      ["apps/v1", "StatefulSet"],
      ["autoscaling/v2", "HorizontalPodAutoscaler"],
      ["policy/v1", "PodDisruptionBudget"],
      ["networking.k8s.io/v1", "NetworkPolicy"],
      ["monitoring.coreos.com/v1", "ServiceMonitor"],
    ] as const) {
      expect(modelSource(apiVersion, kind), `${apiVersion} ${kind}`).toBeDefined();
    }
  });
});

/** A valid worker Deployment from the dev overlay, to break in controlled ways. */
function workerDeployment(): K8sObject {
  const found = render("dev").find((o) => o.kind === "Deployment" && o.metadata.name === "heed-worker");
  if (!found) throw new Error("dev renders no heed-worker Deployment");
  return structuredClone(found);
}

/** Sets a value at a path of plain keys and indexes, creating nothing: the path must exist. */
function setAt(obj: K8sObject, path: (string | number)[], value: unknown): K8sObject {
  let node: unknown = obj;
  for (const key of path.slice(0, -1)) {
    node = node !== null && typeof node === "object" ? Reflect.get(node, key) : undefined;
    if (node === undefined) throw new Error(`no ${String(key)} on the way to ${path.join(".")}`);
  }
  const last = path.at(-1);
  if (last === undefined || node === null || typeof node !== "object")
    throw new Error(`bad path ${path.join(".")}`);
  Reflect.set(node, last, value);
  return obj;
}

const CONTAINER = ["spec", "template", "spec", "containers", 0];

describe("validation rejects broken objects", () => {
  it("accepts the unbroken object (so the rejections below are about the breakage)", () => {
    expect(validateAll([workerDeployment()])).toEqual([]);
  });

  it("rejects a wrong type (replicas as a string) in the OpenAPI schema layer", () => {
    const broken = setAt(workerDeployment(), ["spec", "replicas"], "two");
    expect(validateObject(broken).join("\n")).toMatch(/replicas must be integer/);
  });

  it("rejects a non-integer port", () => {
    const broken = setAt(workerDeployment(), [...CONTAINER, "ports", 0, "containerPort"], "http");
    expect(validateObject(broken).join("\n")).toMatch(/containerPort must be integer/);
  });

  it("rejects a missing required field (containers)", () => {
    const broken = setAt(workerDeployment(), ["spec", "template", "spec", "containers"], undefined);
    expect(validateObject(broken).join("\n")).toMatch(/containers/);
  });

  it("rejects a misspelled field that the JSON schemas alone would let through", () => {
    const broken = setAt(workerDeployment(), [...CONTAINER, "securityContext", "runAsNonroot"], true);
    // The OpenAPI schemas allow unknown fields (as kubeconform does without -strict) ...
    expect(validateObject(broken)).toEqual([]);
    // ... the strict layer does not, as the API server's strict field validation would not.
    const messages = [...strictCheck([broken]).values()].flat().join("\n");
    expect(messages).toMatch(/'"runAsNonroot"' does not exist in type 'ISecurityContext'/);
    expect(validateAll([broken])).toHaveLength(1);
  });

  it("rejects an unknown field in a NetworkPolicy", () => {
    const policy = render("dev").find((o) => o.kind === "NetworkPolicy");
    if (!policy) throw new Error("dev renders no NetworkPolicy");
    const broken = setAt(structuredClone(policy), ["spec", "podSelectors"], {});
    expect(validateAll([broken]).join("\n")).toMatch(/podSelectors/);
  });

  it("rejects a kind or apiVersion it has no schema for, instead of passing it", () => {
    const typo: K8sObject = { ...workerDeployment(), kind: "Deploymnet" };
    const oldApi: K8sObject = { ...workerDeployment(), apiVersion: "extensions/v1beta9" };
    expect(validateAll([typo]).join("\n")).toMatch(/no schema for apiVersion apps\/v1, kind Deploymnet/);
    expect(validateAll([oldApi]).join("\n")).toMatch(/no schema/);
  });

  it("rejects a broken ServiceMonitor (CRD schema)", () => {
    const monitor = render("site").find((o) => o.kind === "ServiceMonitor");
    if (!monitor) throw new Error("site renders no ServiceMonitor");
    const broken = setAt(structuredClone(monitor), ["spec", "endpoints"], "metrics");
    expect(validateAll([broken]).length).toBeGreaterThan(0);
  });
});

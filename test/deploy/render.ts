/**
 * Renders deploy/ kustomizations with the real kustomize: `kubectl kustomize`
 * (built into kubectl) or a standalone `kustomize build`. No renderer means a
 * failing test with instructions, never a silent skip.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describeObject, isK8sObject, type K8sObject } from "./k8s.js";
import { DEPLOY_DIR } from "./repo.js";

/** Every kustomization under deploy/ that is meant to be applied. */
export const TARGETS = {
  base: "base",
  dev: "overlays/dev",
  archive: "overlays/archive",
  site: "examples/site",
  ops: "ops",
} as const;
export type Target = keyof typeof TARGETS;

/** Targets that run the whole of Heed (an overlay of the base). */
export const FULL_TARGETS = ["dev", "archive", "site"] as const satisfies readonly Target[];

export interface Renderer {
  command: string;
  args(dir: string): string[];
  version: string;
}

/** Components (kind: Component) need kustomize v3.7+; we ask for v4+. */
const MIN_KUSTOMIZE_MAJOR = 4;

export const NO_RENDERER_HELP =
  "deploy/ checks render the manifests with kustomize, but neither `kubectl` (kustomize is built in) " +
  "nor `kustomize` runs here. Install kubectl 1.24 or newer (https://kubernetes.io/docs/tasks/tools/; " +
  "Debian's own kubernetes-client package is too old) or standalone kustomize 4+, or point " +
  "KUBECTL=/path/to/kubectl or KUSTOMIZE=/path/to/kustomize at one. These checks do not skip without it.";

function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(command, args, { encoding: "utf8", env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
}

function majorOf(version: string): number {
  const m = /v?(\d+)\./.exec(version);
  return m ? Number(m[1]) : Number.NaN;
}

/** Finds kubectl (or kustomize) with a kustomize new enough for components; throws with help otherwise. */
export function findRenderer(env: NodeJS.ProcessEnv = process.env): Renderer {
  const tooOld: string[] = [];
  const kubectl = env.KUBECTL ?? "kubectl";
  const kv = run(kubectl, ["version", "--client", "-o", "json"], env);
  if (kv.status === 0) {
    let version = "";
    try {
      const parsed: unknown = JSON.parse(kv.stdout);
      const v =
        parsed !== null && typeof parsed === "object" ? Reflect.get(parsed, "kustomizeVersion") : undefined;
      version = typeof v === "string" ? v : "";
    } catch {
      version = "";
    }
    if (majorOf(version) >= MIN_KUSTOMIZE_MAJOR) {
      return {
        command: kubectl,
        args: (dir) => ["kustomize", dir],
        version: `kubectl (kustomize ${version})`,
      };
    }
    tooOld.push(`${kubectl} has kustomize "${version || "unknown"}"`);
  }
  const kustomize = env.KUSTOMIZE ?? "kustomize";
  const ks = run(kustomize, ["version"], env);
  if (ks.status === 0) {
    const version = ks.stdout.trim();
    if (majorOf(version.replace(/^.*?v(?=\d)/, "v")) >= MIN_KUSTOMIZE_MAJOR) {
      return { command: kustomize, args: (dir) => ["build", dir], version: `kustomize ${version}` };
    }
    tooOld.push(`${kustomize} is "${version}"`);
  }
  throw new Error(
    tooOld.length > 0
      ? `${NO_RENDERER_HELP} (too old: ${tooOld.join("; ")}; need kustomize v4+)`
      : NO_RENDERER_HELP,
  );
}

/** Parses multi-document YAML into Kubernetes objects; anything else is an error. */
export function parseObjects(text: string, where: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${where}: YAML error: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isK8sObject(value)) throw new Error(`${where}: a document is not a Kubernetes object`);
    out.push(value);
  }
  return out;
}

const cache = new Map<string, K8sObject[]>();

/** Renders one deploy/ target (cached per test file). */
export function render(target: Target, renderer: Renderer = findRenderer()): K8sObject[] {
  const dir = join(DEPLOY_DIR, TARGETS[target]);
  const cached = cache.get(dir);
  if (cached) return cached;
  const result = run(renderer.command, renderer.args(dir), process.env);
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${renderer.command} ${renderer.args(dir).join(" ")} failed:\n${result.stderr}`);
  }
  const objects = parseObjects(result.stdout, `deploy/${TARGETS[target]}`);
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.apiVersion} ${describeObject(o)}`;
    if (seen.has(id)) throw new Error(`deploy/${TARGETS[target]} renders ${id} twice`);
    seen.add(id);
  }
  cache.set(dir, objects);
  return objects;
}

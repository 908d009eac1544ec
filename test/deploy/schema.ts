/**
 * Offline validation of Kubernetes objects against the Kubernetes OpenAPI schemas,
 * as shipped (pinned) in the npm packages kubernetes-models and
 * @kubernetes-models/prometheus-operator, in two layers:
 *
 * 1. `validateObject`: the packages' JSON-schema validators (ajv, generated from
 *    the Kubernetes OpenAPI spec): types, formats (int32, ...), enums, required fields.
 * 2. `strictCheck`: those schemas leave unknown fields alone, as the API server's
 *    strict field validation (kubectl's default) does not. So every object is
 *    also type-checked by the TypeScript compiler against the packages' generated
 *    interfaces, where an unknown or misspelled field is an excess-property error.
 *
 * An object whose apiVersion/kind has no schema is an error, never a pass.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import ts from "typescript";
import { describeObject, type K8sObject } from "./k8s.js";
import { REPO_ROOT } from "./repo.js";

const require = createRequire(import.meta.url);

export interface ModelSource {
  /** Module specifier of the generated model, e.g. kubernetes-models/apps/v1/Deployment. */
  specifier: string;
  /** Exported class (runtime validator) and interface (TypeScript) names. */
  className: string;
  typeName: string;
}

const CUSTOM_GROUPS: Record<string, string> = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

export function modelSource(apiVersion: string, kind: string): ModelSource | undefined {
  const slash = apiVersion.indexOf("/");
  const group = slash === -1 ? "" : apiVersion.slice(0, slash);
  const version = slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  if (!/^v\d+((alpha|beta)\d+)?$/.test(version)) return undefined;
  if (group !== "" && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(group)) return undefined;
  const pkg = CUSTOM_GROUPS[group] ?? "kubernetes-models";
  const path = group === "" ? `${version}/${kind}` : `${group}/${version}/${kind}`;
  const specifier = `${pkg}/${path}`;
  try {
    require.resolve(specifier);
  } catch {
    return undefined;
  }
  return { specifier, className: kind, typeName: `I${kind}` };
}

type Validator = new (data: object) => { validate(): void };

function isValidator(value: unknown): value is Validator {
  return typeof value === "function" && typeof value.prototype?.validate === "function";
}

const validators = new Map<string, Validator>();

function validatorFor(source: ModelSource): Validator {
  const cached = validators.get(source.specifier);
  if (cached) return cached;
  const mod: unknown = require(source.specifier);
  const ctor = mod !== null && typeof mod === "object" ? Reflect.get(mod, source.className) : undefined;
  if (!isValidator(ctor)) throw new Error(`${source.specifier} exports no model class ${source.className}`);
  validators.set(source.specifier, ctor);
  return ctor;
}

/** Schema problems of one object (layer 1); empty when it validates. */
export function validateObject(obj: K8sObject): string[] {
  const source = modelSource(obj.apiVersion, obj.kind);
  if (!source) return [`no schema for apiVersion ${obj.apiVersion}, kind ${obj.kind}`];
  try {
    new (validatorFor(source))(obj).validate();
    return [];
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}

const VIRTUAL_FILE = join(REPO_ROOT, "test/deploy/__rendered_manifests__.ts");

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  skipLibCheck: true,
  types: [],
  lib: ["lib.es2022.d.ts"],
};

/**
 * Layer 2: type-checks each object against its generated TypeScript interface.
 * Returns, per index into `objects`, the compiler's complaints (unknown fields,
 * wrong types, missing required fields).
 */
export function strictCheck(objects: readonly K8sObject[]): Map<number, string[]> {
  const problems = new Map<number, string[]>();
  const add = (index: number, message: string) =>
    problems.set(index, [...(problems.get(index) ?? []), message]);

  const aliases = new Map<string, string>();
  const imports: string[] = [];
  const body: string[] = [];
  const starts: { line: number; index: number }[] = [];
  objects.forEach((obj, index) => {
    const source = modelSource(obj.apiVersion, obj.kind);
    if (!source) {
      add(index, `no schema for apiVersion ${obj.apiVersion}, kind ${obj.kind}`);
      return;
    }
    let alias = aliases.get(source.specifier);
    if (alias === undefined) {
      alias = `T${aliases.size}`;
      aliases.set(source.specifier, alias);
      imports.push(
        `import type { ${source.typeName} as ${alias} } from ${JSON.stringify(source.specifier)};`,
      );
    }
    starts.push({ line: body.length, index });
    body.push(...`export const o${index}: ${alias} = ${JSON.stringify(obj, null, 2)};`.split("\n"));
  });
  const text = [...imports, ...body, ""].join("\n");

  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) =>
    fileName === VIRTUAL_FILE
      ? ts.createSourceFile(fileName, text, languageVersion)
      : getSourceFile(fileName, languageVersion, onError, shouldCreate);
  host.fileExists = (fileName) => fileName === VIRTUAL_FILE || fileExists(fileName);
  host.readFile = (fileName) => (fileName === VIRTUAL_FILE ? text : readFile(fileName));

  const program = ts.createProgram([VIRTUAL_FILE], COMPILER_OPTIONS, host);
  const file = program.getSourceFile(VIRTUAL_FILE);
  if (!file) throw new Error("the TypeScript compiler lost the rendered manifests");
  const diagnostics = [
    ...program.getSyntacticDiagnostics(file),
    ...program.getSemanticDiagnostics(file),
    ...program.getGlobalDiagnostics(),
  ];
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const bodyLine = line - imports.length;
    const owner = [...starts].reverse().find((s) => s.line <= bodyLine);
    if (bodyLine < 0 || owner === undefined) {
      // An import that does not resolve breaks every object: say so on all of them.
      for (const s of starts) add(s.index, `schema import failed: ${message}`);
    } else {
      const where = body[bodyLine - owner.line]?.trim() ?? "";
      add(owner.index, `${message} (at: ${where.slice(0, 80)})`);
    }
  }
  return problems;
}

/** Both layers over a set of objects; one line per problem, naming the object. */
export function validateAll(objects: readonly K8sObject[]): string[] {
  const out: string[] = [];
  for (const obj of objects) {
    for (const p of validateObject(obj)) out.push(`${describeObject(obj)}: ${p}`);
  }
  for (const [i, messages] of strictCheck(objects)) {
    const obj = objects[i];
    for (const m of messages) out.push(`${obj ? describeObject(obj) : `#${i}`}: ${m}`);
  }
  return [...new Set(out)];
}

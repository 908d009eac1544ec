/**
 * The image: its Dockerfile builds with CI's commands on a pinned Node 24, runs
 * unprivileged through the CLI entry point, and that entry point starts.
 * (No Docker engine here: the Dockerfile is checked, the entry point is run directly.)
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { heed } from "./cli.js";
import { execForm, keyValues, parseDockerfile, runs, type Stage } from "./dockerfile.js";
import { containerEnv, mustFindWorkload } from "./k8s.js";
import { FULL_TARGETS, render } from "./render.js";
import { HEED_BIN, REPO_ROOT } from "./repo.js";

const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
const stages = parseDockerfile(dockerfile);
const runtime = stages.at(-1) as Stage;
const rootPackage: unknown = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));

function packageField(field: string): unknown {
  return rootPackage !== null && typeof rootPackage === "object"
    ? Reflect.get(rootPackage, field)
    : undefined;
}

describe("Dockerfile", () => {
  it("is multi-stage, every stage on the same exactly pinned Node 24 slim image", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const bases = new Set(stages.map((s) => s.base));
    expect([...bases]).toHaveLength(1);
    const [base] = [...bases];
    expect(base).toMatch(/^node:24\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/);
    expect(dockerfile).not.toMatch(/:latest\b/);
  });

  it("builds with the commands CI runs (scripts/setup.sh): npm ci, then npx tsc --build", () => {
    const setup = readFileSync(join(REPO_ROOT, "scripts/setup.sh"), "utf8");
    expect(setup).toMatch(/\bnpm ci\b/);
    expect(setup).toMatch(/\bnpx tsc --build\b/);
    const build = stages.find((s) => runs(s).some((r) => /\bnpx tsc --build\b/.test(r)));
    expect(build, "a stage runs npx tsc --build").toBeDefined();
    const buildRuns = build ? runs(build) : [];
    const ci = buildRuns.findIndex((r) => /\bnpm ci\b/.test(r) && !/--omit/.test(r));
    const tsc = buildRuns.findIndex((r) => /\bnpx tsc --build\b/.test(r));
    expect(ci, "the build stage runs a full npm ci").toBeGreaterThanOrEqual(0);
    expect(ci).toBeLessThan(tsc);
  });

  it("installs production dependencies only in the runtime stage, for all workspaces", () => {
    const ci = runs(runtime).find((r) => /\bnpm ci\b/.test(r));
    expect(ci).toMatch(/--omit=dev/);
    // Workspaces are not narrowed (no --workspace flag): every @heed/* link must exist.
    expect(ci).not.toMatch(/--workspace|-w /);
    expect(packageField("workspaces")).toEqual(expect.arrayContaining(["packages/cli"]));
  });

  it("runs as a numeric non-root user, the one the manifests run as", () => {
    const users = runtime.instructions.filter((i) => i.keyword === "USER").map((i) => i.args);
    const user = users.at(-1) ?? "";
    expect(user).toMatch(/^\d+(:\d+)?$/);
    const uid = Number(user.split(":")[0]);
    expect(uid).toBeGreaterThan(0);
    for (const target of FULL_TARGETS) {
      for (const name of ["heed-coordinator", "heed-worker"]) {
        const w = mustFindWorkload(render(target), name);
        expect(w.pod.securityContext?.runAsUser, `${target} ${name}`).toBe(uid);
      }
    }
  });

  it("starts the CLI entry point in exec form, and that file exists", () => {
    const entry = runtime.instructions.filter((i) => i.keyword === "ENTRYPOINT").at(-1);
    const argv = execForm(entry?.args ?? "");
    expect(argv?.[0]).toBe("node");
    const script = argv?.[1] ?? "";
    expect(script).toMatch(/^\/app\//);
    expect(existsSync(join(REPO_ROOT, script.replace(/^\/app\//, "")))).toBe(true);
    expect(join(REPO_ROOT, script.replace(/^\/app\//, ""))).toBe(HEED_BIN);
  });

  it("has a HEALTHCHECK that needs no curl or wget (node fetches /livez)", () => {
    const hc = runtime.instructions.find((i) => i.keyword === "HEALTHCHECK");
    expect(hc?.args).toMatch(/CMD \["node", "-e"/);
    expect(hc?.args).toMatch(/\/livez/);
    for (const s of stages) for (const r of runs(s)) expect(r).not.toMatch(/\b(curl|wget)\b/);
  });

  it("exposes the ports and data directory the manifests use", () => {
    const exposed = runtime.instructions
      .filter((i) => i.keyword === "EXPOSE")
      .flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.replace(/\/tcp$/, ""))));
    expect(exposed).toEqual(expect.arrayContaining([7400, 9464]));
    const env = keyValues(runtime, "ENV");
    for (const target of FULL_TARGETS) {
      const objects = render(target);
      const [c] = mustFindWorkload(objects, "heed-coordinator").pod.containers;
      if (!c) throw new Error("no coordinator container");
      expect(containerEnv(c, objects).get("HEED_DATA_DIR"), target).toBe(env.get("HEED_DATA_DIR"));
    }
  });

  it("carries OCI labels", () => {
    const labels = keyValues(runtime, "LABEL");
    for (const key of ["title", "description", "version", "revision", "licenses", "base.name"]) {
      expect(labels.get(`org.opencontainers.image.${key}`), key).toBeTruthy();
    }
    expect(labels.get("org.opencontainers.image.licenses")).toBe(packageField("license"));
    expect(labels.get("org.opencontainers.image.base.name")).toContain(runtime.base);
  });

  it("copies only paths that exist into the image", () => {
    for (const s of stages) {
      for (const ins of s.instructions.filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from"))) {
        const sources = ins.args.split(/\s+/).slice(0, -1);
        for (const src of sources) expect(existsSync(join(REPO_ROOT, src)), `COPY ${src}`).toBe(true);
      }
    }
    // What the build stage hands over: the CLI's bin/ and the protos (the wire contract).
    expect(dockerfile).toMatch(/cp -r --parents packages\/cli\/bin proto /);
    expect(existsSync(join(REPO_ROOT, "proto"))).toBe(true);
  });
});

describe(".dockerignore", () => {
  const patterns = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));

  it("keeps dependencies, build output and VCS data out of the context", () => {
    expect(patterns).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", ".git"]));
  });

  it("keeps in everything npm ci and tsc --build need", () => {
    const workspaces = packageField("workspaces");
    const needed = [
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "tsconfig.base.json",
      "proto",
      ...(Array.isArray(workspaces) ? workspaces.map(String) : []),
    ];
    expect(needed.length).toBeGreaterThan(5);
    for (const path of needed) {
      const first = path.split("/")[0] ?? path;
      for (const p of patterns) {
        const bare = p.replace(/^\*\*\//, "").replace(/\/$/, "");
        expect(bare === path || bare === first, `.dockerignore "${p}" drops ${path}`).toBe(false);
      }
    }
  });
});

describe("entry points", () => {
  it.each(["coordinator", "worker"])("`heed %s --help` starts and exits 0", (command) => {
    const result = heed(command, "--help");
    expect(result.error).toBeUndefined();
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Usage: heed ${command}`);
  });

  it("heedctl, run from the bin/ the image copies (`--entrypoint node IMAGE packages/cli/bin/heedctl.js`), starts", () => {
    const bin = "packages/cli/bin/heedctl.js";
    expect(dockerfile).toContain(bin);
    const result = spawnSync(process.execPath, [bin, "--help"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("Usage: heedctl");
  });

  it("`heed --help` lists the commands the manifests run", () => {
    const result = heed("--help");
    expect(result.status, result.stderr).toBe(0);
    for (const command of ["coordinator", "worker"])
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
  });
});

/** Just enough Dockerfile parsing to check the image's build against CI's. */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

/** Joins continuation lines, drops comments and blank lines, splits into stages. */
export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === "" && (line.trim() === "" || line.trim().startsWith("#"))) return;
    if (pending !== "" && line.trim().startsWith("#")) return; // comments inside continuations
    if (pending === "") start = i + 1;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = "";
    const m = /^(\S+)\s*(.*)$/s.exec(full);
    if (m?.[1]) instructions.push({ keyword: m[1].toUpperCase(), args: (m[2] ?? "").trim(), line: start });
  });
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m?.[1]) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ base: m[1], ...(m[2] ? { name: m[2] } : {}), instructions: [] });
    } else {
      const current = stages.at(-1);
      if (current) current.instructions.push(ins);
      else if (ins.keyword !== "ARG") throw new Error(`line ${ins.line}: ${ins.keyword} before FROM`);
    }
  }
  return stages;
}

export const runs = (stage: Stage): string[] =>
  stage.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);

/** Exec-form (JSON array) arguments of an instruction, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((x) => typeof x === "string") ? parsed : undefined;
}

/** key=value pairs of LABEL or ENV instructions (quoted values unquoted). */
export function keyValues(stage: Stage, keyword: "LABEL" | "ENV"): Map<string, string> {
  const out = new Map<string, string>();
  for (const ins of stage.instructions.filter((i) => i.keyword === keyword)) {
    for (const m of ins.args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
      const value = m[2] ?? "";
      out.set(m[1] ?? "", value.startsWith('"') ? (JSON.parse(value) as string) : value);
    }
  }
  return out;
}

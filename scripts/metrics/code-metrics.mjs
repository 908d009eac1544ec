// Structure figures for the coordinator: the largest functions, and which files write to LMDB.
// Usage: node scripts/metrics/code-metrics.mjs [srcDir]
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

const root = process.argv[2] ?? "services/coordinator/src";
const files = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) files.push(p);
  }
};
walk(root);

const fns = [];
const writers = new Map();
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      let name = node.name?.getText(sf);
      if (name === undefined && ts.isVariableDeclaration(node.parent)) name = node.parent.name.getText(sf);
      if (name === undefined && ts.isPropertyAssignment(node.parent)) name = node.parent.name.getText(sf);
      fns.push({
        where: `${relative(root, file)}:${start + 1}`,
        name: name ?? "(anonymous)",
        lines: end - start + 1,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const writes = text
    .match(/\.(putSync|removeSync|put|remove|transactionSync)\(/g)
    ?.filter((m) => !m.startsWith(".transactionSync"));
  if (writes?.length) writers.set(relative(root, file), writes.length);
}
fns.sort((a, b) => b.lines - a.lines);
console.log("largest functions (lines):");
for (const f of fns.slice(0, 5)) console.log(`  ${f.lines}\t${f.name}\t${f.where}`);
console.log("files calling LMDB put/remove:");
for (const [f, n] of [...writers].sort()) console.log(`  ${n}\t${f}`);

// Import cycles between the files (type-only imports included: they are still a dependency of meaning).
const graph = new Map();
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const deps = [...text.matchAll(/import\s+(?:type\s+)?[^;]*?from\s+"(\.[^"]+)"/gs)].map((m) =>
    join(file, "..", m[1]).replace(/\.js$/, ".ts"),
  );
  graph.set(file, deps);
}
const cycles = new Set();
const visit = (node, stack) => {
  for (const d of graph.get(node) ?? []) {
    const at = stack.indexOf(d);
    if (at >= 0)
      cycles.add(
        stack
          .slice(at)
          .map((f) => relative(root, f))
          .sort()
          .join(" <-> "),
      );
    else if (stack.length < 12) visit(d, [...stack, d]);
  }
};
for (const f of files) visit(f, [f]);
console.log(`import cycles: ${cycles.size}`);
for (const c of cycles) console.log(`  ${c}`);

import { readFileSync } from "node:fs";

/**
 * `node bench/dist/profile-top.js FILE.cpuprofile [N]`: the N functions with
 * the most self time in a `--cpu-prof` profile, as a share of the samples,
 * so profiles taken on a loaded machine compare by proportion.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, n] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: profile-top FILE.cpuprofile [N]\n");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
let total = 0;
/**
 * A sample this far after the one before is a process that did not run meanwhile (the politeness
 * benches stop their workers with SIGSTOP): its gap is not time spent in whatever was on the stack.
 */
const PAUSED_US = 1_000_000;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  if (dt > PAUSED_US) return;
  const frame = byId.get(id)?.callFrame;
  if (!frame) return;
  const where = frame.url
    ? ` ${frame.url.replace(/^.*node_modules\//, "").replace(/^.*\/(src|dist)\//, "$1/")}:${frame.lineNumber + 1}`
    : "";
  const key = `${frame.functionName || "(anonymous)"}${where}`;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
});
const idle = self.get("(idle)") ?? 0;
process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(2)} s sampled, ${((total - idle) / 1e6).toFixed(2)} s busy\n`,
);
process.stdout.on("error", () => undefined);
for (const [key, us] of [...self]
  .filter(([k]) => k !== "(idle)")
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(n ?? 15)))
  process.stdout.write(`${((us / (total - idle)) * 100).toFixed(1).padStart(5)} %  ${key}\n`);

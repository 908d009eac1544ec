// Which coordinator files one lease request runs through: a real nats-server, a real
// LMDB frontier, and V8's precise coverage taken around one request (setup excluded).
// Usage: node scripts/metrics/lease-path.mjs   (after `npx tsc --build`)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../../services/coordinator/dist/", import.meta.url));
const { openFrontier } = await import(`${dist}index.js`);
const { serveLeases } = await import(`${dist}leases/responder.js`);
const { proto, silentLogger } = await import("@heed/shared");
const { connect } = await import("nats");

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const nats = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
const dir = mkdtempSync(join(tmpdir(), "heed-lease-path-"));
let now = 1_000_000;
const frontier = openFrontier({
  dataDir: dir,
  settings: { leaseMarginMs: 1000, leaseTtlMs: 60_000, maxWaitHintMs: 250 },
  log: silentLogger(),
  clock: () => now,
});
let nc;
for (let i = 0; i < 50 && nc === undefined; i++) {
  nc = await connect({ servers: `127.0.0.1:${port}` }).catch(() => sleep(100));
}
const sub = serveLeases(nc, "heed.leases", frontier, silentLogger());
const ask = async () =>
  proto.LeaseBatch.decode(
    (await nc.request("heed.leases", proto.LeaseRequest.encode({ workerId: "w1", capacity: 1 }).finish()))
      .data,
  );
frontier.createCrawl({
  seeds: ["http://a.example/", "http://a.example/2"],
  userAgent: { product: "HeedBot", contact: "ops@example.org" },
});
const robots = (await ask()).leases[0];
await frontier.report("w1", [
  proto.FetchResult.fromPartial({
    leaseId: robots.id,
    statusCode: 200,
    robotsBody: "User-agent: *\nAllow: /\n",
    startedAtMs: now,
    finishedAtMs: now,
  }),
]);
now += 10_000;

const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.startPreciseCoverage", { callCount: true, detailed: false });
await session.post("Profiler.takePreciseCoverage"); // resets the counters
const reply = await ask();
const { result } = await session.post("Profiler.takePreciseCoverage");
await session.post("Profiler.stopPreciseCoverage");
if (reply.leases.length !== 1) throw new Error(`expected one lease, got ${reply.leases.length}`);

const files = new Map();
for (const script of result) {
  if (!script.url.startsWith(`file://${dist}`)) continue;
  const called = script.functions.filter((f) => f.ranges[0].count > 0 && f.functionName !== "");
  if (called.length === 0) continue;
  files.set(
    script.url.slice(`file://${dist}`.length),
    called.map((f) => f.functionName),
  );
}
console.log(
  `one lease request crosses ${files.size} coordinator files, ${[...files.values()].flat().length} named functions:`,
);
for (const [f, names] of [...files].sort()) console.log(`  ${f}: ${[...new Set(names)].join(", ")}`);
sub.unsubscribe();
await nc.close();
nats.kill();
await frontier.close();
rmSync(dir, { recursive: true, force: true });

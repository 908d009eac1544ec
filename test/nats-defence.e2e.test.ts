/**
 * Defence in depth on a NATS anyone can publish on (no NATS credentials at
 * all): the worker token and the coordinator's signature still decide who gets
 * leases, who can drain workers, who shows up as a worker, and whose leases a
 * worker acts on.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Coordinator, startCoordinator, waitForCrawl } from "@heed/coordinator";
import {
  coordinatorConfigSchema,
  DRAIN_SUBJECT,
  HEARTBEAT_SUBJECT,
  parseConfig,
  proto,
  sleep,
  workerConfigSchema,
} from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { startWorker, type Worker } from "@heed/worker";
import { connect, type NatsConnection } from "nats";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawlSpec } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";

// Loopback address of this file: .230.
const WORKER_TOKEN = "worker-secret-token-0123456789";
const LEASES = "heed.lease.request";
const PAGES = 6;

const scratch = mkdtempSync(join(tmpdir(), "heed-defence-"));
const tokenFile = join(scratch, "worker-token");
const logLines: string[] = [];
const log = pino(
  { level: "warn" },
  new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  }),
);

let nats: NatsServerHandle;
let coordinator: Coordinator;
let worker: Worker;
let site: TinySite;
let attacker: NatsConnection;

async function metric(name: string, kind: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${coordinator.httpPort}/metrics`);
  const m = new RegExp(`^${name}\\{kind="${kind}"\\} (\\d+)`, "m").exec(await res.text());
  return Number(m?.[1] ?? 0);
}

beforeAll(async () => {
  writeFileSync(tokenFile, `${WORKER_TOKEN}\n`);
  nats = await startNatsServer();
  site = await startTinySite("127.0.0.230", (req, res) => {
    if (req.url === "/robots.txt") return res.writeHead(404).end();
    const n = Number(/\/p(\d+)/.exec(req.url ?? "")?.[1] ?? 0);
    const next = n + 1 < PAGES ? `<a href="/p${n + 1}">next</a>` : "";
    res.writeHead(200, { "content-type": "text/html" }).end(`<html><body>${next}</body></html>`);
  });
  coordinator = await startCoordinator(
    parseConfig(coordinatorConfigSchema, {
      dataDir: join(scratch, "data"),
      natsUrl: nats.url,
      grpcListen: "127.0.0.1:0",
      httpListen: "127.0.0.1:0",
      workerTokenFile: tokenFile,
      leaseMarginMs: 1000,
      drainTimeoutMs: 500,
      sweepIntervalMs: 50,
      maxWaitHintMs: 50,
    }),
    log,
  );
  attacker = await connect({ servers: nats.url });
});

afterAll(async () => {
  await attacker?.close();
  await worker?.stop(1000);
  await coordinator?.close();
  await nats?.stop();
  await site?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("control messages on an open NATS", () => {
  it("gives no lease to a request without the worker token's proof, and logs a flood of them only a few times", async () => {
    const crawl = coordinator.frontier.createCrawl(crawlSpec([`${site.origin}/p0`], { id: "defence" }));
    const ask = proto.LeaseRequest.encode({
      workerId: "thief",
      capacity: 10,
      workerVersion: "x",
      requestId: "",
      sentAtMs: Date.now(),
      waitMs: 0,
    }).finish();
    const answer = proto.LeaseBatch.decode((await attacker.request(LEASES, ask, { timeout: 2000 })).data);
    expect(answer.leases).toEqual([]);
    const before = logLines.length;
    await Promise.all(
      Array.from({ length: 500 }, () =>
        attacker.request(LEASES, new Uint8Array([0xff, 0x01]), { timeout: 5000 }),
      ),
    );
    expect(await metric("heed_control_messages_refused_total", "lease-request-proof")).toBe(501);
    // Five lines per kind per ten seconds, however many requests came.
    expect(logLines.length - before).toBeLessThanOrEqual(5);
    expect(coordinator.frontier.crawl(crawl.id)?.counts.leased ?? 0).toBe(0);
  });

  it("keeps a forged heartbeat off the worker list", async () => {
    const forged = proto.WorkerHeartbeat.encode(
      proto.WorkerHeartbeat.fromPartial({
        workerId: "planted",
        state: proto.WorkerState.WORKER_STATE_RUNNING,
        intervalMs: 10_000,
        sentAtMs: Date.now(),
        hostname: "\x1b[2J\x07evil",
      }),
    ).finish();
    attacker.publish(HEARTBEAT_SUBJECT, forged);
    await attacker.flush();
    await sleep(200);
    expect(coordinator.workers.list(Date.now()).map((w) => w.heartbeat.workerId)).not.toContain("planted");
    expect(await metric("heed_control_messages_refused_total", "heartbeat-proof")).toBe(1);
  });

  it("lets a real worker crawl while an unsigned drain and a rogue lease server are ignored", async () => {
    // A rogue member of the coordinators' queue group, answering with a lease of its own.
    const rogue = attacker.subscribe(LEASES, {
      queue: "heed-coordinators",
      callback: (_err, msg) => {
        const lease = proto.Lease.fromPartial({
          id: `rogue-${Math.random()}`,
          crawlId: "defence",
          url: `${site.origin}/rogue`,
          hostKey: "127.0.0.230",
          kind: proto.LeaseKind.LEASE_KIND_PAGE,
          issuedAtMs: Date.now(),
          notBeforeMs: Date.now(),
          expiresAtMs: Date.now() + 60_000,
          limits: { timeoutMs: 5000, maxBytes: 100_000, maxRedirects: 0, maxOutlinks: 10 },
          userAgent: "Rogue",
          allowPrivateAddresses: true,
        });
        msg.respond(proto.LeaseBatch.encode({ leases: [lease], retryAfterMs: 0, waited: false }).finish());
      },
    });
    worker = await startWorker(
      parseConfig(workerConfigSchema, {
        natsUrl: nats.url,
        coordinator: `127.0.0.1:${coordinator.grpcPort}`,
        tokenFile,
        allowPrivateAddresses: true,
        reportFlushMs: 5,
        idlePollMaxMs: 50,
        heartbeatMs: 200,
      }),
      log,
    );
    // An unsigned drain for every worker, and one with a stolen-looking body but no signature.
    attacker.publish(DRAIN_SUBJECT, new Uint8Array());
    attacker.publish(
      DRAIN_SUBJECT,
      proto.WorkerDrain.encode({ workerId: "", sentAtMs: Date.now() }).finish(),
    );
    await attacker.flush();
    const final = await waitForCrawl(coordinator.frontier, "defence", { timeoutMs: 30_000, pollMs: 50 });
    rogue.unsubscribe();
    expect(final.counts.done).toBe(PAGES);
    expect(site.requests.map((r) => r.path)).not.toContain("/rogue");
    // The real worker is listed (its heartbeats carry the proof) and still running.
    expect(coordinator.workers.list(Date.now()).map((w) => w.heartbeat.workerId)).toContain(worker.id);
    const state = await Promise.race([worker.done.then(() => "stopped"), sleep(300).then(() => "running")]);
    expect(state).toBe("running");
  });

  it("drains the worker on the coordinator's signed drain", async () => {
    const admin = new proto.AdminServiceClient(
      `127.0.0.1:${coordinator.grpcPort}`,
      (await import("@grpc/grpc-js")).credentials.createInsecure(),
    );
    await new Promise<void>((resolve, reject) =>
      admin.drainWorkers({ workerId: "", all: true }, (err) => (err ? reject(err) : resolve())),
    );
    admin.close();
    const state = await Promise.race([worker.done.then(() => "stopped"), sleep(5000).then(() => "running")]);
    expect(state).toBe("stopped");
  });
});

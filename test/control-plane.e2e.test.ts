import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Coordinator, startCoordinator } from "@heed/coordinator";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { coordinatorConfigSchema, parseConfig, sleep, workerConfigSchema } from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { startWorker, type Worker } from "@heed/worker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TEST_UA, testLogger } from "./harness/cluster.js";
import { freePort } from "./harness/ports.js";
import { exited, runHeed, runHeedctl, spawnHeed } from "./harness/processes.js";
import { makeCertificates, type TestCertificates } from "./harness/tls.js";

// Loopback addresses of this file: .220-.222.
const NATS_TOKEN = "nats-secret-token-0123456789";
const ADMIN_TOKEN = "admin-secret-token-0123456789";
const WORKER_TOKEN = "worker-secret-token-0123456789";

const scratch = mkdtempSync(join(tmpdir(), "heed-control-"));
let certs: TestCertificates;
const natsTokenFile = join(scratch, "nats-token");
const workerTokenFile = join(scratch, "worker-token");

beforeAll(() => {
  certs = makeCertificates(scratch);
  writeFileSync(natsTokenFile, `${NATS_TOKEN}\n`);
  writeFileSync(workerTokenFile, `${WORKER_TOKEN}\n`);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

function coordinatorConfig(over: Record<string, unknown>) {
  return parseConfig(coordinatorConfigSchema, {
    dataDir: mkdtempSync(join(scratch, "data-")),
    grpcListen: "127.0.0.1:0",
    leaseMarginMs: 1000,
    drainTimeoutMs: 500,
    sweepIntervalMs: 50,
    maxWaitHintMs: 50,
    ...over,
  });
}

async function nats(options: Parameters<typeof startNatsServer>[0] = {}): Promise<NatsServerHandle> {
  const n = await startNatsServer(options);
  cleanup.push(() => n.stop());
  return n;
}

describe("gRPC with TLS and client certificates", () => {
  it("runs a crawl whose worker reports over mTLS, driven by heedctl over mTLS; plaintext and certificate-less clients are refused", async () => {
    const n = await nats({ args: ["--auth", NATS_TOKEN] });
    const site: LoopbackSite = await startLoopbackSite({ hosts: defaultPlan(2, 3, 0), firstOctet: 220 });
    cleanup.push(() => site.close());
    const tls = { grpcCertFile: certs.serverCert, grpcKeyFile: certs.serverKey, grpcCaFile: certs.ca };
    // The NATS token travels inside the URL here: nats.js would ignore it there, Heed must not.
    const coordinator: Coordinator = await startCoordinator(
      coordinatorConfig({ natsUrl: `nats://${NATS_TOKEN}@127.0.0.1:${n.port}`, ...tls }),
      testLogger(),
    );
    cleanup.push(() => coordinator.close());
    const server = `127.0.0.1:${coordinator.grpcPort}`;
    const worker: Worker = await startWorker(
      parseConfig(workerConfigSchema, {
        natsUrl: n.url,
        natsTokenFile,
        coordinator: server,
        grpcCaFile: certs.ca,
        grpcCertFile: certs.clientCert,
        grpcKeyFile: certs.clientKey,
        allowPrivateAddresses: true,
        reportFlushMs: 5,
        idlePollMaxMs: 50,
        heartbeatMs: 200,
      }),
      testLogger(),
    );
    cleanup.push(() => worker.stop(2000));

    const env = { HEED_SERVER: server, XDG_CONFIG_HOME: scratch, HEED_TOKEN: "" };
    const mtls = ["--ca-file", certs.ca, "--cert-file", certs.clientCert, "--key-file", certs.clientKey];
    const created = await runHeedctl(
      [
        ...mtls,
        "crawl",
        "create",
        ...site.seeds(),
        "--id",
        "over-tls",
        "--contact",
        TEST_UA.contact,
        "--allow-private-addresses",
        "--min-delay-ms",
        "20",
      ],
      { env },
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const watched = await runHeedctl([...mtls, "watch", "over-tls", "--interval-ms", "100"], {
      env,
      timeoutMs: 60_000,
    });
    expect(watched.code).toBe(0);
    const crawl = coordinator.frontier.crawl("over-tls");
    expect(crawl?.state).toBe("finished");
    expect(crawl?.counts.done).toBe(site.expectedPages(5).size);
    expect(coordinator.workers.has(worker.id, Date.now())).toBe(true);

    const noClientCert = await runHeedctl(["--ca-file", certs.ca, "crawl", "list"], { env });
    expect(noClientCert.code).toBe(3);
    const plaintext = await runHeedctl(["crawl", "list"], { env });
    expect(plaintext.code).toBe(3);
    expect(plaintext.stderr).toMatch(/UNAVAILABLE/);
  }, 60_000);
});

describe("NATS credentials and TLS", () => {
  it("connects to a TLS-only NATS server trusting the given CA, and fails without it", async () => {
    const n = await nats({
      args: ["--tls", "--tlscert", certs.serverCert, "--tlskey", certs.serverKey],
      scheme: "tls",
    });
    const coordinator = await startCoordinator(
      coordinatorConfig({ natsUrl: n.url, natsCaFile: certs.ca }),
      testLogger(),
    );
    await coordinator.close();
    await expect(startCoordinator(coordinatorConfig({ natsUrl: n.url }), testLogger())).rejects.toThrow(
      /cannot reach NATS at tls:\/\/127\.0\.0\.1/,
    );
  });

  it("never logs a secret, even at trace level, and a token in the NATS URL works", async () => {
    const n = await nats({ args: ["--auth", NATS_TOKEN] });
    const grpcPort = await freePort();
    const dataDir = mkdtempSync(join(scratch, "logs-"));
    const coordinator = spawnHeed(
      [
        "coordinator",
        "--data-dir",
        dataDir,
        "--grpc-listen",
        `127.0.0.1:${grpcPort}`,
        "--worker-token-file",
        workerTokenFile,
        "--log-level",
        "trace",
      ],
      { env: { HEED_NATS_URL: `nats://${NATS_TOKEN}@127.0.0.1:${n.port}`, HEED_ADMIN_TOKEN: ADMIN_TOKEN } },
    );
    const worker = spawnHeed(
      [
        "worker",
        "--coordinator",
        `127.0.0.1:${grpcPort}`,
        "--nats-url",
        `nats://${NATS_TOKEN}@127.0.0.1:${n.port}`,
        "--heartbeat-ms",
        "200",
        "--log-level",
        "trace",
      ],
      { env: { HEED_WORKER_TOKEN: WORKER_TOKEN } },
    );
    let logs = "";
    for (const c of [coordinator, worker]) {
      c.stderr?.on("data", (d) => {
        logs += d;
      });
      cleanup.push(async () => {
        if (c.exitCode === null) c.kill("SIGKILL");
        await exited(c);
      });
    }
    for (let i = 0; !/coordinator started/.test(logs) || !/worker started/.test(logs); i++) {
      if (i > 300 || coordinator.exitCode !== null) throw new Error(`did not start: ${logs.slice(-2000)}`);
      await sleep(50);
    }
    // Let the worker beat, ask for leases and renew (an authenticated call) a few times.
    await sleep(1500);
    const list = await runHeedctl(["workers", "list", "--json"], {
      env: { HEED_SERVER: `127.0.0.1:${grpcPort}`, HEED_TOKEN: ADMIN_TOKEN, XDG_CONFIG_HOME: scratch },
    });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).workers).toHaveLength(1);
    coordinator.kill("SIGTERM");
    worker.kill("SIGTERM");
    await Promise.all([exited(coordinator), exited(worker)]);
    expect(worker.exitCode).toBe(0);
    expect(coordinator.exitCode).toBe(0);
    expect(logs).toMatch(/"nats":"nats:\/\/\[redacted\]@127\.0\.0\.1:\d+"/);
    for (const secret of [NATS_TOKEN, ADMIN_TOKEN, WORKER_TOKEN]) expect(logs).not.toContain(secret);
  }, 30_000);
});

describe("exposure", () => {
  it("refuses to open the gRPC port beyond loopback without tokens, before anything is written", async () => {
    const dataDir = join(scratch, "never-created");
    const r = await runHeed(["coordinator", "--grpc-listen", "0.0.0.0:0", "--data-dir", dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^heed: grpcListen: 0\.0\.0\.0:0 is not loopback.*--insecure/);
    expect(existsSync(dataDir)).toBe(false);
  });
});

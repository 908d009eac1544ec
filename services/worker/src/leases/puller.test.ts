import { generateKeyPairSync } from "node:crypto";
import { createLimitedWarn, proto, SIGNATURE_HEADER, signControl } from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { connect, headers, type Msg, type NatsConnection } from "nats";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../../../test/harness/until.js";
import { pullLeases } from "./puller.js";
import { createCoordinatorTrust, type MessageTrust } from "./trust.js";

const SUBJECT = "heed.lease.request";
const QUEUE = "heed-coordinators";
const log = pino({ level: "silent" });

let nats: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

function batchOf(id: string, fields: Partial<proto.Lease> = {}): Uint8Array {
  const now = Date.now();
  const lease = proto.Lease.fromPartial({
    id,
    crawlId: "c",
    url: "http://127.0.0.1:9/p",
    hostKey: "127.0.0.1",
    kind: proto.LeaseKind.LEASE_KIND_PAGE,
    issuedAtMs: now,
    notBeforeMs: now,
    expiresAtMs: now + 60_000,
    ...fields,
  });
  return proto.LeaseBatch.encode({ leases: [lease], retryAfterMs: 0, waited: false }).finish();
}

/** A coordinator's signing key: the worker's trust in it, and its signed answer to a lease request. */
function signingCoordinator(): { trust: MessageTrust; answer: (msg: Msg, data: Uint8Array) => void } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const der = publicKey.export({ format: "der", type: "spki" });
  const trust = createCoordinatorTrust(async () => trust.learn(der), log);
  const answer = (msg: Msg, data: Uint8Array) => {
    const h = headers();
    h.set(SIGNATURE_HEADER, signControl(privateKey, "lease-batch", msg.reply ?? "", data));
    msg.respond(data, { headers: h });
  };
  return { trust, answer };
}

/** A worker's puller asking until its first lease is taken (within `timeoutMs`), then stopped: the leases it took. */
async function pullFirst(trust: MessageTrust, workerId: string, timeoutMs: number): Promise<proto.Lease[]> {
  const got: proto.Lease[] = [];
  const stop = new AbortController();
  const puller = pullLeases({
    nc,
    subject: SUBJECT,
    workerId,
    workerVersion: "test",
    requestTimeoutMs: 2000,
    idlePollMaxMs: 1000,
    capacity: () => (got.length === 0 ? 4 : 0),
    onLease: (lease) => got.push(lease),
    signal: stop.signal,
    log,
    trust,
    warn: createLimitedWarn(log, () => {}),
  });
  try {
    await until("a lease", () => (got.length > 0 ? true : undefined), timeoutMs);
  } finally {
    stop.abort();
    await puller.done;
  }
  return got;
}

describe("lease puller facing a rogue answerer", () => {
  it("keeps asking at the idle pause, neither faster nor slower, until the coordinator's signed lease comes", async () => {
    const { trust, answer } = signingCoordinator();
    const ROGUE_ANSWERS = 6;
    const rogueAt: number[] = [];
    // The rogue is the queue group's only member for its first answers; then it leaves and the
    // coordinator joins, so which member answers is decided by the test, not by chance.
    const rogue = nc.subscribe(SUBJECT, {
      queue: QUEUE,
      max: ROGUE_ANSWERS,
      callback: async (_err, msg) => {
        rogueAt.push(Date.now());
        if (rogueAt.length === ROGUE_ANSWERS) {
          nc.subscribe(SUBJECT, { queue: QUEUE, max: 1, callback: (_e, m) => answer(m, batchOf("real-1")) });
          await nc.flush();
        }
        msg.respond(batchOf(`rogue-${rogueAt.length}`));
      },
    });
    const started = Date.now();
    let leases: proto.Lease[];
    try {
      leases = await pullFirst(trust, "w1", 12_000);
    } finally {
      rogue.unsubscribe();
    }
    const tookMs = Date.now() - started;
    expect(leases.map((l) => l.id)).toEqual(["real-1"]);
    expect(rogueAt).toHaveLength(ROGUE_ANSWERS);
    // Each unsigned answer costs one idle pause (100 ms here): no back-off that grows with each
    // (that took at least 8.7 s for six answers), and no asking again at once either.
    expect((rogueAt.at(-1) ?? 0) - (rogueAt[0] ?? 0)).toBeGreaterThanOrEqual((ROGUE_ANSWERS - 1) * 90);
    expect(tookMs).toBeLessThan(4000);
  });
});

describe("lease puller with a lease issued ahead of its host's due time", () => {
  it("starts it no sooner than its start-after from receipt, whatever the clocks say", async () => {
    const { trust, answer } = signingCoordinator();
    let answeredAt = 0;
    // A coordinator whose clock runs 5 s behind the worker's: its notBeforeMs alone is long past here.
    const coordinator = nc.subscribe(SUBJECT, {
      queue: QUEUE,
      max: 1,
      callback: (_e, msg) => {
        const behind = Date.now() - 5000;
        answer(msg, batchOf("ahead-1", { issuedAtMs: behind, notBeforeMs: behind + 300, startAfterMs: 300 }));
        // The worker reads the answer on a later turn of this process's event loop: after this.
        answeredAt = Date.now();
      },
    });
    let got: proto.Lease[];
    try {
      got = await pullFirst(trust, "w2", 5000);
    } finally {
      coordinator.unsubscribe();
    }
    const lease = got[0] as proto.Lease;
    // The fetch waits until notBeforeMs: now at least 300 ms after the answer left, by the worker's clock.
    expect(lease.notBeforeMs).toBeGreaterThanOrEqual(answeredAt + 300);
    expect(lease.notBeforeMs).toBeLessThanOrEqual(Date.now() + 300);
  });
});

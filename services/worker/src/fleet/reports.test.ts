import { credentials } from "@grpc/grpc-js";
import { proto } from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { connect, type NatsConnection } from "nats";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../../../test/harness/until.js";
import { createShardReporters, type ShardReporters } from "./reports.js";
import { type ShardStandIn, startShardStandIn } from "./testing/shard-stand-in.js";

let nats: NatsServerHandle;
let nc: NatsConnection;
const open: ShardReporters[] = [];
const log = pino({ level: "silent" });

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  for (const r of open) r.close();
  await nc?.close();
  await nats?.stop();
});

function reporters(held: Set<string> = new Set()): ShardReporters {
  const r = createShardReporters({
    workerId: "w1",
    batchMax: 16,
    flushMs: 5,
    bufferMax: 100,
    log,
    credentials: credentials.createInsecure(),
    onRefused: (details) => {
      throw new Error(`refused: ${details}`);
    },
    holds: (shardId) => held.has(shardId),
  });
  open.push(r);
  return r;
}

const result = (leaseId: string, fields: Partial<proto.FetchResult> = {}) =>
  proto.FetchResult.fromPartial({ leaseId, statusCode: 200, ...fields });

const ids = (s: ShardStandIn) => s.reports.map((r) => `${r.leaseId}${r.requestEnded ? " (ended)" : ""}`);

describe("report routing by lease id", () => {
  it("sends each result, both phases, and each renewal to the shard its lease id names", async () => {
    const [a, b] = await Promise.all([startShardStandIn(nc, "ra"), startShardStandIn(nc, "rb")]);
    const r = reporters();
    await r.sync([a.member, b.member]);
    r.submit(result("ra~1", { requestEnded: true }));
    r.submit(result("rb~1"));
    r.submit(result("ra~1"));
    r.submit(result("rb~2"));
    await until(
      "every result delivered",
      () => (r.pending === 0 && a.reports.length + b.reports.length === 4) || undefined,
      5000,
    );
    expect(ids(a)).toEqual(["ra~1 (ended)", "ra~1"]);
    expect(ids(b)).toEqual(["rb~1", "rb~2"]);
    const acks = await r.renew(["ra~7", "rb~8", "rb~9"]);
    expect(acks.map((x) => x.leaseId).sort()).toEqual(["ra~7", "rb~8", "rb~9"]);
    await a.stop();
    await b.stop();
  });

  it("keeps a down shard's results queued while the others' flow, and delivers them when it is back", async () => {
    const [a, b] = await Promise.all([startShardStandIn(nc, "qa"), startShardStandIn(nc, "qb")]);
    const r = reporters();
    await r.sync([a.member, b.member]);
    await b.stop();
    r.submit(result("qb~1"));
    r.submit(result("qa~1"));
    await until("qb blocked", () => r.blocked("qb") || undefined, 5000);
    for (let i = 2; i <= 5; i++) r.submit(result(`qa~${i}`));
    await until("qa's five results", () => (a.reports.length === 5 && r.pending === 1) || undefined, 5000);
    expect(r.blocked("qa")).toBe(false);
    expect(r.pending).toBe(1);
    // Renewals at the shard that is up are granted although another is down.
    expect((await r.renew(["qa~9", "qb~9"])).map((x) => x.leaseId)).toEqual(["qa~9"]);
    await b.restart();
    await until("qb's queued result", () => b.reports.length === 1 || undefined, 10_000);
    expect(ids(b)).toEqual(["qb~1"]);
    await until("qb unblocked", () => !r.blocked("qb") || undefined, 5000);
    await a.stop();
    await b.stop();
  });

  it("moves a shard's queued results to its new address, and closes a departed shard's client only once they are sent", async () => {
    const a = await startShardStandIn(nc, "ma");
    const r = reporters();
    await r.sync([a.member]);
    await a.stop();
    r.submit(result("ma~1"));
    r.submit(result("ma~2"));
    await until("ma blocked", () => r.blocked("ma") || undefined, 5000);
    // The shard's member record expires while it is down: its results wait all the same.
    await r.sync([]);
    expect(r.shards()).toEqual(["ma"]);
    // It comes back elsewhere (a new pod address).
    const moved = await startShardStandIn(nc, "ma");
    await r.sync([moved.member]);
    await until(
      "the moved results",
      () => (moved.reports.length === 2 && r.pending === 0) || undefined,
      10_000,
    );
    expect(ids(moved)).toEqual(["ma~1", "ma~2"]);
    expect(a.reports).toEqual([]);
    await r.sync([]);
    expect(r.shards()).toEqual([]);
    await moved.stop();
  });
});

/**
 * A worker in a sharded fleet, against a real nats-server with JetStream and
 * shard stand-ins (real NATS lease responders, real gRPC Frontier servers):
 * it finds the shards in the members bucket, leases from each on its own
 * subject, sends every result to the shard that issued the lease, refuses
 * leases it cannot verify, and keeps working for the others while one shard
 * is down, whose results it delivers when it is back.
 */
// Loopback addresses of this file: .190-.193.

import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import {
  encodeShardMap,
  encodeShardMember,
  evenMap,
  MAP_KEY,
  openMapBucket,
  openMembersBucket,
  parseConfig,
  type proto,
  sleep,
  workerConfigSchema,
} from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { startWorker, type Worker } from "@heed/worker";
import { connect, type KV, type NatsConnection } from "nats";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ShardStandIn, startShardStandIn } from "../services/worker/src/fleet/testing/shard-stand-in.js";
import { startTinySite, type TinySite } from "./harness/http.js";
import { until } from "./harness/until.js";

const scratch = mkdtempSync(join(tmpdir(), "heed-shard-worker-"));
const logLines: string[] = [];
const log = pino(
  { level: "info" },
  new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  }),
);

let nats: NatsServerHandle;
let nc: NatsConnection;
let members: KV;
let worker: Worker | undefined;
const sites: TinySite[] = [];
/** One loopback host per shard (s1's slow), and one for the leases that must never be fetched. */
let a: TinySite;
let b: TinySite;
let c: TinySite;
let forged: TinySite;
const shards: Record<string, ShardStandIn> = {};

/** Every result a shard took, by lease id: which phases arrived. */
function phases(shard: ShardStandIn): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of shard.reports)
    out.set(r.leaseId, [...(out.get(r.leaseId) ?? []), r.requestEnded ? "ended" : "final"]);
  return out;
}

/** Whether every lease the shard issued has both phases reported to it, and nothing else was. */
function allReported(shard: ShardStandIn): boolean {
  const got = phases(shard);
  return (
    shard.issued.length > 0 &&
    got.size === shard.issued.length &&
    shard.issued.every((l: proto.Lease) => got.get(l.id)?.join(",") === "ended,final")
  );
}

/** A loopback host whose pages answer after `delayMs`, or after 1.5 s for /late pages. */
async function site(address: string, delayMs = 0): Promise<TinySite> {
  const s = await startTinySite(address, (req, res) => {
    setTimeout(
      () => res.writeHead(200, { "content-type": "text/html" }).end("<html><body>page</body></html>"),
      req.url?.startsWith("/late") ? 1500 : delayMs,
    );
  });
  sites.push(s);
  return s;
}

const pages = (s: TinySite, prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${s.origin}/${prefix}${i}`);

beforeAll(async () => {
  [a, b, c, forged] = await Promise.all([
    site("127.0.0.190"),
    site("127.0.0.191", 300),
    site("127.0.0.192"),
    site("127.0.0.193"),
  ]);
  nats = await startNatsServer({ jetstream: true });
  nc = await connect({ servers: nats.url });
  // The buckets a sharded fleet keeps; a long TTL, so a stopped shard stays listed (the harder case).
  members = await openMembersBucket(nc, 60_000);
  await (await openMapBucket(nc)).create(MAP_KEY, encodeShardMap(evenMap(["s0", "s1", "s2"])));
  for (const id of ["s0", "s1", "s2"]) shards[id] = await startShardStandIn(nc, id);
  // Two shards whose leases must never be fetched: one signs with a key other than its record's,
  // one hands out leases naming another shard.
  shards.s3 = await startShardStandIn(nc, "s3", { signWith: generateKeyPairSync("ed25519").privateKey });
  shards.s4 = await startShardStandIn(nc, "s4", { leaseIdShard: "s0" });
  for (const s of Object.values(shards)) await members.put(s.member.shardId, encodeShardMember(s.member));
});

afterAll(async () => {
  await worker?.stop(1000);
  for (const s of Object.values(shards)) await s.stop();
  await nc?.close();
  await nats?.stop();
  for (const s of sites) await s.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("a worker in a sharded fleet", () => {
  it("leases from every shard, reports each result to its issuing shard and refuses leases it cannot verify", async () => {
    shards.s0?.offer(pages(a, "a", 6));
    shards.s1?.offer(pages(b, "b", 6));
    shards.s2?.offer(pages(c, "c", 6));
    shards.s3?.offer(pages(forged, "forged", 3));
    shards.s4?.offer(pages(forged, "foreign", 3));
    worker = await startWorker(
      parseConfig(workerConfigSchema, {
        id: "fleet-worker",
        natsUrl: nats.url,
        // Found, not configured: the members bucket lists live shards.
        shards: "auto",
        coordinator: "127.0.0.1:1",
        concurrency: 4,
        allowPrivateAddresses: true,
        warcDir: join(scratch, "warc"),
        idlePollMaxMs: 100,
        reportFlushMs: 5,
      }),
      log,
    );
    const [s0, s1, s2, s3, s4] = ["s0", "s1", "s2", "s3", "s4"].map((id) => shards[id] as ShardStandIn);
    if (!s0 || !s1 || !s2 || !s3 || !s4) throw new Error("stand-ins missing");
    await until(
      "every shard's leases reported",
      () => [s0, s1, s2].every((s) => s.issued.length === 6 && allReported(s)) || undefined,
      20_000,
    );
    // Each shard got exactly the results of its own leases, both phases.
    for (const s of [s0, s1, s2]) {
      expect([...phases(s).keys()].sort()).toEqual(s.issued.map((l) => l.id).sort());
    }
    // The forgers were asked and answered, but nothing they handed out was fetched or reported.
    await until(
      "the forgers' answers",
      () => (s3.issued.length === 3 && s4.issued.length === 3) || undefined,
      5000,
    );
    expect(forged.requests).toEqual([]);
    expect(s3.reports.length + s4.reports.length).toBe(0);
    expect(logLines.some((l) => l.includes("lease answer not signed"))).toBe(true);
    expect(logLines.some((l) => l.includes("shard s4 sent a lease of another shard"))).toBe(true);
  });

  it("goes on with the other shards while one is down, and delivers the down shard's results when it is back", async () => {
    const [s0, s1, s2] = ["s0", "s1", "s2"].map((id) => shards[id] as ShardStandIn);
    if (!s0 || !s1 || !s2 || worker === undefined) throw new Error("fleet not started");
    // s1's late pages take 1.5 s: it goes down with their leases in flight.
    const issuedBefore = s1.issued.length;
    s1.offer(pages(b, "late", 2));
    await until("s1's leases", () => s1.issued.length === issuedBefore + 2 || undefined, 5000);
    await s1.stop();
    // Phases (request ended, final) of s1's leases not at s1: at least the late ones still being fetched.
    const unsent = () => 2 * s1.issued.length - s1.reports.length;
    expect(unsent()).toBeGreaterThanOrEqual(2);
    // Its results wait in the worker once their fetches end, and only they do.
    await until("s1's results queued", () => worker?.stats().pendingReports === unsent() || undefined, 5000);
    // The other shards' work goes on meanwhile.
    s0.offer(pages(a, "more", 10));
    s2.offer(pages(c, "more", 10));
    await until(
      "the other shards' reports",
      () =>
        (allReported(s0) && allReported(s2) && s0.issued.length === 16 && s2.issued.length === 16) ||
        undefined,
      20_000,
    );
    // Their acknowledgements may still be on the way back: then only s1's results are left.
    await until(
      "only s1's results pending",
      () => worker?.stats().pendingReports === unsent() || undefined,
      5000,
    );
    await s1.restart();
    await until("s1's queued results", () => allReported(s1) || undefined, 15_000);
    expect(s1.issued.length).toBe(8);
    await until("s1's queue empty", () => worker?.stats().pendingReports === 0 || undefined, 5000);
  });

  it("stops on a drain signed by any live shard, never on one signed by an unknown key", async () => {
    const [s2, s3] = ["s2", "s3"].map((id) => shards[id] as ShardStandIn);
    if (!s2 || !s3 || worker === undefined) throw new Error("fleet not started");
    let stopped = false;
    void worker.done.then(() => {
      stopped = true;
    });
    await s3.drain();
    await sleep(300);
    expect(stopped).toBe(false);
    await s2.drain("fleet-worker");
    await until("the drain", () => stopped || undefined, 5000);
  });
});

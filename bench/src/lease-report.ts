import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsServerHandle } from "@heed/cli";
import { startCoordinator, waitForCrawl } from "@heed/coordinator";
import { coordinatorConfigSchema, parseConfig, proto, silentLogger, workerConfigSchema } from "@heed/shared";
import { startWorker } from "@heed/worker";
import { connect } from "nats";

/**
 * Lease + report throughput through a real nats-server, gRPC server and LMDB
 * frontier, with fetches stubbed out, next to the raw NATS request/reply rate
 * measured in the same run on the same machine.
 */

const HOSTS = Number(process.env.BENCH_HOSTS ?? 2000);
const PAGES_PER_HOST = Number(process.env.BENCH_PAGES_PER_HOST ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const RAW_SECONDS = Number(process.env.BENCH_RAW_SECONDS ?? 3);

async function rawRequestReply(natsUrl: string, inFlight: number): Promise<number> {
  const server = await connect({ servers: natsUrl });
  const client = await connect({ servers: natsUrl });
  const reply = proto.LeaseBatch.encode({ leases: [], retryAfterMs: 10 }).finish();
  const sub = server.subscribe("bench.raw", { callback: (_e, m) => m.respond(reply) });
  await server.flush();
  const request = proto.LeaseRequest.encode({
    workerId: "bench",
    capacity: 1,
    workerVersion: "b",
    sentAtMs: Date.now(),
    requestId: "",
  }).finish();
  let done = 0;
  const until = Date.now() + RAW_SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < until) {
        await client.request("bench.raw", request, { timeout: 5000 });
        done++;
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  sub.unsubscribe();
  await client.close();
  await server.close();
  return done / secs;
}

async function heedThroughput(
  natsUrl: string,
): Promise<{ leases: number; seconds: number; perSecond: number; pages: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "heed-bench-"));
  const log = silentLogger();
  const coordinator = await startCoordinator(
    parseConfig(coordinatorConfigSchema, {
      dataDir,
      natsUrl,
      grpcListen: "127.0.0.1:0",
      maxWaitHintMs: 20,
      sweepIntervalMs: 1000,
    }),
    log,
  );
  const seeds: string[] = [];
  for (let h = 0; h < HOSTS; h++)
    for (let p = 0; p < PAGES_PER_HOST; p++) seeds.push(`http://h${h}.bench.invalid/p${p}`);
  const stub = async (lease: proto.Lease): Promise<proto.FetchResult> => {
    const now = Date.now();
    const robots = lease.kind === proto.LeaseKind.LEASE_KIND_ROBOTS;
    return proto.FetchResult.fromPartial({
      leaseId: lease.id,
      startedAtMs: now,
      finishedAtMs: now,
      statusCode: robots ? 404 : 200,
      contentType: "text/html",
      bodyBytes: 1000,
      digestSha256: "0".repeat(64),
      outlinks: robots ? [] : [`http://h${HOSTS + 1}.bench.invalid/never`],
    });
  };
  const workers = await Promise.all(
    Array.from({ length: WORKERS }, () =>
      startWorker(
        parseConfig(workerConfigSchema, {
          natsUrl,
          coordinator: `127.0.0.1:${coordinator.grpcPort}`,
          concurrency: CONCURRENCY,
          reportFlushMs: 2,
          reportBatchMax: 128,
          idlePollMaxMs: 20,
          logLevel: "silent",
        }),
        log,
        { fetch: stub },
      ),
    ),
  );
  const t0 = process.hrtime.bigint();
  const crawl = coordinator.frontier.createCrawl({
    seeds,
    maxDepth: 0,
    maxPages: seeds.length,
    userAgent: { product: "HeedBench", contact: "bench@example.org" },
    politeness: { minDelayMs: 0 },
  });
  const final = await waitForCrawl(coordinator.frontier, crawl.id, { timeoutMs: 600_000, pollMs: 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(workers.map((w) => w.stop(2000)));
  await coordinator.close();
  rmSync(dataDir, { recursive: true, force: true });
  const leases = final.counts.done + HOSTS; // every page lease plus one robots lease per host
  return { leases, seconds, perSecond: leases / seconds, pages: final.counts.done };
}

export async function leaseReportBenchmark(nats: NatsServerHandle): Promise<void> {
  {
    const inFlight = WORKERS;
    const raw = await rawRequestReply(nats.url, inFlight);
    const heed = await heedThroughput(nats.url);
    const ratio = heed.perSecond / raw;
    const fmt = (n: number) => n.toFixed(0).padStart(9);
    process.stdout.write(
      [
        "lease/report benchmark (real nats-server, gRPC and LMDB; fetches stubbed)",
        `  hosts ${HOSTS}, pages ${heed.pages}, workers ${WORKERS} x concurrency ${CONCURRENCY}`,
        `  raw NATS request/reply (${inFlight} in flight)  ${fmt(raw)} /s   (baseline)`,
        `  Heed leases issued and reported          ${fmt(heed.perSecond)} /s   (${heed.leases} in ${heed.seconds.toFixed(2)} s)`,
        `  ratio Heed / raw request-reply            ${ratio.toFixed(2)}x`,
        "",
      ].join("\n"),
    );
  }
}

import { parseConfig, proto, silentLogger, workerConfigSchema } from "@heed/shared";
import { startWorker } from "@heed/worker";
import { failStart, ready, serveParent } from "./child.js";

/**
 * A Heed worker in its own process whose fetches are stubbed (an immediate
 * 200 with one off-scope link, 404 for robots.txt): what is left is the
 * lease and report path. Argv: NATS URL, coordinator address, concurrency,
 * and optionally `shards` to lease from every shard of a sharded fleet.
 */
const [natsUrl, coordinator, concurrency, mode] = process.argv.slice(2);
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
    outlinks: robots ? [] : ["http://elsewhere.bench.invalid/never"],
  });
};
try {
  const worker = await startWorker(
    parseConfig(workerConfigSchema, {
      natsUrl,
      coordinator,
      concurrency: Number(concurrency ?? 64),
      reportFlushMs: 2,
      reportBatchMax: 128,
      idlePollMaxMs: 20,
      logLevel: "silent",
      ...(mode === "shards" ? { shards: "on" } : {}),
    }),
    silentLogger(),
    { fetch: stub },
  );
  serveParent({}, () => worker.stop(2000));
  ready();
} catch (e) {
  failStart(e);
}

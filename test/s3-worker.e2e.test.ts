import { existsSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { waitForCrawl } from "@heed/coordinator";
import { type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { sleep } from "@heed/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { S3RVER_KEYS, type S3rverHandle, startS3rver } from "./harness/s3rver.js";

// A worker uploading its WARC files to an S3 emulator (s3rver) that stops answering: the worker
// stops taking leases instead of piling up captures, keeps every file, and catches up once the
// store is back. Loopback addresses of this file: .175-.177.
const BUCKET = "heed-worker-captures";
let s3: S3rverHandle;
let site: LoopbackSite;
let cluster: Cluster;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  site = await startLoopbackSite({
    hosts: Array.from({ length: 3 }, () => ({ robots: { kind: "allow-all" as const }, pages: 60 })),
    firstOctet: 175,
    pageLatencyMs: 2,
  });
  cluster = await startCluster({ workers: 0 });
}, 30_000);

afterAll(async () => {
  s3?.process.kill("SIGCONT");
  await cluster?.stop();
  await site?.close();
  await s3?.stop();
});

describe("a worker whose object store stops answering", () => {
  it("stops taking leases while uploads fail, loses no capture, and finishes once the store is back", async () => {
    const keyFile = join(cluster.dataDir, "s3-key");
    const secretFile = join(cluster.dataDir, "s3-secret");
    await writeFile(keyFile, S3RVER_KEYS.accessKeyId);
    await writeFile(secretFile, S3RVER_KEYS.secretAccessKey);
    const warcDir = join(cluster.dataDir, "warc");
    s3.process.kill("SIGSTOP");
    await cluster.startWorkers(1, {
      warcMaxBytes: 64 * 1024,
      s3Bucket: BUCKET,
      s3Endpoint: s3.endpoint,
      s3AccessKeyFile: keyFile,
      s3SecretKeyFile: secretFile,
      s3TimeoutMs: 300,
      s3RetryMaxMs: 1_000,
    });
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec(site.seeds(), { maxDepth: 500, politeness: { minDelayMs: 100 } }),
    );
    // Files close at 64 KiB; their uploads time out, and the worker stops asking for leases.
    const deadline = Date.now() + 30_000;
    let quietFor = 0;
    let seen = site.log.length;
    while (quietFor < 2_000 && Date.now() < deadline) {
      await sleep(250);
      quietFor = site.log.length === seen ? quietFor + 250 : 0;
      seen = site.log.length;
    }
    expect(quietFor, "the worker went on fetching while its store was down").toBeGreaterThanOrEqual(2_000);
    const pending = readdirSync(warcDir).filter((n) => n.endsWith(".warc.gz"));
    expect(pending.length).toBeGreaterThan(0);
    const before = [...cluster.coordinator.frontier.urls(crawl.id)].filter(
      (u) => u.state === "queued",
    ).length;
    expect(before, "the crawl should not be finished while the store is down").toBeGreaterThan(0);

    s3.process.kill("SIGCONT");
    await waitForCrawl(cluster.coordinator.frontier, crawl.id, { timeoutMs: 60_000 });
    // The uploader retries with backoff; the files closed while the store was down go up next.
    const uploaded = Date.now() + 60_000;
    while (pending.some((n) => existsSync(join(warcDir, n))) && Date.now() < uploaded) await sleep(250);
    await Promise.all(cluster.workers.map((w) => w.stop(5_000)));
    // Every WARC closed during the crawl was uploaded and only then removed. None is lost.
    for (const name of pending) {
      expect(existsSync(join(warcDir, name)), name).toBe(false);
      expect(existsSync(s3.objectPath(BUCKET, name)), name).toBe(true);
    }
  }, 120_000);
});

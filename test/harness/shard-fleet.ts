import type { ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CrawlRecord,
  type FleetShard,
  type FrontierCheck,
  type FrontierReader,
  type UrlRecord,
  waitForFleetCrawl,
} from "@heed/coordinator";
import { type CrawlSpecInput, sleep, URL_STREAM } from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import { freePort } from "./ports.js";
import { exited, spawnHeed } from "./processes.js";
import { frontierReaders, listening } from "./readers.js";
import { stuckReport } from "./stuck.js";

/**
 * A sharded fleet of real processes: a nats-server with JetStream, one `heed
 * coordinator --shard-id` per shard (each its own data directory and a fixed
 * gRPC port, so a restarted shard is where it was), and `heed worker`s. The
 * crawl is created on the first shard from a crawl file; the others learn it
 * from the fleet. Every process it starts, stop() ends.
 */
export interface ShardFleetHandle {
  dataDir: string;
  shardIds: string[];
  crawlId: string;
  nats: NatsServerHandle;
  jsm: JetStreamManager;
  shard(id: string): ChildProcess | undefined;
  /** Where a shard serves gRPC (reports and the admin API). */
  grpcAddress(id: string): string;
  /** Starts (or restarts) a shard; an id the fleet did not start with joins it (and its frontier counts from then on). */
  startShard(id: string): Promise<void>;
  /** kill -9: no drain, no goodbye. */
  killShard(id: string): Promise<void>;
  startWorkers(n: number): void;
  /** One shard's frontier, read beside it. */
  read<T>(id: string, read: (frontier: FrontierReader) => T): T | undefined;
  crawl(id: string): CrawlRecord | undefined;
  urls(id: string): UrlRecord[];
  check(id: string): FrontierCheck;
  /** URLs in the stream for a shard, not yet taken by it. */
  pendingFor(id: string): Promise<number>;
  /** The crawl as the fleet has it once it is over everywhere (bounded by `timeoutMs`). */
  waitFinished(timeoutMs: number): Promise<CrawlRecord>;
  stop(): Promise<void>;
}

export async function startShardFleet(
  shardIds: string[],
  spec: CrawlSpecInput & { id: string },
  options: { ownershipTimeoutMs?: number } = {},
): Promise<ShardFleetHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), "heed-shards-"));
  const crawlFile = join(dataDir, "crawl.json");
  writeFileSync(crawlFile, JSON.stringify(spec));
  const nats = await startNatsServer({ jetstream: true });
  const nc: NatsConnection = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  const ports = new Map<string, number>();
  for (const id of shardIds) ports.set(id, await freePort());
  const shards = new Map<string, ChildProcess>();
  const children = new Set<ChildProcess>();
  const track = (c: ChildProcess) => {
    children.add(c);
    c.stderr?.resume();
    c.once("exit", () => children.delete(c));
    return c;
  };
  const shardDir = (id: string) => join(dataDir, "shards", id);
  const readers = frontierReaders();
  const read = <T>(id: string, fn: (frontier: FrontierReader) => T): T | undefined =>
    readers.read(shardDir(id), fn);
  const fleetShardOf = (id: string): FleetShard => ({
    shardId: id,
    crawl: (crawlId) => read(id, (f) => f.crawl(crawlId)),
    outboxSize: () => read(id, (f) => f.outboxSize()) ?? 0,
  });
  const initialIds = [...shardIds];
  const fleetShards: FleetShard[] = initialIds.map(fleetShardOf);
  const logs = new Map<string, string>();
  const exitOf = (c: ChildProcess | undefined) =>
    c === undefined
      ? "not started"
      : c.exitCode === null && c.signalCode === null
        ? "running"
        : `exited ${c.exitCode ?? c.signalCode}`;
  const stuckOf = (id: string) =>
    `${id} (${exitOf(shards.get(id))}): ${read(id, (r) => stuckReport(r, spec.id)) ?? "-"} ${(logs.get(id) ?? "").slice(-400)}`;
  const handle: ShardFleetHandle = {
    dataDir,
    shardIds: [...shardIds],
    crawlId: spec.id,
    nats,
    jsm,
    shard: (id) => shards.get(id),
    grpcAddress: (id) => `127.0.0.1:${ports.get(id)}`,
    async startShard(id) {
      if (!ports.has(id)) {
        ports.set(id, await freePort());
        handle.shardIds.push(id);
        fleetShards.push(fleetShardOf(id));
      }
      const child = track(
        spawnHeed([
          "coordinator",
          "--shard-id",
          id,
          "--shard-ids",
          initialIds.join(","),
          "--shard-ownership-timeout-ms",
          String(options.ownershipTimeoutMs ?? 3000),
          "--data-dir",
          shardDir(id),
          "--nats-url",
          nats.url,
          "--grpc-listen",
          `127.0.0.1:${ports.get(id)}`,
          ...(id === initialIds[0] ? ["--crawl-file", crawlFile] : []),
          "--lease-margin-ms",
          "1000",
          "--sweep-interval-ms",
          "50",
          "--max-wait-hint-ms",
          "50",
          "--drain-timeout-ms",
          "500",
          "--log-level",
          process.env.HEED_TEST_LOG ?? "silent",
        ]),
      );
      let log = "";
      child.stderr?.on("data", (d) => {
        log += d;
        logs.set(id, log);
        if (process.env.HEED_TEST_LOG_DIR)
          appendFileSync(join(process.env.HEED_TEST_LOG_DIR, `${id}.log`), d);
      });
      shards.set(id, child);
      // Ready when the shard has the crawl (the first creates it, the others learn it from the fleet).
      let serving = false;
      for (let i = 0; i < 300; i++) {
        // Its frontier is read once it serves, so after it opened it.
        if (!serving && (await listening(ports.get(id) ?? 0))) {
          serving = true;
          readers.allow(shardDir(id));
        }
        if (handle.crawl(id) !== undefined) return;
        if (child.exitCode !== null) throw new Error(`shard ${id} exited: ${log.slice(-2000)}`);
        await sleep(50);
      }
      throw new Error(`shard ${id} did not have the crawl in time: ${log.slice(-2000)}`);
    },
    async killShard(id) {
      const child = shards.get(id);
      if (child === undefined) return;
      child.kill("SIGKILL");
      await exited(child);
    },
    startWorkers(n) {
      for (let i = 0; i < n; i++)
        track(
          spawnHeed([
            "worker",
            "--nats-url",
            nats.url,
            "--coordinator",
            `127.0.0.1:${ports.get(initialIds[0] as string)}`,
            "--allow-private-addresses",
            "--concurrency",
            "4",
            "--report-flush-ms",
            "5",
            "--idle-poll-max-ms",
            "50",
            "--drain-timeout-ms",
            "1000",
            "--warc-dir",
            join(dataDir, "warc"),
            "--log-level",
            process.env.HEED_TEST_LOG ?? "silent",
          ]),
        );
    },
    read,
    crawl: (id) => read(id, (f) => f.crawl(spec.id)),
    urls: (id) => read(id, (f) => f.urls(spec.id)) ?? [],
    check(id) {
      const result = read(id, (f) => f.check());
      if (result === undefined) throw new Error(`no frontier for shard ${id}`);
      return result;
    },
    async pendingFor(id) {
      const info = await jsm.consumers.info(URL_STREAM, `shard-${id}`);
      return info.num_pending + info.num_ack_pending;
    },
    async waitFinished(timeoutMs) {
      const crawl = await waitForFleetCrawl(fleetShards, jsm, spec.id, {
        signal: AbortSignal.timeout(timeoutMs),
        pollMs: 100,
      });
      if (crawl.state === "running")
        throw new Error(
          `crawl not finished after ${timeoutMs} ms: ${JSON.stringify(crawl.counts)}; ` +
            handle.shardIds.map(stuckOf).join("; "),
        );
      return crawl;
    },
    async stop() {
      for (const c of children) c.kill("SIGKILL");
      await Promise.all([...children].map(exited));
      await readers.close();
      await nc.close();
      await nats.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decodeMoveMessage,
  encodeMoveMessage,
  ensureMoveStream,
  exportRange,
  type Frontier,
  type FrontierShard,
  keysInRange,
  MOVE_STREAM,
  movedRecords,
  moveSubject,
  openFrontier,
  type RangeDrop,
  type RangeItem,
} from "@heed/coordinator";
import { partitionOfHost, silentLogger } from "@heed/shared";
import { startNatsServer } from "@heed/test-support";
import { connect, type MsgRequest } from "nats";

/**
 * Moving a partition range between two shards' frontiers, through a real
 * nats-server with JetStream, no network otherwise: the source's records of
 * half the partitions are read and published to the moves stream, read back
 * and imported by the target (one commit per message), then deleted at the
 * source. The baseline, measured in the same run, is how fast the same
 * frontier took the URLs in the first place.
 */
const settings = { leaseMarginMs: 10_000, leaseTtlMs: 60_000, maxWaitHintMs: 250 };
const CHUNK = 10_000;
const BATCH_BYTES = 256 * 1024;
const DROP_BATCH = 500;

function shardFrontier(dir: string, id: string): Frontier {
  const shard: FrontierShard = {
    id,
    routeOf: () => undefined,
    mayLease: () => false,
    outboxFilled: () => {},
  };
  return openFrontier({ dataDir: dir, settings, log: silentLogger(), shard });
}

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

export async function shardMoveBenchmark(): Promise<void> {
  const urls = Number(process.env.BENCH_MOVE_URLS ?? 100_000);
  const hosts = Number(process.env.BENCH_MOVE_HOSTS ?? 10_000);
  const nats = await startNatsServer({ jetstream: true });
  const nc = await connect({ servers: nats.url });
  const dirs = [
    mkdtempSync(join(tmpdir(), "heed-bench-move-a-")),
    mkdtempSync(join(tmpdir(), "heed-bench-move-b-")),
  ];
  const source = shardFrontier(dirs[0] as string, "a");
  const target = shardFrontier(dirs[1] as string, "b");
  try {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    await ensureMoveStream(jsm);
    const seed = (i: number) => `http://h${i % hosts}.invalid/p/${Math.floor(i / hosts)}`;
    const spec = {
      id: "bench-move",
      seeds: Array.from({ length: Math.min(CHUNK, urls) }, (_, i) => seed(i)),
      maxDepth: 0,
      userAgent: { product: "HeedBench", contact: "bench@example.org" },
      politeness: { minDelayMs: 0 },
    };
    let t = performance.now();
    let cpu = process.cpuUsage();
    source.createCrawl(spec);
    for (let from = CHUNK; from < urls; from += CHUNK)
      source.addSeeds(
        spec.id,
        Array.from({ length: Math.min(urls, from + CHUNK) - from }, (_, k) => seed(from + k)),
      );
    const insert = { s: (performance.now() - t) / 1000, cpu: cpuSeconds(cpu) };
    target.createCrawl(spec, { discoverSeeds: false });

    // Half the partitions: [512, 1024).
    const inRange = keysInRange(partitionOfHost, [], 512, 1024);
    const subject = moveSubject("a_b_512_1024");
    t = performance.now();
    cpu = process.cpuUsage();
    let batch: RangeItem[] = [];
    let bytes = 0;
    let messages = 0;
    let movedUrls = 0;
    let movedHosts = 0;
    const acks: Promise<unknown>[] = [];
    const flush = () => {
      if (batch.length === 0) return;
      acks.push(
        js.publish(subject, encodeMoveMessage({ run: "bench", items: batch }), {
          msgID: `bench|${messages}`,
        }),
      );
      messages++;
      batch = [];
      bytes = 0;
    };
    for (const item of exportRange(source.store, inRange)) {
      if (item.t === "url") movedUrls++;
      if (item.t === "host") movedHosts++;
      batch.push(item);
      bytes += JSON.stringify(item).length;
      if (bytes >= BATCH_BYTES) {
        flush();
        if (acks.length >= 16) await Promise.all(acks.splice(0));
      }
    }
    flush();
    await Promise.all(acks);
    const exported = { s: (performance.now() - t) / 1000, cpu: cpuSeconds(cpu) };

    t = performance.now();
    cpu = process.cpuUsage();
    for (let seq = 1; ; ) {
      let m: Awaited<ReturnType<typeof jsm.streams.getMessage>>;
      try {
        m = await jsm.streams.getMessage(MOVE_STREAM, {
          seq,
          next_by_subj: subject,
        } as unknown as MsgRequest);
      } catch {
        break;
      }
      seq = m.seq + 1;
      const body = decodeMoveMessage(m.data);
      if (body !== undefined && !("end" in body))
        target.importRange(body.items, {
          notBeforeMs: Date.now(),
          progress: { key: "move-in:bench", value: m.seq },
        });
    }
    const imported = { s: (performance.now() - t) / 1000, cpu: cpuSeconds(cpu) };

    t = performance.now();
    cpu = process.cpuUsage();
    let drops: RangeDrop[] = [];
    for (const d of movedRecords(source.store, inRange)) {
      drops.push(d);
      if (drops.length >= DROP_BATCH) {
        source.dropRange(drops);
        drops = [];
      }
    }
    source.dropRange(drops);
    const deleted = { s: (performance.now() - t) / 1000, cpu: cpuSeconds(cpu) };

    const problems = [...source.check().problems, ...target.check().problems];
    const held = (f: Frontier) => f.crawl(spec.id)?.counts.queued ?? 0;
    const total = exported.s + imported.s + deleted.s;
    const row = (name: string, f: { s: number; cpu: number }, n: number) =>
      `  ${name.padEnd(26)} ${f.s.toFixed(2).padStart(7)} s  (CPU ${f.cpu.toFixed(2)} s)  ${(n / f.s).toFixed(0).padStart(7)} URLs/s  ${(movedHosts / f.s).toFixed(0).padStart(6)} hosts/s`;
    process.stdout.write(
      [
        `shard move (one frontier of ${urls} URLs over ${hosts} hosts; half the partitions move, through a real nats-server with JetStream)`,
        `  moved ${movedUrls} URLs and ${movedHosts} host keys in ${messages} messages; source keeps ${held(source)}, target holds ${held(target)}; check problems ${problems.length}`,
        `  insert (baseline)          ${insert.s.toFixed(2).padStart(7)} s  (CPU ${insert.cpu.toFixed(2)} s)  ${(urls / insert.s).toFixed(0).padStart(7)} URLs/s`,
        row("export + publish", exported, movedUrls),
        row("read + import", imported, movedUrls),
        row("delete at source", deleted, movedUrls),
        row("whole move", { s: total, cpu: exported.cpu + imported.cpu + deleted.cpu }, movedUrls),
        `  ratio move rate / insert rate ${(movedUrls / total / (urls / insert.s)).toFixed(2)}x`,
        "",
      ].join("\n"),
    );
  } finally {
    await source.close();
    await target.close();
    await nc.close();
    await nats.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

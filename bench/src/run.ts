import { startNatsServer } from "@heed/test-support";
import { captureCpuBenchmark } from "./capture-cpu.js";
import { frontierScaleBenchmark } from "./frontier-scale.js";
import { leaseReportBenchmark } from "./lease-report.js";
import { formatPoliteness, type PolitenessFigures, politenessEfficiency } from "./politeness.js";
import { robotsReadingsBenchmark } from "./robots-readings.js";
import { shardBalanceBenchmark } from "./shard-balance.js";
import { shardMoveBenchmark } from "./shard-move.js";
import { shardsBenchmark } from "./shards.js";
import { signingBenchmark } from "./signing.js";
import { waczExportBenchmark } from "./wacz-export.js";

/** `npm run bench`: every benchmark, each printed next to a baseline measured in the same run. */
const nats = await startNatsServer();
try {
  const only = process.argv[2];
  if (only === undefined || only === "lease-report") await leaseReportBenchmark(nats);
  if (only === undefined || only === "politeness") {
    const f = await politenessEfficiency(nats, {
      hosts: Number(process.env.BENCH_POLITE_HOSTS ?? 200),
      pagesPerHost: Number(process.env.BENCH_POLITE_PAGES ?? 10),
      delayMs: Number(process.env.BENCH_POLITE_DELAY_MS ?? 1000),
      workers: Number(process.env.BENCH_POLITE_WORKERS ?? 2),
      concurrency: 64,
      robotsBytes: Number(process.env.BENCH_POLITE_ROBOTS_BYTES ?? 0),
    });
    process.stdout.write(
      formatPoliteness("politeness efficiency (loopback hosts, real nats-server, gRPC, LMDB and HTTP)", f),
    );
  }
  if (only === undefined || only === "politeness-warc") {
    // The same crawl with and without WARC captures, alternating in one run so both see the same machine.
    const shape = {
      hosts: Number(process.env.BENCH_POLITE_HOSTS ?? 200),
      pagesPerHost: Number(process.env.BENCH_POLITE_PAGES ?? 10),
      delayMs: Number(process.env.BENCH_POLITE_DELAY_MS ?? 1000),
      workers: Number(process.env.BENCH_POLITE_WORKERS ?? 2),
      concurrency: 64,
    };
    const rounds = Number(process.env.BENCH_POLITE_ROUNDS ?? 2);
    const ratio = (f: PolitenessFigures) => f.heed.achievedPerSecond / f.idealPerSecond;
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < rounds; i++) {
      off.push(ratio(await politenessEfficiency(nats, shape)));
      on.push(ratio(await politenessEfficiency(nats, { ...shape, warc: true })));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const pct = (xs: number[]) => xs.map((x) => (x * 100).toFixed(1)).join(", ");
    process.stdout.write(
      [
        `politeness efficiency with and without WARC captures (${shape.hosts} hosts, delay ${shape.delayMs} ms, ${rounds} rounds each)`,
        `  no captures    ratio Heed / capacity ${(mean(off) * 100).toFixed(1).padStart(6)} %   (baseline; rounds ${pct(off)})`,
        `  WARC captures  ratio Heed / capacity ${(mean(on) * 100).toFixed(1).padStart(6)} %   (rounds ${pct(on)})`,
        `  cost of captures ${((mean(off) - mean(on)) * 100).toFixed(1).padStart(6)} points`,
        "",
      ].join("\n"),
    );
  }
  if (only === undefined || only === "capture-cpu") {
    const f = await captureCpuBenchmark({
      captures: Number(process.env.BENCH_CAPTURE_COUNT ?? 2000),
      bodyBytes: Number(process.env.BENCH_CAPTURE_BODY_BYTES ?? 32768),
      rounds: Number(process.env.BENCH_CAPTURE_ROUNDS ?? 3),
    });
    process.stdout.write(
      [
        "worker CPU per captured MiB (same exchanges, same run, one fsync per capture in both)",
        `  captures per round ${f.captures}, payload ${(f.payloadBytes / 2 ** 20).toFixed(1)} MiB, rounds ${f.rounds}`,
        `  raw gzip-and-write        ${f.rawCpuMsPerMiB.toFixed(1).padStart(8)} ms CPU/MiB   (baseline)`,
        `  WARC capture (warcio)     ${f.warcCpuMsPerMiB.toFixed(1).padStart(8)} ms CPU/MiB`,
        `  ratio WARC / raw          ${(f.warcCpuMsPerMiB / f.rawCpuMsPerMiB).toFixed(2).padStart(8)}`,
        `  WARC bytes / raw bytes    ${(f.warcBytes / f.rawBytes).toFixed(2).padStart(8)}`,
        "",
      ].join("\n"),
    );
  }
  if (only === undefined || only === "politeness-many") {
    const seconds = Number(process.env.BENCH_MANY_SECONDS ?? 40);
    const delayMs = Number(process.env.BENCH_MANY_DELAY_MS ?? 1000);
    const f = await politenessEfficiency(nats, {
      hosts: Number(process.env.BENCH_MANY_HOSTS ?? 2000),
      // More pages than the run can take at one per delay, so no host runs dry.
      pagesPerHost: Math.ceil((seconds * 1000) / delayMs) + 20,
      delayMs,
      workers: Number(process.env.BENCH_MANY_WORKERS ?? 4),
      concurrency: Number(process.env.BENCH_MANY_CONCURRENCY ?? 64),
      robotsBytes: Number(process.env.BENCH_POLITE_ROBOTS_BYTES ?? 0),
      seconds,
    });
    process.stdout.write(formatPoliteness("politeness, many hosts (loopback 127.0.x.y, time-bounded)", f));
  }
  if (only === undefined || only === "frontier-scale") await frontierScaleBenchmark();
  if (only === undefined || only === "signing") {
    const f = await signingBenchmark({
      requests: Number(process.env.BENCH_SIGNING_REQUESTS ?? 500),
      rounds: Number(process.env.BENCH_SIGNING_ROUNDS ?? 4),
    });
    process.stdout.write(
      [
        "Web Bot Auth signing cost (worker fetch path, loopback HTTP, Ed25519)",
        `  requests per variant      ${String(f.requests).padStart(8)}`,
        `  unsigned fetch            ${f.unsignedMsPerRequest.toFixed(3).padStart(8)} ms/request   (baseline)`,
        `  signed fetch              ${f.signedMsPerRequest.toFixed(3).padStart(8)} ms/request`,
        `  ratio signed / unsigned   ${f.ratio.toFixed(3).padStart(8)}`,
        `  one signature alone       ${f.signOnlyMicros.toFixed(1).padStart(8)} µs`,
        "",
      ].join("\n"),
    );
  }
  if (only === undefined || only === "wacz-export") {
    const f = await waczExportBenchmark({
      files: Number(process.env.BENCH_WACZ_FILES ?? 8),
      pagesPerFile: Number(process.env.BENCH_WACZ_PAGES ?? 2000),
      bodyBytes: Number(process.env.BENCH_WACZ_BODY_BYTES ?? 16384),
    });
    const mib = f.warcBytes / 2 ** 20;
    process.stdout.write(
      [
        "WACZ export (CDXJ per file, merged index, pages, sha256 per file, streamed zip)",
        `  WARC files ${f.files}, records ${f.records}, ${mib.toFixed(1)} MiB`,
        `  copy the same bytes       ${f.copySeconds.toFixed(2).padStart(8)} s   ${(mib / f.copySeconds).toFixed(0).padStart(6)} MiB/s   (baseline)`,
        `  CDXJ index every file     ${f.indexSeconds.toFixed(2).padStart(8)} s   ${(mib / f.indexSeconds).toFixed(0).padStart(6)} MiB/s`,
        `  export WACZ               ${f.exportSeconds.toFixed(2).padStart(8)} s   ${(mib / f.exportSeconds).toFixed(0).padStart(6)} MiB/s`,
        `  ratio export / copy       ${(f.exportSeconds / f.copySeconds).toFixed(2).padStart(8)}`,
        `  WACZ size                 ${(f.waczBytes / 2 ** 20).toFixed(1).padStart(8)} MiB (${((f.waczBytes / f.warcBytes) * 100).toFixed(1)} % of the WARCs)`,
        `  RSS growth during export  ${(f.exportRssGrowthBytes / 2 ** 20).toFixed(1).padStart(8)} MiB`,
        "",
      ].join("\n"),
    );
  }
  if (only === undefined || only === "robots-readings") {
    const f = await robotsReadingsBenchmark({
      rounds: Number(process.env.BENCH_ROBOTS_ROUNDS ?? 200),
      largeBytes: (process.env.BENCH_ROBOTS_LARGE_BYTES ?? "5000,20000").split(",").map(Number),
    });
    const lines = [
      "robots.txt readings: URLs kept out by Google's reading alone vs by every reading (strictest)",
    ];
    for (const x of f.fixtures)
      lines.push(
        `  ${x.name.padEnd(26)} ${String(x.urls).padStart(5)} URLs: google alone disallows ${x.googleDisallows} (baseline), all readings ${x.allDisallow} (+${x.allDisallow - x.googleDisallows})`,
      );
    lines.push(
      `  each reading alone         ${Object.entries(f.byReading)
        .map(([r, n]) => `${r} ${n}`)
        .join(", ")}`,
      `  google alone               ${f.googleMicrosPerUrl.toFixed(2).padStart(8)} µs/URL   (baseline)`,
      `  all readings               ${f.allMicrosPerUrl.toFixed(2).padStart(8)} µs/URL`,
      `  ratio all / google         ${(f.allMicrosPerUrl / f.googleMicrosPerUrl).toFixed(2).padStart(8)}`,
    );
    for (const x of f.large)
      lines.push(
        `  a large site's robots.txt, ${x.bytes} bytes, ${x.rules} rules: µs/URL ${Object.entries(
          x.microsPerUrl,
        )
          .map(([r, us]) => `${r} ${us.toFixed(2)}`)
          .join(
            ", ",
          )}; all / all on the suites above ${(x.microsPerUrl.all / f.allMicrosPerUrl).toFixed(2)}x`,
      );
    lines.push("");
    process.stdout.write(lines.join("\n"));
  }
  if (only === undefined || only === "shard-balance")
    process.stdout.write(
      shardBalanceBenchmark({
        sites: Number(process.env.BENCH_SHARD_SITES ?? 100_000),
        urls: Number(process.env.BENCH_SHARD_URLS ?? 5_000_000),
        zipf: Number(process.env.BENCH_SHARD_ZIPF ?? 1),
        seed: Number(process.env.BENCH_SHARD_SEED ?? 1),
      }),
    );
  if (only === undefined || only === "shards") await shardsBenchmark();
  if (only === undefined || only === "shard-move") await shardMoveBenchmark();
} finally {
  await nats.stop();
}

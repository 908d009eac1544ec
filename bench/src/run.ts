import { startNatsServer } from "@heed/cli";
import { captureCpuBenchmark } from "./capture-cpu.js";
import { leaseReportBenchmark } from "./lease-report.js";
import { type PolitenessFigures, politenessEfficiency } from "./politeness.js";
import { robotsReadingsBenchmark } from "./robots-readings.js";
import { signingBenchmark } from "./signing.js";
import { waczExportBenchmark } from "./wacz-export.js";

/** `npm run bench`: every benchmark, each printed next to a baseline measured in the same run. */
const nats = await startNatsServer();
try {
  const only = process.argv[2];
  if (only === undefined || only === "lease-report") await leaseReportBenchmark(nats);
  if (only === undefined || only === "politeness") {
    const shape = {
      hosts: Number(process.env.BENCH_POLITE_HOSTS ?? 200),
      pagesPerHost: Number(process.env.BENCH_POLITE_PAGES ?? 10),
      delayMs: Number(process.env.BENCH_POLITE_DELAY_MS ?? 1000),
      workers: Number(process.env.BENCH_POLITE_WORKERS ?? 2),
    };
    // The same crawl with and without captures in one run, alternating so both see the same machine.
    const rounds = Number(process.env.BENCH_POLITE_ROUNDS ?? 2);
    const offs: PolitenessFigures[] = [];
    const ons: PolitenessFigures[] = [];
    for (let i = 0; i < rounds; i++) {
      offs.push(await politenessEfficiency(nats, shape));
      ons.push(await politenessEfficiency(nats, { ...shape, warc: true }));
    }
    const mean = (fs: PolitenessFigures[]) => fs.reduce((n, f) => n + f.ratio, 0) / fs.length;
    const lines = ["politeness efficiency (loopback hosts, real nats-server, gRPC, LMDB and HTTP)"];
    for (const [label, fs] of [
      ["no captures", offs],
      ["WARC captures", ons],
    ] as const) {
      const f = fs[0] as PolitenessFigures;
      lines.push(
        `  ${label}: hosts ${f.hosts}, delay ${f.delayMs} ms, worker processes ${f.workers}, pages ${f.pages}, rounds ${fs.length}`,
        `    ideal H/d                 ${f.idealPerSecond.toFixed(1).padStart(8)} pages/s   (baseline)`,
        `    achieved                  ${fs.map((x) => x.achievedPerSecond.toFixed(1)).join(", ")} pages/s`,
        `    ratio achieved / ideal    ${(mean(fs) * 100).toFixed(1).padStart(7)} %  (rounds: ${fs.map((x) => (x.ratio * 100).toFixed(1)).join(", ")})`,
        `    median gap between requests to a host  ${fs.map((x) => x.medianGapMs).join(", ")} ms (delay ${f.delayMs} ms)`,
        `    politeness violations     ${String(fs.reduce((n, x) => n + x.violations, 0)).padStart(8)}`,
      );
    }
    lines.push(
      `  WARC captures cost         ${((mean(offs) - mean(ons)) * 100).toFixed(1).padStart(7)} points of efficiency`,
      "",
    );
    process.stdout.write(lines.join("\n"));
  }
  if (only === undefined || only === "capture-cpu") {
    const f = await captureCpuBenchmark({
      captures: Number(process.env.BENCH_CAPTURE_COUNT ?? 2000),
      bodyBytes: Number(process.env.BENCH_CAPTURE_BODY_BYTES ?? 32768),
      rounds: Number(process.env.BENCH_CAPTURE_ROUNDS ?? 3),
    });
    process.stdout.write(
      [
        "worker CPU per captured MiB (same exchanges, same run, fsync per capture in both)",
        `  captures per round ${f.captures}, payload ${(f.payloadBytes / 2 ** 20).toFixed(1)} MiB, rounds ${f.rounds}`,
        `  raw gzip-and-write        ${f.rawCpuMsPerMiB.toFixed(1).padStart(8)} ms CPU/MiB   (baseline)`,
        `  WARC capture (warcio)     ${f.warcCpuMsPerMiB.toFixed(1).padStart(8)} ms CPU/MiB`,
        `  ratio WARC / raw          ${(f.warcCpuMsPerMiB / f.rawCpuMsPerMiB).toFixed(2).padStart(8)}`,
        `  WARC bytes / raw bytes    ${(f.warcBytes / f.rawBytes).toFixed(2).padStart(8)}`,
        "",
      ].join("\n"),
    );
  }
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
    const f = await robotsReadingsBenchmark({ rounds: Number(process.env.BENCH_ROBOTS_ROUNDS ?? 200) });
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
      "",
    );
    process.stdout.write(lines.join("\n"));
  }
} finally {
  await nats.stop();
}

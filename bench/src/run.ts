import { startNatsServer } from "@heed/test-support";
import { leaseReportBenchmark } from "./lease-report.js";
import { politenessEfficiency } from "./politeness.js";
import { signingBenchmark } from "./signing.js";

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
    });
    process.stdout.write(
      [
        "politeness efficiency (loopback hosts, real nats-server, gRPC, LMDB and HTTP)",
        `  hosts ${f.hosts}, delay ${f.delayMs} ms, worker processes ${f.workers}, pages ${f.pages} in ${f.seconds.toFixed(2)} s`,
        `  ideal H/d                 ${f.idealPerSecond.toFixed(1).padStart(8)} pages/s   (baseline)`,
        `  achieved                  ${f.achievedPerSecond.toFixed(1).padStart(8)} pages/s`,
        `  ratio achieved / ideal    ${(f.ratio * 100).toFixed(1).padStart(7)} %`,
        `  median gap between requests to a host  ${f.medianGapMs} ms (delay ${f.delayMs} ms)`,
        `  politeness violations     ${String(f.violations).padStart(8)}`,
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
} finally {
  await nats.stop();
}

import { monitorEventLoopDelay } from "node:perf_hooks";
import { startCoordinator, waitForCrawl } from "@heed/coordinator";
import { coordinatorConfigSchema, parseConfig, silentLogger } from "@heed/shared";
import { type BenchMessage, failStart, ready, serveParent } from "./child.js";

/**
 * A Heed coordinator in its own process, as in production. Argv: NATS URL,
 * data directory, max wait hint (ms). `crawl` creates a crawl from the
 * message's definition and answers when it is finished, with its counts
 * (or at once, with `wait: false`, with its id); `wait` answers when the
 * crawl of that id is finished; `lag` answers with the event loop's delay
 * percentiles (ms) since the last `lag`.
 */
const [natsUrl, dataDir, maxWaitHintMs] = process.argv.slice(2);
try {
  const coordinator = await startCoordinator(
    parseConfig(coordinatorConfigSchema, {
      dataDir,
      natsUrl,
      grpcListen: "127.0.0.1:0",
      maxWaitHintMs: Number(maxWaitHintMs ?? 20),
      sweepIntervalMs: 1000,
      ...(process.env.BENCH_LEASE_LINGER_MS !== undefined
        ? { leaseLingerMs: Number(process.env.BENCH_LEASE_LINGER_MS) }
        : {}),
    }),
    silentLogger(),
  );
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const finished = async (id: string, t0: bigint) => {
    const final = await waitForCrawl(coordinator.frontier, id, { timeoutMs: 600_000, pollMs: 20 });
    return {
      type: "crawled",
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      done: final.counts.done,
      counts: final.counts,
    };
  };
  serveParent(
    {
      lag: async () => {
        const ms = (q: number) => lag.percentile(q) / 1e6;
        const figures = { type: "lag", p50: ms(50), p99: ms(99), max: lag.max / 1e6 };
        lag.reset();
        return figures;
      },
      wait: (msg: BenchMessage) => finished(String(msg.id), process.hrtime.bigint()),
      crawl: async (msg: BenchMessage) => {
        const t0 = process.hrtime.bigint();
        const crawl = coordinator.frontier.createCrawl(
          msg.definition as Parameters<typeof coordinator.frontier.createCrawl>[0],
        );
        if (msg.wait === false) return { type: "created", id: crawl.id };
        return finished(crawl.id, t0);
      },
    },
    () => coordinator.close(),
  );
  ready({ grpcPort: coordinator.grpcPort });
} catch (e) {
  failStart(e);
}

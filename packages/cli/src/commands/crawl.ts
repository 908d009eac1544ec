import { constants as osConstants } from "node:os";
import { join } from "node:path";
import {
  type Coordinator,
  type CrawlRecord,
  mergeCrawlRecords,
  startCoordinator,
  waitForCrawl,
  waitForFleetCrawl,
} from "@heed/coordinator";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import {
  ConfigError,
  type CrawlSpec,
  type CrawlSpecInput,
  coordinatorConfigSchema,
  crawlSpecInput,
  createLogger,
  envLayer,
  int,
  mergeLayers,
  parseConfig,
  parseCrawlSpec,
  workerConfigSchema,
} from "@heed/shared";
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { startWorker, type Worker } from "@heed/worker";
import { type Command, Option } from "commander";
import { addCrawlFlags, crawlFlagValues } from "../crawl-flags.js";
import { crawlToResume } from "../resume.js";
import { progressLine, summarize, summaryText } from "../summary.js";

const DEMO_CONTACT = "demo@heed.invalid";
/** The demo site's hosts listen here, so an interrupted demo resumes at the same URLs. */
const DEMO_PORT = 8470;
/** More shards than this on one machine only share its cores. */
const MAX_COORDINATORS = int(1, 64);

export function crawlCommand(program: Command): Command {
  const cmd = program
    .command("crawl")
    .description(
      "run a whole crawl on this machine: a private nats-server, one coordinator (or N shards) and N workers",
    )
    .argument("[seeds...]", "URLs to start from")
    .option("--demo", "serve a small multi-host demo site on loopback addresses and crawl it")
    .option("--demo-port <port>", `port the demo site's hosts listen on (default ${DEMO_PORT})`)
    .option(
      "--crawl-file <file>",
      "JSON crawl definition (seeds, scope, budgets, politeness); flags override it",
    )
    .option("--workers <n>", "workers to run (default 2) [env HEED_WORKERS]")
    .option(
      "--coordinators <n>",
      "coordinators to run, each a shard of the frontier under <data-dir>/shards/<id> (default 1)",
    )
    .option("--concurrency <n>", "fetches in flight per worker (default 8) [env HEED_CONCURRENCY]")
    .option("--data-dir <dir>", "where the LMDB frontier lives (default heed-data) [env HEED_DATA_DIR]")
    .option("--warc-dir <dir>", "where WARC captures go (default <data-dir>/warc) [env HEED_WARC_DIR]")
    .option("--nats-url <url>", "use this NATS server instead of starting one")
    .option("--json", "print the summary as JSON on stdout")
    .addOption(new Option("--log-level <level>", "log level (default warn) [env HEED_LOG_LEVEL]"));
  return addCrawlFlags(cmd)
    .addHelpText(
      "after",
      `
Examples:
  heed crawl --demo
  heed crawl https://example.org/ --contact crawler-team@example.org --max-pages 200`,
    )
    .action(async (seeds: string[], opts: Record<string, unknown>, self: Command) => {
      process.exitCode = await runCrawl(seeds, opts, crawlFlagValues(self));
    });
}

/** A new crawl: on a sharded fleet through its crawls bucket, so every shard has it. */
function createCrawl(
  coordinator: Coordinator,
  spec: CrawlSpec | ReturnType<typeof parseCrawlSpec>,
): Promise<CrawlRecord> {
  return coordinator.shard !== undefined
    ? coordinator.shard.crawls.create(spec)
    : Promise.resolve(coordinator.frontier.createCrawl(spec));
}

/** Two demos on one machine (or tests running side by side) each need their own port. */
function demoPort(value: unknown): number {
  if (value === undefined) return DEMO_PORT;
  const port = /^\d{1,5}$/.test(String(value)) ? Number(value) : Number.NaN;
  if (!(port >= 1 && port <= 65_535))
    throw new ConfigError("demoPort", `${String(value)} is not a port (1-65535)`);
  return port;
}

// The demo's one unreachable robots.txt is retried quickly so the demo ends in seconds, not hours.
const DEMO_PRESET = {
  userAgent: { contact: DEMO_CONTACT },
  politeness: { minDelayMs: 200, robotsRetryBaseMs: 300, robotsRetryMaxMs: 1000, robotsMaxAttempts: 3 },
};

function crawlInput(
  seeds: string[],
  opts: Record<string, unknown>,
  flags: Record<string, unknown>,
  demoSeeds: string[] | undefined,
): CrawlSpecInput {
  return crawlSpecInput({
    ...(demoSeeds !== undefined ? { preset: DEMO_PRESET } : {}),
    file: opts.crawlFile as string | undefined,
    // The demo site is on loopback addresses, whatever a crawl file says.
    flags: demoSeeds !== undefined ? { ...flags, allowPrivateAddresses: true } : flags,
    seeds: [...(demoSeeds ?? []), ...seeds],
  });
}

async function runCrawl(
  seeds: string[],
  opts: Record<string, unknown>,
  flags: Record<string, unknown>,
): Promise<number> {
  const demo = opts.demo === true;
  const sitePort = demoPort(opts.demoPort);
  // Validate everything before starting anything: a bad value costs nothing.
  // Flags win over HEED_* env, which wins over defaults; the crawl's own logs stay quiet unless asked.
  const env = process.env;
  const workerCount = parseConfig(
    workerConfigSchema.shape.concurrency,
    opts.workers ?? env.HEED_WORKERS ?? 2,
    "workers",
  );
  const coordinatorCount = parseConfig(MAX_COORDINATORS, opts.coordinators ?? 1, "coordinators");
  const logLevel = opts.logLevel ?? env.HEED_LOG_LEVEL ?? "warn";
  const workerConfigInput = mergeLayers(envLayer(workerConfigSchema), {
    concurrency: opts.concurrency,
    warcDir: opts.warcDir,
    allowPrivateAddresses: demo || opts.allowPrivateAddresses === true ? true : undefined,
    logLevel,
    natsUrl: undefined,
    coordinator: undefined,
  });
  parseConfig(workerConfigSchema, workerConfigInput, "worker");
  const coordinatorConfig = parseConfig(
    coordinatorConfigSchema,
    mergeLayers(envLayer(coordinatorConfigSchema), {
      dataDir: opts.dataDir,
      warcDir: opts.warcDir,
      grpcListen: "127.0.0.1:0",
      httpListen: "",
      logLevel,
      natsUrl: opts.natsUrl ?? "nats://127.0.0.1:4222",
    }),
    "coordinator",
  );
  const placeholderSeeds = demo ? ["http://127.0.0.2/"] : undefined;
  if (!demo && seeds.length === 0 && opts.crawlFile === undefined && flags["recrawl.of"] === undefined) {
    throw new ConfigError("seeds", "give at least one seed URL, --crawl-file, --recrawl-of, or --demo");
  }
  // With --demo the seeds are known once the site is up: check the rest now, the seeds then.
  let spec = parseCrawlSpec(crawlInput(seeds, opts, flags, placeholderSeeds));

  const log = createLogger({ level: coordinatorConfig.logLevel });
  const started = Date.now();
  let site: LoopbackSite | undefined;
  let nats: NatsServerHandle | undefined;
  const coordinators: Coordinator[] = [];
  const workers: Worker[] = [];
  const interrupted = new AbortController();
  // The conventional exit status of a process ended by a signal: 128 + its number.
  let signalExit: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const code = 128 + (osConstants.signals[signal] ?? 0);
    if (signalExit !== undefined) process.exit(code);
    signalExit = code;
    process.stderr.write("\nstopping cleanly (Ctrl-C again to force)…\n");
    interrupted.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    if (demo)
      site = await startLoopbackSite({
        hosts: defaultPlan(8, 5, 1),
        pageLatencyMs: 20,
        port: sitePort,
      });
    if (site !== undefined) spec = parseCrawlSpec(crawlInput(seeds, opts, flags, site.seeds()));
    const sharded = coordinatorCount > 1;
    if (opts.natsUrl === undefined)
      nats = await startNatsServer({
        ownProcessGroup: true,
        // The same NATS users as a deployed fleet: workers cannot serve leases, nor write the shard buckets.
        roles: { leaseSubject: coordinatorConfig.leaseSubject },
        // A sharded crawl's streams and buckets live with its data, so an interrupted run resumes.
        ...(sharded ? { jetstream: { storeDir: join(coordinatorConfig.dataDir, "jetstream") } } : {}),
      });
    const natsUrlFor = (role: "coordinator" | "worker") => nats?.urlFor(role) ?? (opts.natsUrl as string);
    if (!sharded) {
      coordinators.push(
        await startCoordinator(
          { ...coordinatorConfig, natsUrl: natsUrlFor("coordinator") },
          log.child({ component: "coordinator" }),
        ),
      );
    } else {
      const ids = Array.from({ length: coordinatorCount }, (_, i) => `s${i}`);
      const started = await Promise.allSettled(
        ids.map((id) =>
          startCoordinator(
            {
              ...coordinatorConfig,
              natsUrl: natsUrlFor("coordinator"),
              dataDir: join(coordinatorConfig.dataDir, "shards", id),
              warcDir:
                coordinatorConfig.warcDir !== ""
                  ? coordinatorConfig.warcDir
                  : join(coordinatorConfig.dataDir, "warc"),
              shardId: id,
              shardIds: ids,
            },
            log.child({ component: "coordinator", shardId: id }),
          ),
        ),
      );
      for (const r of started) if (r.status === "fulfilled") coordinators.push(r.value);
      const failed = started.find((r) => r.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    }
    const first = coordinators[0] as Coordinator;
    for (let i = 0; i < workerCount; i++) {
      const config = parseConfig(workerConfigSchema, {
        ...workerConfigInput,
        warcDir: workerConfigInput.warcDir ?? join(coordinatorConfig.dataDir, "warc"),
        natsUrl: natsUrlFor("worker"),
        coordinator: `127.0.0.1:${first.grpcPort}`,
      });
      workers.push(await startWorker(config, log.child({ component: "worker" })));
    }
    const resumed = crawlToResume(first.frontier.crawls(), spec);
    const crawl = resumed ?? (await createCrawl(first, spec));
    const tty = process.stderr.isTTY === true;
    process.stderr.write(
      resumed !== undefined
        ? `Resuming crawl ${crawl.id}: ${crawl.counts.queued + crawl.counts.leased} URL(s) left, ${workerCount} worker(s), data in ${coordinatorConfig.dataDir}\n`
        : spec.recrawl.of !== undefined
          ? `Recrawling ${crawl.counts.queued} URL(s) of crawl ${spec.recrawl.of} as ${spec.userAgent.product}, ${workerCount} worker(s), data in ${coordinatorConfig.dataDir}\n`
          : `Crawling ${spec.seeds.length} seed(s) as ${spec.userAgent.product}, ${workerCount} worker(s), data in ${coordinatorConfig.dataDir}\n`,
    );
    let lastPlain = 0;
    const waitOptions = {
      signal: interrupted.signal,
      pollMs: 250,
      onTick: (c: CrawlRecord) => {
        if (tty) process.stderr.write(`\r\x1b[2K${progressLine(c)}`);
        else if (Date.now() - lastPlain > 5000) {
          lastPlain = Date.now();
          process.stderr.write(`${progressLine(c)}\n`);
        }
      },
    };
    const fleet = first.shard;
    const final =
      fleet === undefined
        ? await waitForCrawl(first.frontier, crawl.id, waitOptions)
        : await waitForFleetCrawl(
            coordinators.map((c) => ({
              shardId: c.shard?.shardId ?? "",
              crawl: (id: string) => c.frontier.crawl(id),
              outboxSize: () => c.frontier.store.outbox.getCount(),
            })),
            fleet.jsm,
            crawl.id,
            waitOptions,
          );
    if (tty) process.stderr.write("\n");
    await Promise.all(workers.map((w) => w.stop(5000)));
    // The summary covers every shard: their counters summed.
    const after = mergeCrawlRecords(coordinators.flatMap((c) => c.frontier.crawl(crawl.id) ?? [])) ?? final;
    const summary = summarize(after, coordinatorConfig.dataDir, {
      interrupted: signalExit !== undefined,
      warcs: workers.flatMap((w) => {
        const warc = w.stats().warc;
        return warc !== undefined ? [warc] : [];
      }),
    });
    if (opts.json === true) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(`${summaryText(summary)}\n`);
    return signalExit ?? 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await Promise.all(workers.map((w) => w.stop(5000)));
    await Promise.all(coordinators.map((c) => c.close()));
    await nats?.stop();
    await site?.close();
    log.debug({ ms: Date.now() - started }, "crawl command finished");
  }
}

import { startCoordinator } from "@heed/coordinator";
import { AlreadyExistsError, createLogger, jsonFileLayer, parseCrawlSpec } from "@heed/shared";
import { startWorker } from "@heed/worker";
import type { Command } from "commander";
import {
  addFlags,
  COORDINATOR_FLAGS,
  loadCoordinatorConfig,
  loadWorkerConfig,
  WORKER_FLAGS,
} from "../options.js";

/**
 * Catches SIGINT/SIGTERM from the start, so a signal that arrives while the
 * service is still starting stops it cleanly once it is up, instead of killing it.
 */
function signalLatch(): { stopped: Promise<void> } {
  let fire: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    fire = resolve;
  });
  const onSignal = () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    fire();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return { stopped };
}

export function coordinatorCommand(program: Command): Command {
  const cmd = program
    .command("coordinator")
    .description("run a coordinator: the LMDB frontier, leases over NATS, reports over gRPC")
    .option("--crawl-file <file>", "create this crawl (JSON crawl definition) unless one with its id exists");
  addFlags(cmd, COORDINATOR_FLAGS).action(async (opts: Record<string, unknown>) => {
    const config = loadCoordinatorConfig(opts);
    const latch = signalLatch();
    // Checked before anything starts: a bad crawl file costs nothing.
    const crawlSpec =
      opts.crawlFile !== undefined ? parseCrawlSpec(jsonFileLayer(opts.crawlFile as string)) : undefined;
    const log = createLogger({ level: config.logLevel });
    const coordinator = await startCoordinator(config, log);
    if (crawlSpec !== undefined) {
      const existing = crawlSpec.id !== undefined ? coordinator.frontier.crawl(crawlSpec.id) : undefined;
      if (existing === undefined) {
        try {
          // A shard creates it for the whole fleet, unless another shard of the fleet did already.
          const crawl =
            coordinator.shard !== undefined
              ? await coordinator.shard.crawls.create(crawlSpec).catch((err: unknown) => {
                  if (err instanceof AlreadyExistsError) return undefined;
                  throw err;
                })
              : coordinator.frontier.createCrawl(crawlSpec);
          if (crawl !== undefined)
            log.info({ crawlId: crawl.id, seeds: crawl.spec.seeds.length }, "crawl created");
          else log.info({ crawlId: crawlSpec.id }, "crawl exists in the fleet; resuming");
        } catch (err) {
          await coordinator.close();
          throw err;
        }
      } else {
        log.info({ crawlId: existing.id, state: existing.state }, "crawl exists; resuming");
      }
    }
    await latch.stopped;
    await coordinator.close();
  });
  return cmd;
}

export function workerCommand(program: Command): Command {
  const cmd = program
    .command("worker")
    .description("run a worker: pull leases over NATS, fetch politely, report over gRPC");
  addFlags(cmd, WORKER_FLAGS).action(async (opts: Record<string, unknown>) => {
    const config = loadWorkerConfig(opts);
    const latch = signalLatch();
    const log = createLogger({ level: config.logLevel });
    const worker = await startWorker(config, log);
    // A signal, an operator's drain (heedctl workers drain) or a refused token ends the run.
    await Promise.race([latch.stopped, worker.done]);
    await worker.stop(config.drainTimeoutMs);
    const failure = worker.failure();
    if (failure !== undefined) throw failure;
  });
  return cmd;
}

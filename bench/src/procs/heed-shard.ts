import { startCoordinator } from "@heed/coordinator";
import { coordinatorConfigSchema, parseConfig, silentLogger } from "@heed/shared";
import { failStart, ready, serveParent } from "./child.js";

/**
 * One shard of a sharded fleet in its own process, as in production. Argv:
 * NATS URL (with JetStream), data directory, shard id, every shard id of the
 * fleet (comma-separated, for the first map), max wait hint (ms).
 */
const [natsUrl, dataDir, shardId, shardIds, maxWaitHintMs] = process.argv.slice(2);
try {
  const coordinator = await startCoordinator(
    parseConfig(coordinatorConfigSchema, {
      dataDir,
      natsUrl,
      grpcListen: "127.0.0.1:0",
      shardId,
      shardIds,
      maxWaitHintMs: Number(maxWaitHintMs ?? 20),
      sweepIntervalMs: 1000,
    }),
    silentLogger(),
  );
  serveParent({}, () => coordinator.close());
  ready({ grpcPort: coordinator.grpcPort });
} catch (e) {
  failStart(e);
}

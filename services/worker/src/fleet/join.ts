import { errorMessage, HeedError, type Logger, type ShardFleet, sleep, watchShardFleet } from "@heed/shared";
import type { NatsConnection } from "nats";

/**
 * How a worker decides whether it serves a sharded fleet:
 * - `off`: never (one coordinator, as configured);
 * - `on`: always; it waits for the fleet's buckets to appear and leases from
 *   whatever shards are live;
 * - `auto`: when the fleet's members bucket is on this NATS with at least one
 *   live shard at start; otherwise it works with its one coordinator, as an
 *   unsharded worker does.
 */
export type ShardMode = "auto" | "on" | "off";

/** How long a worker with `shards: on` waits for a sharded fleet to set up its buckets. */
const FLEET_WAIT_MS = 30_000;

export async function joinShardFleet(
  nc: NatsConnection,
  mode: ShardMode,
  log: Logger,
  waitMs = FLEET_WAIT_MS,
): Promise<ShardFleet | undefined> {
  if (mode === "off") return undefined;
  const onError = (err: Error) => log.warn({ err: errorMessage(err) }, "shard fleet watch");
  if (mode === "auto") {
    let fleet: ShardFleet;
    try {
      fleet = await watchShardFleet(nc, { onError });
    } catch (err) {
      // No JetStream, no buckets, or no permission to read them: not a sharded fleet.
      log.debug({ err: errorMessage(err) }, "no sharded fleet on this NATS");
      return undefined;
    }
    if (fleet.members().length > 0) return fleet;
    await fleet.stop();
    log.info(
      "the shard members bucket lists no live shard; working with one coordinator (shards: on waits for them)",
    );
    return undefined;
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await watchShardFleet(nc, { onError });
    } catch (err) {
      if (!(err instanceof HeedError) || err.code !== "HEED_SHARD_FLEET_MISSING" || Date.now() >= deadline)
        throw err;
      log.info("waiting for the sharded fleet to create its buckets");
      await sleep(1000);
    }
  }
}

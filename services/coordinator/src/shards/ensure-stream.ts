import { holdReplicas, replicasError } from "@heed/shared";
import type { JetStreamManager, StreamConfig } from "nats";

export function isNotFound(err: unknown): boolean {
  return /not found/i.test(String(err)) || (err as { code?: unknown } | null)?.code === "404";
}

async function exists(jsm: JetStreamManager, name: string): Promise<boolean> {
  try {
    await jsm.streams.info(name);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Creates a stream unless it exists, with the configured number of copies.
 * Shards start together, so another may create it at the same moment: the
 * server then answers "already in use" or "subjects overlap", and what counts
 * is whether the stream is there afterwards.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
  replicas: number,
): Promise<void> {
  if (await exists(jsm, config.name)) return holdReplicas(jsm, config.name, replicas);
  try {
    await jsm.streams.add({ ...config, num_replicas: replicas });
  } catch (err) {
    if (await exists(jsm, config.name)) return holdReplicas(jsm, config.name, replicas);
    throw replicas > 1 && /replica|cluster/i.test(String(err))
      ? replicasError(config.name, replicas, err)
      : err;
  }
}

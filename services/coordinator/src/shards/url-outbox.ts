import { errorMessage, type Logger, urlSubject } from "@heed/shared";
import type { JetStreamClient } from "nats";
import type { Frontier } from "../frontier/frontier.js";
import type { OutboxEntry } from "../frontier/records.js";
import { urlMessageId } from "./url-stream.js";

/** Outbox entries published at once; each one's ack is awaited before it leaves the outbox. */
const BATCH = 256;
/** After a failed publish (NATS away, stream missing): try again this soon. */
const RETRY_MS = 1000;

export interface UrlOutbox {
  /** Publishes what the outbox holds now (called after a commit that filled it). */
  kick(): void;
  /** How many URLs wait in the outbox. */
  size(): number;
  close(): Promise<void>;
}

/**
 * Publishes the frontier's outbox to the URL stream: each URL to its owner's
 * subject with a message id, so a publish repeated after a crash is dropped by
 * the stream; an entry leaves the outbox only once JetStream acknowledged it.
 * One pass at a time; a kick during a pass runs another after it.
 */
export function startUrlOutbox(options: { js: JetStreamClient; frontier: Frontier; log: Logger }): UrlOutbox {
  const { js, frontier, log } = options;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let failingSince: number | undefined;

  async function pass(): Promise<void> {
    for (;;) {
      again = false;
      if (closed) return;
      const batch = frontier.outbox(BATCH);
      if (batch.length === 0) return;
      const acked: number[] = [];
      let failure: unknown;
      await Promise.all(
        batch.map(async ({ key, entry }) => {
          try {
            await js.publish(urlSubject(entry.shard), encodeEntry(entry), {
              msgID: urlMessageId(entry),
            });
            acked.push(key);
          } catch (err) {
            failure ??= err;
          }
        }),
      );
      if (!closed) frontier.dropOutbox(acked);
      if (failure !== undefined) {
        if (failingSince === undefined) {
          failingSince = Date.now();
          log.warn(
            { err: errorMessage(failure) },
            "cannot publish URLs for other shards; they wait in the outbox",
          );
        }
        scheduleRetry();
        return;
      }
      if (failingSince !== undefined) {
        log.info({ failingForMs: Date.now() - failingSince }, "URLs for other shards are published again");
        failingSince = undefined;
      }
      if (batch.length < BATCH && !again) return;
    }
  }

  function scheduleRetry(): void {
    if (retry !== undefined || closed) return;
    retry = setTimeout(() => {
      retry = undefined;
      kick();
    }, RETRY_MS);
    retry.unref();
  }

  function kick(): void {
    if (closed) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(pass)
      .catch((err: unknown) => {
        log.error({ err: errorMessage(err) }, "publishing the outbox failed");
        scheduleRetry();
      })
      .finally(() => {
        running = undefined;
        if (again) kick();
      });
  }

  // Whatever a previous run left (a crash between commit and publish) goes out now.
  kick();
  return {
    kick,
    size: () => frontier.store.outbox.getCount(),
    async close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      await running;
    },
  };
}

function encodeEntry(entry: OutboxEntry): Uint8Array {
  const { shard: _shard, ...body } = entry;
  return new TextEncoder().encode(JSON.stringify(body));
}

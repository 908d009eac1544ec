import { errorMessage, type Logger, sleep, URL_STREAM, urlSubject } from "@heed/shared";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  nanos,
} from "nats";
import type { Frontier } from "../frontier/frontier.js";
import type { InboundUrl } from "../frontier/shard-urls.js";
import { decodeUrlMessage, urlConsumerOf } from "./url-stream.js";

/** URLs taken per fetch, and how long a fetch waits for the first. */
const FETCH_MAX = 512;
const FETCH_EXPIRES_MS = 1000;
/** A URL for a crawl this shard has not learned of yet comes back this much later. */
const UNKNOWN_CRAWL_DELAY_MS = 500;
/** After a failed fetch or commit: wait this long before the next. */
const RETRY_MS = 1000;
/** Unacknowledged URLs are redelivered after this (the shard died mid-batch). */
const ACK_WAIT_MS = 30_000;

export interface UrlInbox {
  /** Batches taken in so far (for tests and metrics). */
  batches(): number;
  close(): Promise<void>;
}

/**
 * Consumes this shard's subject of the URL stream with its durable pull
 * consumer: each batch is queued in one commit, then acknowledged, so a kill
 * between the two only redelivers (and dedup makes that a no-op). URLs of a
 * crawl this shard has not applied yet are handed back for later.
 */
export async function startUrlInbox(options: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  shardId: string;
  frontier: Frontier;
  log: Logger;
}): Promise<UrlInbox> {
  const { js, jsm, shardId, frontier, log } = options;
  const durable = urlConsumerOf(shardId);
  await jsm.consumers.add(URL_STREAM, {
    durable_name: durable,
    filter_subject: urlSubject(shardId),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ACK_WAIT_MS),
  });
  const consumer = await js.consumers.get(URL_STREAM, durable);
  const stop = new AbortController();
  let batches = 0;
  let current: { stop(): void } | undefined;

  function take(msgs: JsMsg[]): void {
    const urls: InboundUrl[] = [];
    const carried: JsMsg[] = [];
    for (const m of msgs) {
      const u = decodeUrlMessage(m.data);
      if (u === undefined) {
        // Nothing can ever read it: keep it out of the way, say so once per message.
        log.warn({ seq: m.seq, subject: m.subject }, "URL message that is not one; dropping it");
        m.term();
        continue;
      }
      urls.push(u);
      carried.push(m);
    }
    if (urls.length === 0) return;
    const result = frontier.ingest(urls);
    const later = new Set(result.unknownCrawl);
    carried.forEach((m, i) => {
      if (later.has(i)) m.nak(UNKNOWN_CRAWL_DELAY_MS);
      else m.ack();
    });
    batches++;
  }

  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        const iter = await consumer.fetch({ max_messages: FETCH_MAX, expires: FETCH_EXPIRES_MS });
        current = iter;
        const msgs: JsMsg[] = [];
        for await (const m of iter) msgs.push(m);
        current = undefined;
        if (msgs.length > 0) {
          try {
            take(msgs);
          } catch (err) {
            // Not committed (the frontier cannot write): they come back, nothing is lost.
            log.error({ err: errorMessage(err), urls: msgs.length }, "cannot queue URLs from other shards");
            for (const m of msgs) m.nak(RETRY_MS);
            await sleep(RETRY_MS, stop.signal);
          }
        }
      } catch (err) {
        if (stop.signal.aborted) break;
        log.warn({ err: errorMessage(err) }, "fetching URLs from other shards failed; trying again");
        await sleep(RETRY_MS, stop.signal);
      }
    }
  })();

  return {
    batches: () => batches,
    async close() {
      stop.abort();
      current?.stop();
      await loop;
    },
  };
}

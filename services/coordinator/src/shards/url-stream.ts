import { URL_STREAM, urlSubject } from "@heed/shared";
import { type JetStreamManager, nanos, RetentionPolicy, StorageType } from "nats";
import type { OutboxEntry } from "../frontier/records.js";
import type { InboundUrl } from "../frontier/shard-urls.js";
import { ensureStream } from "./ensure-stream.js";

/** Each shard's durable consumer of its own subject. */
export function urlConsumerOf(shardId: string): string {
  return `shard-${shardId}`;
}

/**
 * The message id the stream deduplicates on. It names the target shard too: a
 * URL forwarded on (its partition moved) is another message than the one that
 * brought it, and must not be dropped as a repeat of it.
 */
export function urlMessageId(entry: Pick<OutboxEntry, "shard" | "crawlId" | "url">): string {
  return `${entry.shard}|${entry.crawlId}|${entry.url}`;
}

/**
 * A seed added to a running crawl, for one shard: another message than the
 * same URL found as a link (which the target may have dropped as out of scope
 * before it knew the seed).
 */
export function seedMessageId(shard: string, crawlId: string, url: string): string {
  return `${shard}|${crawlId}|seed|${url}`;
}

/** How long the stream remembers message ids: a publish repeated after a crash and restart within it is dropped. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;

/**
 * Creates the URL stream unless it exists. Work-queue retention: a URL leaves
 * the stream once its shard acknowledged it, so the stream holds only what is
 * in transit (and what waits for a shard that is down).
 */
export async function ensureUrlStream(jsm: JetStreamManager, replicas = 1): Promise<void> {
  await ensureStream(
    jsm,
    {
      name: URL_STREAM,
      subjects: [urlSubject(">")],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    },
    replicas,
  );
}

/** A URL message's body, checked: what another shard sent is input like any other. */
export function decodeUrlMessage(data: Uint8Array): InboundUrl | undefined {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null) return undefined;
  const { crawlId, url, depth, via, kind, seed } = body as Record<string, unknown>;
  if (typeof crawlId !== "string" || crawlId === "" || typeof url !== "string" || url === "")
    return undefined;
  if (typeof depth !== "number" || !Number.isInteger(depth) || depth < 0) return undefined;
  if (via !== undefined && typeof via !== "string") return undefined;
  if (kind !== undefined && kind !== "sitemap" && kind !== "tdmrep") return undefined;
  if (seed !== undefined && seed !== true) return undefined;
  return {
    crawlId,
    url,
    depth,
    ...(via !== undefined ? { via } : {}),
    ...(kind !== undefined ? { kind } : {}),
    ...(seed === true ? { seed } : {}),
  };
}

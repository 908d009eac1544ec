import {
  errorMessage,
  hostPlacement,
  type Logger,
  ownerOf,
  requireJetStream,
  SetupError,
  type ShardFleet,
  type ShardMap,
  shardLeaseSubject,
  sleep,
  watchShardFleet,
} from "@heed/shared";
import type { JetStreamManager, NatsConnection } from "nats";
import type { Frontier } from "../frontier/frontier.js";
import { type CrawlBook, openCrawlBook } from "./crawl-book.js";
import type { lateShard } from "./frontier-shard.js";
import { startUrlInbox, type UrlInbox } from "./url-inbox.js";
import { startUrlOutbox, type UrlOutbox } from "./url-outbox.js";
import { ensureUrlStream } from "./url-stream.js";

/** How long a shard waits at start for the fleet's shard map. */
const MAP_WAIT_MS = 30_000;

export interface ShardMode {
  shardId: string;
  /** The subject this shard answers lease requests on. */
  leaseSubject: string;
  /** Crawl creates and state changes for the whole fleet. */
  crawls: CrawlBook;
  outbox: UrlOutbox;
  inbox: UrlInbox;
  fleet: ShardFleet;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

/**
 * The data plane of a sharded coordinator: the URL stream both ways, the
 * fleet's crawls, and the frontier's view of who owns which host. Needs
 * JetStream; fails at start with a setup error that says so.
 */
export async function startShardMode(options: {
  nc: NatsConnection;
  shard: ReturnType<typeof lateShard>;
  frontier: Frontier;
  /** The base lease subject; this shard answers on `${base}.${shardId}`. */
  leaseSubject: string;
  /** Whether this shard's membership is fresh enough to lease (ownership and fencing live elsewhere). */
  membershipFresh: () => boolean;
  log: Logger;
}): Promise<ShardMode> {
  const { nc, shard, frontier, log } = options;
  const shardId = shard.id;
  const js = await requireJetStream(nc);
  const jsm = await nc.jetstreamManager();
  await ensureUrlStream(jsm);
  const fleet = await watchShardFleet(nc, {
    onError: (err) => log.warn({ err: errorMessage(err) }, "shard fleet record that cannot be read"),
  });
  const stops: (() => Promise<void>)[] = [() => fleet.stop()];
  try {
    const map = await waitForMap(fleet, shardId);
    log.info({ shardId, mapVersion: map.version }, "shard map read");
    const placement = placementFor(frontier);
    const outbox = startUrlOutbox({ js, frontier, log: log.child({ component: "url-outbox" }) });
    stops.unshift(() => outbox.close());
    shard.bind({
      routeOf(hostname) {
        const current = fleet.map()?.map;
        if (current === undefined) return undefined;
        const owner = routeTo(current, placement(hostname));
        return owner === undefined || owner === shardId ? undefined : owner;
      },
      mayLease(hostKey) {
        const current = fleet.map()?.map;
        return (
          current !== undefined &&
          ownerOf(current, placement(hostKey)) === shardId &&
          options.membershipFresh()
        );
      },
      outboxFilled: () => outbox.kick(),
    });
    const inbox = await startUrlInbox({
      js,
      jsm,
      shardId,
      frontier,
      log: log.child({ component: "url-inbox" }),
    });
    stops.unshift(() => inbox.close());
    const crawls = await openCrawlBook({ js, shardId, frontier, log: log.child({ component: "crawls" }) });
    stops.unshift(() => crawls.close());
    return {
      shardId,
      leaseSubject: shardLeaseSubject(options.leaseSubject, shardId),
      crawls,
      outbox,
      inbox,
      fleet,
      jsm,
      async close() {
        for (const stop of stops) await stop();
      },
    };
  } catch (err) {
    for (const stop of stops) await stop().catch(() => {});
    throw err;
  }
}

/** A partition's owner, or while it moves the shard it moves to: URLs for it wait there. */
function routeTo(map: ShardMap, partition: number): string | undefined {
  return ownerOf(map, partition) ?? map.moves.find((m) => partition >= m.from && partition < m.to)?.target;
}

/**
 * A host's partition: operator host groups are placed whole, by their first
 * host. Groups come from every crawl's definition, as they apply fleet-wide.
 */
function placementFor(frontier: Frontier): (host: string) => number {
  let known = -1;
  let place: (host: string) => number = () => 0;
  return (host) => {
    const crawls = frontier.store.crawlSpecs.getCount();
    if (crawls !== known) {
      known = crawls;
      const groups = frontier.crawls().flatMap((c) => c.spec.politeness.hostGroups);
      place = hostPlacement(groups);
    }
    return place(host.toLowerCase());
  };
}

async function waitForMap(fleet: ShardFleet, shardId: string): Promise<ShardMap> {
  const deadline = Date.now() + MAP_WAIT_MS;
  for (;;) {
    const current = fleet.map()?.map;
    if (current !== undefined) return current;
    if (Date.now() > deadline)
      throw new SetupError(
        "HEED_SHARD_MAP_MISSING",
        `shard ${shardId}: no shard map on this NATS after ${MAP_WAIT_MS / 1000} s; start the fleet with its shard ids`,
      );
    await sleep(100);
  }
}

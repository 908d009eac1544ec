import { hostname } from "node:os";
import {
  type Logger,
  ownerOf,
  requireJetStream,
  SetupError,
  type ShardFleet,
  type ShardMap,
  shardAdminSubject,
  shardLeaseSubject,
  sleep,
} from "@heed/shared";
import type { JetStreamManager, NatsConnection } from "nats";
import type { Frontier } from "../frontier/frontier.js";
import { type CrawlBook, openCrawlBook } from "./crawl-book.js";
import { type CrawlBudgets, openCrawlBudgets } from "./crawl-budgets.js";
import type { lateShard } from "./frontier-shard.js";
import { type MoveRunner, startMoveRunner } from "./move-runner.js";
import { type ShardOwnership, startShardOwnership } from "./ownership.js";
import { placementFor } from "./placement.js";
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
  /** Crawl-wide budgets and this shard's shares of them. */
  budgets: CrawlBudgets;
  outbox: UrlOutbox;
  inbox: UrlInbox;
  /** Moves of partition ranges to and from this shard. */
  moves: MoveRunner;
  fleet: ShardFleet;
  ownership: ShardOwnership;
  jsm: JetStreamManager;
  /** A host's partition as this shard places it (operator host groups whole). */
  placement: (host: string) => number;
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
  /** Where workers report to: the gRPC listen address with the port it got. */
  grpcListen: string;
  grpcPort: number;
  /** The configured address to publish instead, when the listen address is not what others dial. */
  grpcAdvertise: string;
  /** The lease-signing public key (SPKI DER), published base64 in the member record. */
  signingPublicKeyDer: Buffer;
  ownershipTimeoutMs: number;
  /** Copies JetStream keeps of the shard buckets and the URL stream. */
  jetstreamReplicas: number;
  /** Added to a crawl's fetch timeout for a lease's longest life. */
  leaseMarginMs: number;
  /** The fleet's ids when it starts together: the map is made from them if there is none. */
  shardIds: readonly string[];
  /** A shard the map does not know asks for a range of its own (adding a shard to a running fleet). */
  join: boolean;
  log: Logger;
}): Promise<ShardMode> {
  const { nc, shard, frontier, log } = options;
  const shardId = shard.id;
  const leaseLifetimeMs = () =>
    Math.max(0, ...frontier.crawls().map((c) => c.spec.fetch.timeoutMs)) + options.leaseMarginMs;
  const js = await requireJetStream(nc);
  const jsm = await nc.jetstreamManager();
  await ensureUrlStream(jsm, options.jetstreamReplicas);
  const leaseSubject = shardLeaseSubject(options.leaseSubject, shardId);
  const ownership = await startShardOwnership({
    nc,
    member: {
      shardId,
      grpcAddress: options.grpcAdvertise || advertised(options.grpcListen, options.grpcPort),
      leaseSubject,
      adminSubject: shardAdminSubject(shardId),
      signingPublicKey: options.signingPublicKeyDer.toString("base64"),
      startedAt: Date.now(),
    },
    ownershipTimeoutMs: options.ownershipTimeoutMs,
    replicas: options.jetstreamReplicas,
    // A gained partition's hosts may still be fetched under the previous owner's last leases this long.
    quietAfterGainMs: leaseLifetimeMs,
    ...(options.shardIds.length > 0 ? { initialShardIds: options.shardIds } : {}),
    log,
  });
  const fleet = ownership.fleet;
  const stops: (() => Promise<void>)[] = [() => ownership.stop()];
  try {
    const map = await waitForMap(fleet, shardId);
    log.info({ shardId, mapVersion: map.version }, "shard map read");
    const placement = placementFor(() => frontier.hostGroups());
    const outbox = startUrlOutbox({ js, frontier, log: log.child({ component: "url-outbox" }) });
    stops.unshift(() => outbox.close());
    const budgets = await openCrawlBudgets({
      js,
      shardId,
      frontier,
      fleet,
      replicas: options.jetstreamReplicas,
      log: log.child({ component: "budgets" }),
    });
    stops.unshift(() => budgets.close());
    shard.bind({
      routeOf(hostname) {
        const current = fleet.map()?.map;
        if (current === undefined) return undefined;
        const owner = routeTo(current, placement(hostname));
        return owner === undefined || owner === shardId ? undefined : owner;
      },
      mayLease: (hostKey) => ownership.owns(placement(hostKey)),
      outboxFilled: () => outbox.kick(),
      allowance: (crawl) => budgets.allowance(crawl),
    });
    const inbox = await startUrlInbox({
      js,
      jsm,
      shardId,
      frontier,
      log: log.child({ component: "url-inbox" }),
    });
    stops.unshift(() => inbox.close());
    const crawls = await openCrawlBook({
      js,
      shardId,
      frontier,
      replicas: options.jetstreamReplicas,
      shardIds: () => {
        const map = fleet.map()?.map;
        return [
          ...new Set([
            ...(map?.ranges ?? []).map((r) => r.shard),
            ...(map?.moves ?? []).map((m) => m.target),
          ]),
        ];
      },
      log: log.child({ component: "crawls" }),
    });
    stops.unshift(() => crawls.close());
    // A shard the map has never known joins: a range of the busiest shard moves to it.
    const known = map.ranges.some((r) => r.shard === shardId) || map.moves.some((m) => m.target === shardId);
    const moves = await startMoveRunner({
      js,
      jsm,
      shardId,
      frontier,
      ownership,
      placement,
      leaseLifetimeMs,
      replicas: options.jetstreamReplicas,
      join: !known && options.join,
      log: log.child({ component: "moves" }),
    });
    stops.unshift(() => moves.close());
    return {
      shardId,
      leaseSubject,
      crawls,
      budgets,
      outbox,
      inbox,
      moves,
      fleet,
      ownership,
      jsm,
      placement,
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

/** A listen address workers can dial: a wildcard host is replaced by this machine's name. */
function advertised(listen: string, port: number): string {
  const host = listen.slice(0, listen.lastIndexOf(":"));
  const reachable = host === "" || host === "0.0.0.0" || host === "[::]" ? hostname() : host;
  return `${reachable}:${port}`;
}

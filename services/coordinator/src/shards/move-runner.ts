import { randomBytes } from "node:crypto";
import { errorMessage, type Logger, ownerOf, type ShardMap, type ShardMove, sleep } from "@heed/shared";
import type { JetStreamClient, JetStreamManager, MsgRequest, StoredMsg } from "nats";
import type { Frontier } from "../frontier/frontier.js";
import type { RangeDrop, RangeItem } from "../frontier/range-move.js";
import { isNotFound } from "./ensure-stream.js";
import { updateShardMap } from "./map-store.js";
import { handedOver, joinMove, moveName, parseMoveName, sameMove, withMove, withPhase } from "./move-plan.js";
import {
  decodeMoveMessage,
  encodeMoveMessage,
  ensureMoveStream,
  MOVE_STREAM,
  type MoveMessage,
  moveSubject,
} from "./move-stream.js";
import type { ShardOwnership } from "./ownership.js";
import { activeLeasesIn, exportRange, keysInRange, movedRecords } from "./range-export.js";

/** How often the runner looks at the map's moves (it also looks at once when the map changes). */
const STEP_MS = 250;
/** A fenced range is exported only after its last lease ended and this long has passed since the fence was seen. */
const FENCE_SETTLE_MS = 500;
/** Bytes of records per message: well under NATS's default 1 MB payload limit. */
const BATCH_BYTES = 256 * 1024;
/** Bytes of moved records the target loads per commit: a commit holds the event loop (about 0.25 s per MB here). */
const IMPORT_COMMIT_BYTES = 1024 * 1024;
/** Records deleted per commit at the shard a range left. */
const DROP_BATCH = 500;
/** Publishes in flight while exporting. */
const PUBLISH_WINDOW = 16;

/** Frontier meta keys: a range exported from here (deleted once handed over), and an import's progress. */
const MOVED_OUT = "moved-out:";
const MOVE_IN = "move-in:";

export interface MoveRunner {
  /** Moves this shard finished as source (deleted) or target (handed over), for tests and logs. */
  finished(): number;
  close(): Promise<void>;
}

/**
 * Carries out the map's moves that concern this shard, each phase resumable
 * from the map and the frontier's own store after a crash:
 * - as source in `fencing`: waits until the range's last lease has ended or
 *   expired (nobody owns it meanwhile), then moves the phase on;
 * - as source in `exporting`: notes the range as moved out, publishes its
 *   records to the moves stream (one run: purge, batches, end), moves on;
 * - as target in `importing`: loads each batch in one commit with the stream
 *   position, and after the end hands the range over in one map update;
 * - as source after the hand-over: deletes what moved, then the stream's copy.
 * A shard the map does not know, started with `join`, asks for a range first.
 */
export async function startMoveRunner(options: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  shardId: string;
  frontier: Frontier;
  ownership: ShardOwnership;
  placement: (host: string) => number;
  /** The longest a lease lives: fetch timeout + margin. A moved key starts no earlier than this after its import. */
  leaseLifetimeMs: () => number;
  replicas: number;
  join: boolean;
  log: Logger;
}): Promise<MoveRunner> {
  const { js, jsm, shardId, frontier, ownership, log } = options;
  await ensureMoveStream(jsm, options.replicas);
  if (options.join) {
    const joined = await updateShardMap(ownership.mapBucket, (map) => {
      const move = joinMove(map, shardId);
      return move === undefined ? undefined : withMove(map, move);
    });
    const move = joined.map.moves.find((m) => m.target === shardId);
    if (move !== undefined) log.info({ move: moveName(move) }, "shard joined the fleet; a range moves here");
  }
  const stop = new AbortController();
  const fenceSeen = new Map<string, number>();
  let finished = 0;
  let kick: (() => void) | undefined;
  const unwatch = ownership.fleet.onChange(() => kick?.());

  const inRangeOf = (m: Pick<ShardMove, "from" | "to">) =>
    keysInRange(
      options.placement,
      frontier.crawls().flatMap((c) => c.spec.politeness.hostGroups),
      m.from,
      m.to,
    );

  async function fence(move: ShardMove): Promise<void> {
    const name = moveName(move);
    const seen = fenceSeen.get(name) ?? Date.now();
    fenceSeen.set(name, seen);
    for (let p = move.from; p < move.to; p++) if (ownership.owns(p)) return;
    const active = activeLeasesIn(frontier.store, inRangeOf(move));
    if (active > 0 || Date.now() - seen < FENCE_SETTLE_MS) return;
    await updateShardMap(ownership.mapBucket, (map) => withPhase(map, move, "fencing", "exporting"));
    log.info({ move: name }, "move: range fenced (no lease in flight); exporting");
  }

  async function exportMove(move: ShardMove): Promise<void> {
    const name = moveName(move);
    const subject = moveSubject(name);
    frontier.setMoveMeta(`${MOVED_OUT}${name}`, 1);
    const run = randomBytes(6).toString("hex");
    const started = performance.now();
    // Only this run's records are in the subject when the target starts reading it.
    await jsm.streams.purge(MOVE_STREAM, { filter: subject });
    let batch: RangeItem[] = [];
    let bytes = 0;
    let batches = 0;
    let items = 0;
    const inFlight = new Set<Promise<unknown>>();
    const publish = async (m: MoveMessage, id: string) => {
      while (inFlight.size >= PUBLISH_WINDOW) await Promise.race(inFlight);
      const p = js.publish(subject, encodeMoveMessage(m), { msgID: id });
      inFlight.add(p);
      p.then(
        () => inFlight.delete(p),
        () => inFlight.delete(p),
      );
    };
    const flush = async () => {
      if (batch.length === 0) return;
      await publish({ run, items: batch }, `${name}|${run}|${batches}`);
      batches++;
      batch = [];
      bytes = 0;
    };
    for (const item of exportRange(frontier.store, inRangeOf(move))) {
      if (item.t === "url" && item.rec.state === "leased")
        throw new Error(`${item.rec.url} is leased: the range is not fenced yet`);
      batch.push(item);
      items++;
      bytes += JSON.stringify(item).length;
      if (bytes >= BATCH_BYTES) await flush();
    }
    await flush();
    // Every batch acknowledged before the end: the end follows all of them in the stream.
    await Promise.all(inFlight);
    await js.publish(subject, encodeMoveMessage({ run, end: true, batches, items }), {
      msgID: `${name}|${run}|end`,
    });
    const ms = performance.now() - started;
    await updateShardMap(ownership.mapBucket, (map) => withPhase(map, move, "exporting", "importing"));
    log.info({ move: name, items, batches, ms: Math.round(ms) }, "move: range exported; the target imports");
  }

  async function importMove(move: ShardMove): Promise<void> {
    const name = moveName(move);
    const progressKey = `${MOVE_IN}${name}`;
    const subject = moveSubject(name);
    let seq = (frontier.store.meta.get(progressKey) ?? 0) + 1;
    const started = performance.now();
    let items = 0;
    let ended = false;
    // Several messages per commit (each commit waits for the disk), the stream position with them.
    let pending: RangeItem[] = [];
    let pendingBytes = 0;
    let pendingSeq = 0;
    const commit = () => {
      if (pendingSeq === 0) return;
      // Not before the longest lease lifetime from now: no fetch can overlap one of the old owner's.
      frontier.importRange(pending, {
        notBeforeMs: Date.now() + options.leaseLifetimeMs(),
        progress: { key: progressKey, value: pendingSeq },
      });
      items += pending.length;
      pending = [];
      pendingBytes = 0;
      pendingSeq = 0;
    };
    while (!ended && !stop.signal.aborted) {
      let m: StoredMsg;
      try {
        // The stream API answers `next_by_subj` (nats-server 2.9+); the client types it for direct gets only.
        m = await jsm.streams.getMessage(MOVE_STREAM, {
          seq,
          next_by_subj: subject,
        } as unknown as MsgRequest);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        commit();
        return;
      }
      seq = m.seq + 1;
      const body = decodeMoveMessage(m.data);
      if (body === undefined) {
        log.warn({ move: name, seq: m.seq }, "move: a message that is not part of a move; skipped");
      } else if ("end" in body) {
        ended = true;
        continue;
      } else {
        pending.push(...body.items);
        pendingBytes += m.data.length;
      }
      pendingSeq = m.seq;
      if (pendingBytes >= IMPORT_COMMIT_BYTES) commit();
    }
    commit();
    if (!ended) return;
    await updateShardMap(ownership.mapBucket, (map) => handedOver(map, move));
    frontier.setMoveMeta(progressKey, undefined);
    finished++;
    log.info(
      { move: name, items, ms: Math.round(performance.now() - started) },
      "move: range imported and handed over; it is this shard's now",
    );
  }

  /** Ranges exported from here whose hand-over is done: deleted here, then from the stream. */
  async function dropMovedOut(map: ShardMap): Promise<void> {
    const keys = [
      ...frontier.store.meta.getKeys({ start: MOVED_OUT, end: `${MOVED_OUT}\uffff` }),
    ] as string[];
    for (const key of keys) {
      const name = key.slice(MOVED_OUT.length);
      const move = parseMoveName(name);
      if (move === undefined) continue;
      if (map.moves.some((m) => sameMove(m, move))) continue;
      let mine = false;
      let unowned = false;
      for (let p = move.from; p < move.to; p++) {
        const owner = ownerOf(map, p);
        if (owner === shardId) mine = true;
        if (owner === undefined) unowned = true;
      }
      if (unowned) continue;
      if (mine) {
        // The range is this shard's again (the move was undone): nothing to delete.
        frontier.setMoveMeta(key, undefined);
        continue;
      }
      const started = performance.now();
      let batch: RangeDrop[] = [];
      let dropped = 0;
      for (const drop of movedRecords(frontier.store, inRangeOf(move))) {
        batch.push(drop);
        if (batch.length >= DROP_BATCH) {
          frontier.dropRange(batch);
          dropped += batch.length;
          batch = [];
          await sleep(0);
        }
      }
      frontier.dropRange(batch, key);
      dropped += batch.length;
      await jsm.streams.purge(MOVE_STREAM, { filter: moveSubject(name) });
      finished++;
      log.info(
        { move: name, records: dropped, ms: Math.round(performance.now() - started) },
        "move: range handed over; deleted here",
      );
    }
  }

  async function step(): Promise<void> {
    const map = ownership.map()?.map;
    if (map === undefined) return;
    for (const move of map.moves) {
      if (move.source === shardId && move.phase === "fencing") await fence(move);
      else if (move.source === shardId && move.phase === "exporting") await exportMove(move);
      else if (move.target === shardId && move.phase === "importing") await importMove(move);
    }
    await dropMovedOut(map);
  }

  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        await step();
      } catch (err) {
        if (stop.signal.aborted) break;
        log.warn({ err: errorMessage(err) }, "move step failed; trying again");
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          stop.signal.removeEventListener("abort", wake);
          kick = undefined;
          resolve();
        };
        const timer = setTimeout(wake, STEP_MS);
        kick = wake;
        stop.signal.addEventListener("abort", wake, { once: true });
      });
    }
  })();

  return {
    finished: () => finished,
    async close() {
      stop.abort();
      kick?.();
      unwatch?.();
      await loop;
    },
  };
}

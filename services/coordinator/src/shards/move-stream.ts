import { type JetStreamManager, nanos, RetentionPolicy, StorageType } from "nats";
import type { RangeItem } from "../frontier/range-move.js";
import { ensureStream } from "./ensure-stream.js";

/** Partition ranges on their way between shards: one subject per move, written by its source, read by its target. */
export const MOVE_STREAM = "HEED_MOVES";

export function moveSubject(name: string): string {
  return `heed.moves.${name}`;
}

/** A batch of records, or the end of one complete export run. */
export type MoveMessage =
  | { run: string; items: RangeItem[] }
  | { run: string; end: true; batches: number; items: number };

/** A move left in the stream (its shards gone for good) is dropped after this. */
const MAX_AGE_MS = 7 * 24 * 3600_000;
/** A publish repeated after a lost acknowledgement is dropped within this. */
const DUPLICATE_WINDOW_MS = 2 * 60_000;

export async function ensureMoveStream(jsm: JetStreamManager, replicas = 1): Promise<void> {
  await ensureStream(
    jsm,
    {
      name: MOVE_STREAM,
      subjects: [moveSubject(">")],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(MAX_AGE_MS),
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    },
    replicas,
  );
}

export function encodeMoveMessage(m: MoveMessage): Uint8Array {
  return Buffer.from(JSON.stringify(m));
}

/** A message of the moves stream, checked for its shape (the records inside are the frontier's own). */
export function decodeMoveMessage(data: Uint8Array): MoveMessage | undefined {
  try {
    const m = JSON.parse(Buffer.from(data).toString("utf8")) as Partial<MoveMessage> &
      Record<string, unknown>;
    if (typeof m.run !== "string") return undefined;
    if (m.end === true && typeof m.batches === "number") return m as MoveMessage;
    if (Array.isArray(m.items)) return m as MoveMessage;
    return undefined;
  } catch {
    return undefined;
  }
}

import { boundedText, isValidWorkerId, proto, WORKER_ID_MAX } from "@heed/shared";

/** A worker as the coordinator last heard of it. */
export interface WorkerEntry {
  heartbeat: proto.WorkerHeartbeat;
  lastSeenAtMs: number;
  /** Fetches per second over the heartbeats of the last minute. */
  fetchesPerSecond: number;
}

export interface WorkerRegistry {
  /** Takes a heartbeat in; returns why it was refused, if it was. */
  observe(hb: proto.WorkerHeartbeat, nowMs: number): string | undefined;
  /** Live workers, by id; those that missed three heartbeats are forgotten first. */
  list(nowMs: number): WorkerEntry[];
  has(workerId: string, nowMs: number): boolean;
}

const RATE_WINDOW_MS = 60_000;
/** A worker is gone after this many missed heartbeats. */
const MISSED_BEATS = 3;
/** More live workers than this is not a fleet but a flood; new ids are refused until some expire. */
const MAX_WORKERS = 10_000;
const MAX_TEXT = 128;

/**
 * Live workers from their NATS heartbeats. Nothing here is durable: after a
 * coordinator restart the list fills again within one heartbeat interval.
 */
export function createWorkerRegistry(): WorkerRegistry {
  const workers = new Map<string, { hb: proto.WorkerHeartbeat; lastSeenAtMs: number; samples: Sample[] }>();

  const expire = (nowMs: number) => {
    for (const [id, w] of workers) {
      if (nowMs - w.lastSeenAtMs > MISSED_BEATS * Math.max(w.hb.intervalMs, 100)) workers.delete(id);
    }
  };

  return {
    observe(raw, nowMs) {
      if (!isValidWorkerId(raw.workerId))
        return `worker_id: 1 to ${WORKER_ID_MAX} printable characters, no spaces`;
      // Everything here ends up on an operator's terminal: no control characters, bounded lengths.
      const hb: proto.WorkerHeartbeat = {
        ...raw,
        version: boundedText(raw.version, MAX_TEXT),
        hostname: boundedText(raw.hostname, MAX_TEXT),
      };
      // A stopped worker says so, so it leaves the list at once rather than after three beats.
      if (hb.state === proto.WorkerState.WORKER_STATE_STOPPED) {
        workers.delete(hb.workerId);
        return undefined;
      }
      const w = workers.get(hb.workerId);
      if (w === undefined && workers.size >= MAX_WORKERS) {
        expire(nowMs);
        if (workers.size >= MAX_WORKERS) return `more than ${MAX_WORKERS} live workers`;
      }
      // A restarted worker with the same id starts its counters again.
      const samples = w !== undefined && w.hb.startedAtMs === hb.startedAtMs ? w.samples : [];
      samples.push({ atMs: nowMs, fetched: hb.fetched });
      while (samples.length > 2 && (samples[1] as Sample).atMs <= nowMs - RATE_WINDOW_MS) samples.shift();
      workers.set(hb.workerId, { hb, lastSeenAtMs: nowMs, samples });
      return undefined;
    },
    list(nowMs) {
      expire(nowMs);
      return [...workers.values()]
        .map((w) => ({ heartbeat: w.hb, lastSeenAtMs: w.lastSeenAtMs, fetchesPerSecond: rateOf(w.samples) }))
        .sort((a, b) => a.heartbeat.workerId.localeCompare(b.heartbeat.workerId));
    },
    has(workerId, nowMs) {
      expire(nowMs);
      return workers.has(workerId);
    },
  };
}

interface Sample {
  atMs: number;
  fetched: number;
}

function rateOf(samples: Sample[]): number {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined || last.atMs - first.atMs < 500) return 0;
  return Math.max(0, (last.fetched - first.fetched) / ((last.atMs - first.atMs) / 1000));
}

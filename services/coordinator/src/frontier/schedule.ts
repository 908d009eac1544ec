import { ownString } from "./own-string.js";

/**
 * The in-memory index of hosts that have queued work, by the time they may next
 * be leased. It is rebuilt from LMDB at start, and grows with hosts only.
 */
export interface HostSchedule {
  /** (Re)schedule a host; an earlier or later time replaces the previous one. */
  schedule(hostKey: string, dueMs: number): void;
  unschedule(hostKey: string): void;
  /** The next host due at or before `nowMs`, removed from the schedule. */
  takeDue(nowMs: number): string | undefined;
  /** When the earliest scheduled host becomes due. */
  nextDueMs(): number | undefined;
  /** Whether a host is due at or before `nowMs` (takeDue would return one). */
  hasDue(nowMs: number): boolean;
  /** When this host may next be leased; undefined when it is not scheduled (no queued work, or no room). */
  dueAt(hostKey: string): number | undefined;
  readonly size: number;
}

/**
 * An indexed binary min-heap. At a million hosts the schedule is most of the
 * coordinator's memory and its rebuild most of a restart, so a host costs a
 * map entry from its key to a slot number and a few typed-array cells (its due
 * time, its key, its place in the heap), with no object per host or per
 * change: rescheduling moves the host's one heap entry instead of pushing
 * another, and a restart adds every host first and orders the heap once
 * (`entries`, O(n) instead of O(n log n)).
 */
export function createHostSchedule(entries?: Iterable<[hostKey: string, dueMs: number]>): HostSchedule {
  const slotOf = new Map<string, number>();
  const keyOf: string[] = [];
  let dueOf = new Float64Array(1024);
  /** Where each slot sits in the heap (-1: free). */
  let placeOf = new Int32Array(1024).fill(-1);
  /** The heap: slot numbers, earliest due first. */
  let heap = new Int32Array(1024);
  let size = 0;
  /** Slots freed by unscheduled hosts, reused before new ones. */
  const free: number[] = [];

  const grow = (need: number) => {
    if (need <= dueOf.length) return;
    const cap = Math.max(need, dueOf.length * 2);
    const due = new Float64Array(cap);
    due.set(dueOf);
    dueOf = due;
    const place = new Int32Array(cap).fill(-1);
    place.set(placeOf);
    placeOf = place;
    const h = new Int32Array(cap);
    h.set(heap);
    heap = h;
  };
  const put = (i: number, slot: number) => {
    heap[i] = slot;
    placeOf[slot] = i;
  };
  const up = (i: number) => {
    const slot = heap[i] as number;
    const due = dueOf[slot] as number;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as number;
      if ((dueOf[parent] as number) <= due) break;
      put(i, parent);
      i = p;
    }
    put(i, slot);
  };
  const down = (i: number) => {
    const slot = heap[i] as number;
    const due = dueOf[slot] as number;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      let c = l;
      if (r < size && (dueOf[heap[r] as number] as number) < (dueOf[heap[l] as number] as number)) c = r;
      const child = heap[c] as number;
      if ((dueOf[child] as number) >= due) break;
      put(i, child);
      i = c;
    }
    put(i, slot);
  };
  /** Takes the entry at heap position `i` out and frees its slot. */
  const removeAt = (i: number) => {
    const slot = heap[i] as number;
    size--;
    if (i < size) {
      put(i, heap[size] as number);
      const p = (i - 1) >> 1;
      if (i > 0 && (dueOf[heap[i] as number] as number) < (dueOf[heap[p] as number] as number)) up(i);
      else down(i);
    }
    placeOf[slot] = -1;
    slotOf.delete(keyOf[slot] as string);
    keyOf[slot] = "";
    free.push(slot);
  };
  const newSlot = (hostKey: string): number => {
    const slot = free.pop() ?? slotOf.size;
    grow(slot + 1);
    const key = ownString(hostKey);
    slotOf.set(key, slot);
    keyOf[slot] = key;
    return slot;
  };

  const hasDue = (nowMs: number) => size > 0 && (dueOf[heap[0] as number] as number) <= nowMs;

  if (entries !== undefined) {
    for (const [hostKey, dueMs] of entries) {
      let slot = slotOf.get(hostKey);
      if (slot === undefined) {
        slot = newSlot(hostKey);
        put(size++, slot);
      }
      dueOf[slot] = dueMs;
    }
    for (let i = (size >> 1) - 1; i >= 0; i--) down(i);
  }

  return {
    schedule(hostKey, dueMs) {
      const slot = slotOf.get(hostKey);
      if (slot === undefined) {
        const fresh = newSlot(hostKey);
        dueOf[fresh] = dueMs;
        put(size, fresh);
        up(size++);
        return;
      }
      const was = dueOf[slot] as number;
      if (was === dueMs) return;
      dueOf[slot] = dueMs;
      const i = placeOf[slot] as number;
      if (dueMs < was) up(i);
      else down(i);
    },
    unschedule(hostKey) {
      const slot = slotOf.get(hostKey);
      if (slot !== undefined) removeAt(placeOf[slot] as number);
    },
    takeDue(nowMs) {
      if (!hasDue(nowMs)) return undefined;
      const top = heap[0] as number;
      const key = keyOf[top] as string;
      removeAt(0);
      return key;
    },
    nextDueMs: () => (size === 0 ? undefined : dueOf[heap[0] as number]),
    hasDue,
    dueAt(hostKey) {
      const slot = slotOf.get(hostKey);
      return slot === undefined ? undefined : dueOf[slot];
    },
    get size() {
      return size;
    },
  };
}

import { createDueHeap } from "./heap.js";

/**
 * The in-memory index of hosts that have queued work, by the time they may next
 * be leased. It is rebuilt from LMDB at start; stale heap entries are skipped.
 */
export interface HostSchedule {
  /** (Re)schedule a host; an earlier or later time replaces the previous one. */
  schedule(hostKey: string, dueMs: number): void;
  unschedule(hostKey: string): void;
  /** The next host due at or before `nowMs`, removed from the schedule. */
  takeDue(nowMs: number): string | undefined;
  /** When the earliest scheduled host becomes due. */
  nextDueMs(): number | undefined;
  readonly size: number;
}

export function createHostSchedule(): HostSchedule {
  const heap = createDueHeap();
  const current = new Map<string, number>();
  const dropStale = () => {
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
      if (current.get(top.key) === top.dueMs) return;
      heap.pop();
    }
  };
  return {
    schedule(hostKey, dueMs) {
      if (current.get(hostKey) === dueMs) return;
      current.set(hostKey, dueMs);
      heap.push(dueMs, hostKey);
    },
    unschedule(hostKey) {
      current.delete(hostKey);
    },
    takeDue(nowMs) {
      dropStale();
      const top = heap.peek();
      if (top === undefined || top.dueMs > nowMs) return undefined;
      heap.pop();
      current.delete(top.key);
      return top.key;
    },
    nextDueMs() {
      dropStale();
      return heap.peek()?.dueMs;
    },
    get size() {
      return current.size;
    },
  };
}

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
  /** When this host may next be leased; undefined when it is not scheduled (no queued work, or no room). */
  dueAt(hostKey: string): number | undefined;
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
    dueAt: (hostKey) => current.get(hostKey),
    get size() {
      return current.size;
    },
  };
}

/** A binary min-heap of (due time, key): the hosts ordered by when they may next be leased. */
interface DueHeap {
  push(dueMs: number, key: string): void;
  peek(): { dueMs: number; key: string } | undefined;
  pop(): { dueMs: number; key: string } | undefined;
  readonly size: number;
}

function createDueHeap(): DueHeap {
  const due: number[] = [];
  const keys: string[] = [];
  const swap = (i: number, j: number) => {
    [due[i], due[j]] = [due[j] as number, due[i] as number];
    [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
  };
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((due[p] as number) <= (due[i] as number)) break;
      swap(i, p);
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < due.length && (due[l] as number) < (due[m] as number)) m = l;
      if (r < due.length && (due[r] as number) < (due[m] as number)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  return {
    push(dueMs, key) {
      due.push(dueMs);
      keys.push(key);
      up(due.length - 1);
    },
    peek() {
      return due.length === 0 ? undefined : { dueMs: due[0] as number, key: keys[0] as string };
    },
    pop() {
      if (due.length === 0) return undefined;
      const top = { dueMs: due[0] as number, key: keys[0] as string };
      const lastDue = due.pop() as number;
      const lastKey = keys.pop() as string;
      if (due.length > 0) {
        due[0] = lastDue;
        keys[0] = lastKey;
        down(0);
      }
      return top;
    },
    get size() {
      return due.length;
    },
  };
}

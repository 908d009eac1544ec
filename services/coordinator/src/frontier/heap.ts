/** A binary min-heap of (due time, key): the hosts ordered by when they may next be leased. */
export interface DueHeap {
  push(dueMs: number, key: string): void;
  peek(): { dueMs: number; key: string } | undefined;
  pop(): { dueMs: number; key: string } | undefined;
  readonly size: number;
}

export function createDueHeap(): DueHeap {
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

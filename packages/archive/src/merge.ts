import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { compareCdxjLines } from "./cdxj.js";

interface Head {
  line: string;
  source: AsyncIterator<string>;
}

/**
 * Merge sorted CDXJ files into one sorted stream of lines, reading each file a
 * line at a time: a crawl-wide index costs memory per file, not per capture.
 * A binary heap keeps each step logarithmic in the number of files.
 */
export async function* mergeCdxj(paths: readonly string[]): AsyncGenerator<string> {
  const heap: Head[] = [];
  const less = (a: Head, b: Head) => compareCdxjLines(a.line, b.line) < 0;
  function push(head: Head): void {
    heap.push(head);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i] as Head, heap[parent] as Head)) break;
      [heap[i], heap[parent]] = [heap[parent] as Head, heap[i] as Head];
      i = parent;
    }
  }
  function pop(): Head | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < heap.length && less(heap[l] as Head, heap[smallest] as Head)) smallest = l;
      if (r < heap.length && less(heap[r] as Head, heap[smallest] as Head)) smallest = r;
      if (smallest === i) return top;
      [heap[i], heap[smallest]] = [heap[smallest] as Head, heap[i] as Head];
      i = smallest;
    }
  }
  async function refill(source: AsyncIterator<string>): Promise<void> {
    for (;;) {
      const next = await source.next();
      if (next.done) return;
      if (next.value !== "") return push({ line: next.value, source });
    }
  }
  for (const path of paths) {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    await refill(lines[Symbol.asyncIterator]());
  }
  for (let head = pop(); head !== undefined; head = pop()) {
    yield head.line;
    await refill(head.source);
  }
}

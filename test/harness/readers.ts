import { createConnection } from "node:net";
import { type FrontierReader, openFrontierReader } from "@heed/coordinator";

/**
 * Read-only views of running coordinators' frontiers, one per data
 * directory, kept open until closed. Opening and closing an LMDB environment
 * over and over beside a running writer in another process has made lmdb
 * 3.5.6 lose the writer's last commit (its next transaction started from the
 * one before), seen in a standalone writer/reader pair and in sharded crawls
 * polled every 100 ms: so a test opens each frontier once.
 */
export interface FrontierReaders {
  /**
   * Lets `read` open `dataDir` from now on: call it once its coordinator serves
   * (it opens its frontier before it listens), so no reader races its opening.
   */
  allow(dataDir: string): void;
  /** Undefined until allowed, and while the frontier or its tables do not exist yet. */
  read<T>(dataDir: string, fn: (frontier: FrontierReader) => T): T | undefined;
  close(): Promise<void>;
}

export function frontierReaders(): FrontierReaders {
  const open = new Map<string, FrontierReader>();
  const allowed = new Set<string>();
  return {
    allow: (dataDir) => allowed.add(dataDir),
    read(dataDir, fn) {
      let frontier = open.get(dataDir);
      if (frontier === undefined) {
        if (!allowed.has(dataDir)) return undefined;
        try {
          frontier = openFrontierReader(dataDir);
        } catch {
          return undefined;
        }
        if (!frontier.ready) {
          void frontier.close();
          return undefined;
        }
        open.set(dataDir, frontier);
      }
      return fn(frontier);
    },
    async close() {
      const all = [...open.values()];
      open.clear();
      await Promise.all(all.map((f) => f.close()));
    },
  };
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { backoffMs, errorMessage, type Logger, sleep } from "@heed/shared";
import { CDXJ_SUFFIX, isClosedWarc } from "../names.js";
import type { PutChecksums, S3Client } from "./client.js";

export interface UploaderOptions {
  /** The WARC directory: closed files found here at start are uploaded too (resume after a crash). */
  dir: string;
  client: S3Client;
  prefix: string;
  log: Logger;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Consecutive failed attempts after which the store counts as unhealthy. */
  unhealthyAfterFailures?: number;
  /** Bytes waiting for upload beyond which storage counts as unhealthy even while uploads work. */
  maxPendingBytes?: number;
}

export interface UploaderStatus {
  healthy: boolean;
  /** Why not, when not healthy. */
  reason: string | undefined;
  pendingFiles: number;
  pendingBytes: number;
  uploadedFiles: number;
  uploadedBytes: number;
  failedAttempts: number;
}

export interface Uploader {
  /** Queue a closed file (a WARC or its .cdxj); it is uploaded, verified, then removed locally. */
  enqueue(path: string): void;
  /**
   * Whether captures can safely keep coming: false while the store keeps
   * failing (unreachable, full, refusing) or the local backlog is too large.
   * The worker's lease loop takes no new leases while this is false.
   */
  healthy(): boolean;
  status(): UploaderStatus;
  /** Resolves once nothing is pending (or `signal` aborts). */
  idle(signal?: AbortSignal): Promise<void>;
  /** Stops after the current attempt; files not yet uploaded stay on disk for the next start. */
  close(): Promise<void>;
}

/** Files the uploader owns: closed WARCs and their indexes (never `.open` or temporary files). */
export function isUploadable(name: string): boolean {
  return name.startsWith("heed-") && (isClosedWarc(name) || name.endsWith(`.warc.gz${CDXJ_SUFFIX}`));
}

async function checksums(path: string): Promise<PutChecksums> {
  const md5 = createHash("md5");
  const sha256 = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    md5.update(chunk);
    sha256.update(chunk);
    size += chunk.length;
  }
  return { size, md5Base64: md5.digest("base64"), sha256Hex: sha256.digest("hex") };
}

/**
 * Uploads closed files one at a time, in the order they closed. An upload
 * counts only once a HEAD of the object shows the same size, MD5 (ETag) and
 * sha256 as the local file; only then is the local copy removed. Failures are
 * retried with backoff for as long as it takes: nothing is ever dropped. On
 * start, files left by an earlier run are found and uploaded first; one that
 * was uploaded but not yet removed is verified and removed without sending it
 * again.
 */
export function startUploader(options: UploaderOptions): Uploader {
  const { client, log } = options;
  const retryBaseMs = options.retryBaseMs ?? 1_000;
  const retryMaxMs = options.retryMaxMs ?? 60_000;
  const unhealthyAfter = options.unhealthyAfterFailures ?? 2;
  const maxPendingBytes = options.maxPendingBytes ?? 8 * 1024 ** 3;
  const queue: { path: string; bytes: number }[] = [];
  const queued = new Set<string>();
  const stopping = new AbortController();
  let consecutiveFailures = 0;
  let lastError: string | undefined;
  let uploadedFiles = 0;
  let uploadedBytes = 0;
  let failedAttempts = 0;
  let wake: (() => void) | undefined;
  const idleWaiters = new Set<() => void>();

  function enqueue(path: string, bytes = 0): void {
    if (queued.has(path)) return;
    queued.add(path);
    queue.push({ path, bytes });
    // Sizes are filled in lazily so enqueue stays synchronous for the close hook.
    if (bytes === 0) {
      stat(path).then(
        (s) => {
          const entry = queue.find((q) => q.path === path);
          if (entry) entry.bytes = s.size;
        },
        () => {},
      );
    }
    wake?.();
  }

  async function verified(key: string, sums: PutChecksums): Promise<boolean> {
    const stored = await client.head(key);
    if (stored === undefined) return false;
    const md5Hex = Buffer.from(sums.md5Base64, "base64").toString("hex");
    return stored.size === sums.size && stored.sha256 === sums.sha256Hex && stored.etag === md5Hex;
  }

  async function uploadOne(path: string): Promise<void> {
    const key = `${options.prefix}${basename(path)}`;
    const sums = await checksums(path);
    if (!(await verified(key, sums))) {
      await client.put(key, path, sums);
      if (!(await verified(key, sums))) {
        throw new Error(`${client.where}${basename(path)}: the stored object does not match the local file`);
      }
    }
    await rm(path);
    uploadedFiles++;
    uploadedBytes += sums.size;
    log.info(
      { file: basename(path), bytes: sums.size, sha256: sums.sha256Hex, to: client.where },
      "uploaded",
    );
  }

  async function run(): Promise<void> {
    const names = await readdir(options.dir).catch(() => [] as string[]);
    for (const name of names.filter(isUploadable).sort()) enqueue(join(options.dir, name));
    while (!stopping.signal.aborted) {
      const next = queue[0];
      if (next === undefined) {
        for (const done of idleWaiters) done();
        idleWaiters.clear();
        await new Promise<void>((resolve) => {
          wake = resolve;
          stopping.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        wake = undefined;
        continue;
      }
      try {
        await uploadOne(next.path);
        consecutiveFailures = 0;
        lastError = undefined;
        queue.shift();
        queued.delete(next.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
          // Removed by someone else (an operator, or an earlier run between verify and remove).
          queue.shift();
          queued.delete(next.path);
          continue;
        }
        consecutiveFailures++;
        failedAttempts++;
        lastError = errorMessage(err);
        const waitMs = backoffMs(consecutiveFailures, retryBaseMs, retryMaxMs);
        log.warn(
          { file: basename(next.path), attempt: consecutiveFailures, retryInMs: waitMs, err: lastError },
          "upload failed; the local file is kept and retried",
        );
        await sleep(waitMs, stopping.signal);
      }
    }
  }

  const running = run().catch((err: unknown) => {
    log.error({ err: errorMessage(err) }, "uploader stopped");
  });

  function pendingBytes(): number {
    return queue.reduce((n, q) => n + q.bytes, 0);
  }

  function status(): UploaderStatus {
    const bytes = pendingBytes();
    const reason =
      consecutiveFailures >= unhealthyAfter
        ? `object store failing (${consecutiveFailures} attempts in a row): ${lastError ?? ""}`
        : bytes > maxPendingBytes
          ? `${bytes} bytes wait for upload, more than ${maxPendingBytes}`
          : undefined;
    return {
      healthy: reason === undefined,
      reason,
      pendingFiles: queue.length,
      pendingBytes: bytes,
      uploadedFiles,
      uploadedBytes,
      failedAttempts,
    };
  }

  return {
    enqueue: (path) => enqueue(path),
    healthy: () => status().healthy,
    status,
    idle(signal) {
      if (queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idleWaiters.add(resolve);
        signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    },
    async close() {
      stopping.abort();
      await running;
    },
  };
}

import { access, readdir } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage, type Logger } from "@heed/shared";
import { writeCdxjBeside } from "./cdxj.js";
import { cdxjPathFor, isClosedWarc } from "./names.js";
import { createS3Client, type S3Settings } from "./s3/client.js";
import { startUploader, type Uploader, type UploaderStatus } from "./s3/uploader.js";

export interface CaptureStorageOptions {
  warcDir: string;
  /** Upload closed files here; undefined: keep them in warcDir. */
  s3?: S3Settings;
  maxPendingBytes?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  log: Logger;
}

export interface CaptureStorage {
  /**
   * The WARC writer's close hook: indexes the closed file (`<file>.cdxj`
   * beside it), then queues both for upload when a bucket is set.
   */
  onClosed(path: string): Promise<void>;
  /** False while closed captures cannot be stored safely; the worker then takes no new leases. */
  healthy(): boolean;
  status(): UploaderStatus | undefined;
  /** Resolves once every closed file is uploaded (at once without a bucket). */
  flushed(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * What happens to a WARC file after the writer closes it. On start it also
 * finishes what a crash interrupted: closed files without an index are
 * indexed, and files not yet uploaded are uploaded.
 */
export async function startCaptureStorage(options: CaptureStorageOptions): Promise<CaptureStorage> {
  const log = options.log.child({ component: "capture-storage" });
  const names = await readdir(options.warcDir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith("heed-") && isClosedWarc(n)).sort()) {
    const path = join(options.warcDir, name);
    if (!(await exists(cdxjPathFor(path)))) {
      try {
        await writeCdxjBeside(path);
        log.info({ file: name }, "indexed a WARC file closed before a restart");
      } catch (err) {
        // Never a reason not to start: the file is kept (and uploaded), and export indexes it again.
        log.error({ file: name, err: errorMessage(err) }, "cannot index a closed WARC file");
      }
    }
  }
  let uploader: Uploader | undefined;
  if (options.s3 !== undefined) {
    uploader = startUploader({
      dir: options.warcDir,
      client: createS3Client(options.s3),
      prefix: options.s3.prefix,
      log,
      ...(options.maxPendingBytes !== undefined ? { maxPendingBytes: options.maxPendingBytes } : {}),
      ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
      ...(options.retryMaxMs !== undefined ? { retryMaxMs: options.retryMaxMs } : {}),
    });
  }
  return {
    async onClosed(path) {
      try {
        await writeCdxjBeside(path);
      } catch (err) {
        // The WARC is intact and is still uploaded; its index is rebuilt on the next start or export.
        log.error({ file: path, err: errorMessage(err) }, "cannot index a closed WARC file");
      }
      uploader?.enqueue(path);
      if (await exists(cdxjPathFor(path))) uploader?.enqueue(cdxjPathFor(path));
    },
    healthy: () => uploader?.healthy() ?? true,
    status: () => uploader?.status(),
    flushed: (signal) => uploader?.idle(signal) ?? Promise.resolve(),
    close: async () => {
      await uploader?.close();
    },
  };
}

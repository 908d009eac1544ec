import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * s3rver (the maintained `@20minutes/s3rver` fork: it emulates the S3 REST API
 * on a local directory, checks SigV4 signatures, gives MD5 ETags and keeps
 * user metadata) run as its own process on loopback. It is an emulation, not
 * Amazon S3: it does not check Content-MD5 or x-amz-content-sha256 against the
 * body, which is why the uploader verifies every object with a HEAD.
 */
const MAIN = fileURLToPath(new URL("./s3rver-main.mjs", import.meta.url));

/** s3rver's built-in account. */
export const S3RVER_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface S3rverHandle {
  endpoint: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** Path of a stored object's bytes in s3rver's directory. */
  objectPath(bucket: string, key: string): string;
  /** Stops it (the data stays) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function launch(
  dir: string,
  port: number,
  buckets: string[],
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [MAIN, dir, String(port), ...buckets], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const chosen = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`s3rver did not start: ${out.slice(-500)}`));
    }, 15_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${out.slice(-500)}`));
    });
  });
  return { child, port: chosen };
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  });
}

export async function startS3rver(buckets: string[]): Promise<S3rverHandle> {
  const dir = await mkdtemp(join(tmpdir(), "heed-s3rver-"));
  let { child, port } = await launch(dir, 0, buckets);
  const handle: S3rverHandle = {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    get process() {
      return child;
    },
    objectPath: (bucket, key) => join(dir, bucket, `${key}._S3rver_object`),
    async restart() {
      await kill(child);
      ({ child, port } = await launch(dir, port, []));
    },
    async stop() {
      await kill(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cdxjPathFor,
  createS3Client,
  type S3Settings,
  s3SettingsFrom,
  startCaptureStorage,
  startUploader,
} from "@heed/archive";
import { ConfigError, captureStorageSettings, sleep } from "@heed/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { testLogger } from "./harness/cluster.js";
import { S3RVER_KEYS, type S3rverHandle, startS3rver } from "./harness/s3rver.js";
import { writeFixtureWarc } from "./harness/warc-fixtures.js";

// Uploads go to s3rver, an S3 emulator started here on loopback as its own process.
const BUCKET = "heed-captures";
let s3: S3rverHandle;
let scratch: string;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  scratch = await mkdtemp(join(tmpdir(), "heed-s3-"));
}, 30_000);

afterAll(async () => {
  await s3?.stop();
  await rm(scratch, { recursive: true, force: true });
});

function settings(overrides: Partial<S3Settings> = {}): S3Settings {
  return {
    endpoint: s3.endpoint,
    region: "us-east-1",
    bucket: BUCKET,
    prefix: "crawls/",
    ...S3RVER_KEYS,
    timeoutMs: 1_000,
    ...overrides,
  };
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(50);
  }
}

describe("upload of closed WARC files to S3-compatible storage", () => {
  it("indexes a closed file, uploads it and its index, verifies both, then removes the local copies", async () => {
    const dir = join(scratch, "a");
    const file = await writeFixtureWarc(dir, "c1", [{ url: "http://127.0.0.2/", body: "<p>hello</p>" }]);
    const original = await readFile(file.path);
    const storage = await startCaptureStorage({ warcDir: dir, s3: settings(), log: testLogger() });
    try {
      await storage.onClosed(file.path);
      await storage.flushed();
      expect(existsSync(file.path)).toBe(false);
      expect(existsSync(cdxjPathFor(file.path))).toBe(false);
      expect((await readFile(s3.objectPath(BUCKET, `crawls/${file.name}`))).equals(original)).toBe(true);
      const index = await readFile(s3.objectPath(BUCKET, `crawls/${file.name}.cdxj`), "utf8");
      expect(index).toContain(`"filename":"${file.name}"`);
      const stored = await createS3Client(settings()).head(`crawls/${file.name}`);
      expect(stored?.size).toBe(original.length);
      expect(storage.status()).toMatchObject({ healthy: true, pendingFiles: 0, uploadedFiles: 2 });
    } finally {
      await storage.close();
    }
  });

  it("on start, uploads what an earlier run left, and does not send again a file already stored", async () => {
    const dir = join(scratch, "b");
    const stored = await writeFixtureWarc(dir, "c1", [{ url: "http://127.0.0.3/", body: "<p>one</p>" }], {
      serial: 1,
    });
    const left = await writeFixtureWarc(dir, "c1", [{ url: "http://127.0.0.3/2", body: "<p>two</p>" }], {
      serial: 2,
    });
    // The first run stored this file but was killed before removing it.
    const first = startUploader({
      dir: join(scratch, "empty"),
      client: createS3Client(settings()),
      prefix: "crawls/",
      log: testLogger(),
    });
    first.enqueue(stored.path);
    await first.idle();
    await first.close();
    await writeFile(stored.path, await readFile(s3.objectPath(BUCKET, `crawls/${stored.name}`)));
    const storedAt = (await stat(s3.objectPath(BUCKET, `crawls/${stored.name}`))).mtimeMs;

    const storage = await startCaptureStorage({ warcDir: dir, s3: settings(), log: testLogger() });
    try {
      await until(
        () => !existsSync(stored.path) && !existsSync(left.path) && !existsSync(cdxjPathFor(left.path)),
      );
      expect(existsSync(s3.objectPath(BUCKET, `crawls/${left.name}`))).toBe(true);
      // Indexed at start (it had no index), then uploaded.
      expect(existsSync(s3.objectPath(BUCKET, `crawls/${left.name}.cdxj`))).toBe(true);
      expect((await stat(s3.objectPath(BUCKET, `crawls/${stored.name}`))).mtimeMs).toBe(storedAt);
    } finally {
      await storage.close();
    }
  });

  it("keeps captures and reports unhealthy storage while the store does not answer, then catches up", async () => {
    const dir = join(scratch, "c");
    const storage = await startCaptureStorage({
      warcDir: dir,
      s3: settings(),
      retryBaseMs: 50,
      retryMaxMs: 200,
      log: testLogger(),
    });
    try {
      s3.process.kill("SIGSTOP");
      const file = await writeFixtureWarc(dir, "c1", [{ url: "http://127.0.0.4/", body: "<p>wait</p>" }]);
      await storage.onClosed(file.path);
      await until(() => !storage.healthy());
      expect(storage.status()?.reason).toMatch(/object store failing/);
      expect(existsSync(file.path)).toBe(true);
      s3.process.kill("SIGCONT");
      await until(() => storage.healthy() && !existsSync(file.path));
      expect(existsSync(s3.objectPath(BUCKET, `crawls/${file.name}`))).toBe(true);
    } finally {
      s3.process.kill("SIGCONT");
      await storage.close();
    }
  });

  it("treats a refusing store (wrong key, missing bucket) as unhealthy and never removes the local file", async () => {
    for (const [name, bad] of [
      ["key", settings({ secretAccessKey: "wrong-secret" })],
      ["bucket", settings({ bucket: "no-such-bucket" })],
    ] as const) {
      const dir = join(scratch, `d-${name}`);
      const file = await writeFixtureWarc(dir, "c1", [{ url: "http://127.0.0.5/", body: "<p>kept</p>" }]);
      const storage = await startCaptureStorage({
        warcDir: dir,
        s3: bad,
        retryBaseMs: 20,
        retryMaxMs: 50,
        log: testLogger(),
      });
      try {
        await until(() => !storage.healthy());
        expect(storage.status()?.reason).toMatch(name === "key" ? /HTTP 403/ : /NoSuchBucket/);
        expect(existsSync(file.path)).toBe(true);
      } finally {
        await storage.close();
      }
    }
  });

  it("takes credentials from files or the environment, never both, and refuses a bucket without them", async () => {
    const schema = z.object(captureStorageSettings);
    const keyFile = join(scratch, "key");
    const secretFile = join(scratch, "secret");
    await writeFile(keyFile, "AKIDFILE\n");
    await writeFile(secretFile, "SECRETFILE\n");
    const fromFiles = s3SettingsFrom(
      schema.parse({ s3Bucket: "b", s3AccessKeyFile: keyFile, s3SecretKeyFile: secretFile }),
      {},
    );
    expect(fromFiles).toMatchObject({ accessKeyId: "AKIDFILE", secretAccessKey: "SECRETFILE" });
    expect(fromFiles?.endpoint).toBe("https://s3.us-east-1.amazonaws.com");
    const fromEnv = s3SettingsFrom(schema.parse({ s3Bucket: "b" }), {
      AWS_ACCESS_KEY_ID: "AKIDENV",
      AWS_SECRET_ACCESS_KEY: "SECRETENV",
    });
    expect(fromEnv).toMatchObject({ accessKeyId: "AKIDENV", secretAccessKey: "SECRETENV" });
    expect(() => s3SettingsFrom(schema.parse({ s3Bucket: "b" }), {})).toThrow(ConfigError);
    expect(() =>
      s3SettingsFrom(schema.parse({ s3Bucket: "b", s3AccessKeyFile: keyFile, s3SecretKeyFile: secretFile }), {
        AWS_ACCESS_KEY_ID: "AKIDENV",
      }),
    ).toThrow(/not both/);
    expect(s3SettingsFrom(schema.parse({}), {})).toBeUndefined();
  });
});

import { createReadStream } from "node:fs";
import { HeedError, UnavailableError } from "@heed/shared";
import aws4 from "aws4";
import { request } from "undici";

/**
 * Where and as whom closed files are stored. Credentials come from files or
 * the environment (see `s3SettingsFrom`), never from flags.
 */
export interface S3Settings {
  /** e.g. https://s3.eu-west-1.amazonaws.com, or a MinIO/Ceph/Garage endpoint. Path-style addressing. */
  endpoint: string;
  region: string;
  bucket: string;
  /** Prepended to each file name, e.g. `crawls/2026/`. */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Headers and idle-body timeout of each request: a store that stops answering is a failure, not a hang. */
  timeoutMs: number;
}

/** What a HEAD of a stored object says about it. */
export interface StoredObject {
  size: number;
  /** Quotes removed; for a single-part upload it is the hex MD5 of the content. */
  etag: string;
  /** The sha256 Heed stored with it as user metadata. */
  sha256: string | undefined;
}

export interface PutChecksums {
  size: number;
  md5Base64: string;
  sha256Hex: string;
}

/** The store refused a request or could not be reached; retry later. */
export class StoreError extends UnavailableError {
  override name = "StoreError";
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super("HEED_STORE_FAILED", message, options);
    this.status = status;
  }
}

export interface S3Client {
  put(key: string, path: string, sums: PutChecksums): Promise<void>;
  head(key: string): Promise<StoredObject | undefined>;
  /** A display name for logs: endpoint, bucket and prefix, never credentials. */
  where: string;
}

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/**
 * A minimal S3 client: SigV4 signing by `aws4` (one small package, no
 * dependencies) over undici, which Heed already uses. Two calls are all the
 * upload needs, so the full AWS SDK (dozens of packages) buys nothing here.
 * Bodies stream from disk; their sha256 is signed (x-amz-content-sha256) and
 * their MD5 sent (Content-MD5), so the store itself rejects a body that was
 * changed on the way.
 */
export function createS3Client(settings: S3Settings): S3Client {
  const base = new URL(settings.endpoint);
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new HeedError("HEED_CONFIG_INVALID", `s3Endpoint: ${settings.endpoint} is not an http(s) URL`);
  }
  const basePath = base.pathname.replace(/\/$/, "");
  const credentials = {
    accessKeyId: settings.accessKeyId,
    secretAccessKey: settings.secretAccessKey,
    ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
  };

  function signed(method: string, key: string, headers: Record<string, string>) {
    const path = `${basePath}/${encodeURIComponent(settings.bucket)}/${encodeKey(key)}`;
    const opts = aws4.sign(
      { host: base.host, path, method, service: "s3", region: settings.region, headers },
      credentials,
    );
    return { url: `${base.protocol}//${base.host}${path}`, headers: opts.headers as Record<string, string> };
  }

  async function send(
    method: "PUT" | "HEAD",
    key: string,
    headers: Record<string, string>,
    body?: () => NodeJS.ReadableStream,
  ) {
    const { url, headers: signedHeaders } = signed(method, key, headers);
    try {
      return await request(url, {
        method,
        headers: signedHeaders,
        ...(body ? { body: body() as unknown as import("node:stream").Readable } : {}),
        headersTimeout: settings.timeoutMs,
        bodyTimeout: settings.timeoutMs,
      });
    } catch (err) {
      throw new StoreError(`${method} ${where}/${key}: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  const where = `${settings.endpoint.replace(/\/$/, "")}/${settings.bucket}/${settings.prefix}`;

  return {
    where,
    async put(key, path, sums) {
      const res = await send(
        "PUT",
        key,
        {
          "content-type": "application/octet-stream",
          "content-length": String(sums.size),
          "content-md5": sums.md5Base64,
          "x-amz-content-sha256": sums.sha256Hex,
          "x-amz-meta-sha256": sums.sha256Hex,
        },
        () => createReadStream(path),
      );
      const text = await res.body.text();
      if (res.statusCode !== 200) {
        throw new StoreError(
          `PUT ${where}${key}: HTTP ${res.statusCode} ${errorCodeOf(text)}`,
          res.statusCode,
        );
      }
    },
    async head(key) {
      const res = await send("HEAD", key, { "x-amz-content-sha256": EMPTY_SHA256 });
      await res.body.dump();
      if (res.statusCode === 404) return undefined;
      if (res.statusCode !== 200)
        throw new StoreError(`HEAD ${where}${key}: HTTP ${res.statusCode}`, res.statusCode);
      const header = (name: string) => {
        const v = res.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      return {
        size: Number(header("content-length")),
        etag: (header("etag") ?? "").replace(/"/g, ""),
        sha256: header("x-amz-meta-sha256"),
      };
    },
  };
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The `<Code>` of an S3 error document, for a message a person can act on. */
function errorCodeOf(xml: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1];
  return [code, message].filter(Boolean).join(": ");
}

import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError, errorMessage } from "./errors.js";
import { PARSED_ROBOTS_DEFAULT_MIB } from "./robots.js";
import { shardIdSchema } from "./shards/members.js";
import { WORKER_ID_MAX } from "./worker-id.js";

// Values from env and flags arrive as strings: coerce, but reject nonsense loudly. Only decimal
// digits make a whole number: "0x10", "1e15" or "12abc" are refused, not read as 16, 10^15 or NaN.
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z
      .number({ error: "a whole number in decimal digits" })
      .int("a whole number in decimal digits")
      // Each bound names itself: the schema's own message would call 2000000000 "not a whole number".
      .min(min, `at least ${min}`)
      .max(max, `at most ${max}`),
  );
export const bool = z.preprocess((v) => {
  if (typeof v !== "string") return v;
  const s = v.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(s)) return true;
  if (["0", "false", "no", "off", ""].includes(s)) return false;
  return v;
}, z.boolean());
export const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "")
        : v,
    z.array(item),
  );
const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, "host:port");
/** Where a deployment publishes its Web Bot Auth key directory: an https URL (the Signature-Agent value). */
const signatureAgentUrl = z.union([
  z.literal(""),
  z
    .string()
    .regex(/^https:\/\/[\x21-\x7e]+$/, "an https URL (printable ASCII)")
    .refine((s) => !/["\\]/.test(s), "no quotes or backslashes"),
]);

/** A path to a file (a secret, a certificate); empty: not set. Secrets come from files or env, never flags. */
const optionalFile = z.string().default("");

/**
 * NATS credentials and TLS, the same for coordinator and worker. A token or
 * user:password inside natsUrl works too; secrets by value come from
 * HEED_NATS_TOKEN and HEED_NATS_PASSWORD (see nats-connect.ts).
 */
const natsClientSettings = {
  natsTokenFile: optionalFile,
  natsUser: z.string().default(""),
  natsPasswordFile: optionalFile,
  /** A NATS .creds file (JWT and NKey seed). */
  natsCredsFile: optionalFile,
  /** TLS: trust this CA for the NATS server; a client certificate and key for servers that verify clients. */
  natsCaFile: optionalFile,
  natsCertFile: optionalFile,
  natsKeyFile: optionalFile,
};
export type NatsClientSettings = { [K in keyof typeof natsClientSettings]: string } & { natsUrl: string };

export const coordinatorConfigSchema = z.object({
  dataDir: z.string().min(1).default("heed-data"),
  natsUrl: z.string().min(1).default("nats://127.0.0.1:4222"),
  /** Listen on loopback by default: opening the frontier to a network is a decision. */
  grpcListen: hostPort.default("127.0.0.1:7400"),
  leaseSubject: z.string().min(1).default("heed.lease.request"),
  /**
   * Sharded mode: this coordinator's shard of the fleet (it answers leases on `<leaseSubject>.<shardId>`
   * and needs NATS JetStream). Empty: the one coordinator of its crawls.
   */
  shardId: z.union([z.literal(""), shardIdSchema]).default(""),
  /**
   * Sharded mode: the gRPC address published in this shard's member record, where workers report and
   * operators call. Empty: the listen address, a wildcard host replaced by the machine's name.
   */
  grpcAdvertise: z.union([z.literal(""), hostPort]).default(""),
  /** Sharded mode: how long another shard has to answer an admin call before the answer names it missing. */
  adminFanOutTimeoutMs: int(100, 60_000).default(2000),
  /** The fleet's shard ids when its shards start together: the shard map is made from them if there is none yet. */
  shardIds: listOf(shardIdSchema).default([]),
  /**
   * Sharded mode: a shard the shard map does not know (a new id joining a running fleet) asks for a
   * range of its own: half the biggest range of the shard owning most, moved with its frontier state.
   * Off: it waits without partitions until an operator moves some to it.
   */
  shardJoin: bool.default(true),
  /**
   * Sharded mode: copies JetStream keeps of the shard buckets and the URL stream. 1 on a single
   * nats-server; 3 on a 3-node JetStream cluster, so losing a NATS server loses no member, map, crawl
   * or URL in transit.
   */
  jetstreamReplicas: int(1, 5).default(1),
  /**
   * A shard whose member record was not renewed for this long has lost its keys (the members bucket's TTL,
   * the same for the whole fleet). It stops leasing a third of this before.
   */
  shardOwnershipTimeoutMs: int(3000, 600_000).default(15_000),
  /** Leases live for the fetch timeout (at most `leaseTtlMs`, then renewed) plus this margin. */
  leaseMarginMs: int(100).default(10_000),
  leaseTtlMs: int(100).default(60_000),
  /** On SIGTERM: time to wait for in-flight leases to be reported before closing. */
  drainTimeoutMs: int(0, 3600_000).default(10_000),
  /** HTTP /livez and /readyz (and metrics); empty: off. */
  httpListen: z.union([z.literal(""), hostPort]).default(""),
  sweepIntervalMs: int(10, 60_000).default(250),
  maxWaitHintMs: int(10, 60_000).default(250),
  /**
   * A worker's lease request that finds nothing due is held until a host is (a long poll); then it
   * is answered this much later, so hosts coming due close together go out in one commit. Every
   * millisecond of it is one more of each host's gap: with 2 000 hosts, 5 ms put leases a median
   * 17 ms past their hosts' due time instead of 11.
   */
  leaseLingerMs: int(0, 1000).default(0),
  /**
   * A host's next lease may go out this long before the host is due, carrying when its fetch may
   * start (the worker waits for it, counted from its receipt): the fetch starts on time instead of
   * after the lease round, the commit and the lease's trip. Each lease waiting so holds a slot of its
   * worker's concurrency for at most this long.
   */
  leaseAheadMs: int(0, 1000).default(50),
  /** A due host waits this long for the worker that fetched it last, which may still hold its connection (0: off). */
  hostAffinityGraceMs: int(0, 10_000).default(50),
  /**
   * Heap for parsed robots.txt files (estimated), most recently used kept. Every host being crawled
   * should fit, or its file is parsed again at each lease: `heed_robots_parses_total` rising much
   * faster than `heed_robots_fetches_total` says so. 256 MiB holds about 14 000 hosts with 1 KB files.
   */
  robotsParsedMiB: int(1, 65_536).default(PARSED_ROBOTS_DEFAULT_MIB),
  /**
   * Lease audit records of ended leases kept per crawl: at most this many, and none older than
   * `leaseRecordsMaxAgeMs` (0: no limit; the default keeps them all). Each URL keeps its own evidence.
   */
  leaseRecordsKeep: int(0).default(0),
  leaseRecordsMaxAgeMs: int(0).default(0),
  logLevel: logLevel.default("info"),
  /** Bearer tokens for the admin API (operator: every call; read-only: calls that change nothing). */
  adminTokenFile: optionalFile,
  readOnlyTokenFile: optionalFile,
  /** Workers must present this token on reports and renewals. */
  workerTokenFile: optionalFile,
  /** Allow a non-loopback grpcListen without tokens: anyone who reaches the port controls the crawl. */
  insecure: bool.default(false),
  /** TLS for the gRPC server (certificate and key), and mTLS: client certificates must chain to grpcCaFile. */
  grpcCertFile: optionalFile,
  grpcKeyFile: optionalFile,
  grpcCaFile: optionalFile,
  /** Web Bot Auth: the URL the key directory is published at, and the keys it lists (PKCS#8 PEM files, comma-separated; two during a rotation). */
  signatureAgent: signatureAgentUrl.default(""),
  directoryKeyFiles: listOf(z.string().min(1)).default([]),
  /** Closed WARC files the admin API packs into WACZ (workers on this machine write here). Empty: <dataDir>/warc. */
  warcDir: z.string().default(""),
  ...natsClientSettings,
});
export type CoordinatorConfig = z.output<typeof coordinatorConfigSchema>;

/**
 * Optional upload of closed WARC files (and their CDXJ indexes) to S3-compatible storage.
 * Credentials come from files or the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN), never from flags.
 */
export const captureStorageSettings = {
  /** Empty: no upload; files stay in the WARC directory. */
  s3Bucket: z.string().default(""),
  /** Prepended to each object key, e.g. `crawls/`. */
  s3Prefix: z.string().default(""),
  /** Empty: AWS S3 in s3Region. Any S3-compatible endpoint (MinIO, Ceph, Garage); path-style requests. */
  s3Endpoint: z.string().default(""),
  s3Region: z.string().min(1).default("us-east-1"),
  s3AccessKeyFile: optionalFile,
  s3SecretKeyFile: optionalFile,
  s3TimeoutMs: int(100, 600_000).default(30_000),
  /** Longest wait between upload attempts while the store keeps failing (backoff doubles up to it). */
  s3RetryMaxMs: int(100, 3_600_000).default(60_000),
  /** Captures waiting for upload beyond this many bytes stop the worker taking leases. */
  s3MaxPendingBytes: int(0).default(8 * 1024 ** 3),
};
export type CaptureStorageSettings = {
  [K in keyof typeof captureStorageSettings]: z.output<(typeof captureStorageSettings)[K]>;
};

export const workerConfigSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(WORKER_ID_MAX)
    .regex(/^[\x21-\x7e]+$/, "printable characters without spaces")
    .optional(),
  natsUrl: z.string().min(1).default("nats://127.0.0.1:4222"),
  coordinator: hostPort.default("127.0.0.1:7400"),
  leaseSubject: z.string().min(1).default("heed.lease.request"),
  /**
   * A sharded fleet (several coordinators): `on` leases from every live shard found in the JetStream
   * members bucket (`coordinator` and `leaseSubject` are then unused), `off` uses the one coordinator,
   * `auto` is `on` when the bucket lists a live shard at start.
   */
  shards: z.enum(["auto", "on", "off"]).default("auto"),
  concurrency: int(1, 1024).default(8),
  /** Refuse loopback/private/link-local targets unless this is set (and the crawl allows it). */
  allowPrivateAddresses: bool.default(false),
  leaseRequestTimeoutMs: int(50).default(2000),
  reportBatchMax: int(1, 1000).default(64),
  reportFlushMs: int(0, 10_000).default(20),
  reportBufferMax: int(1).default(10_000),
  /** The coordinator holds an idle worker's lease request this long at most (a long poll; it caps it at 10 s). */
  idlePollMaxMs: int(10).default(1000),
  /** On SIGTERM: time to finish in-flight fetches and flush reports before exiting. */
  drainTimeoutMs: int(0, 3600_000).default(25_000),
  /** HTTP /livez and /readyz; empty: off. */
  httpListen: z.union([z.literal(""), hostPort]).default(""),
  logLevel: logLevel.default("info"),
  /** Presence on NATS: a heartbeat this often; the coordinator forgets a worker after three missed. */
  heartbeatMs: int(100, 60_000).default(2000),
  /** The coordinator's worker token, presented on reports and renewals. */
  tokenFile: optionalFile,
  /** TLS to the coordinator's gRPC port (implied by grpcCaFile): trust grpcCaFile, or the system's CAs. */
  grpcTls: bool.default(false),
  grpcCaFile: optionalFile,
  /** A client certificate and key, for a coordinator that requires mTLS. */
  grpcCertFile: optionalFile,
  grpcKeyFile: optionalFile,
  /**
   * WARC captures are written here (one file series per crawl); a URL is reported done only once
   * its records are on disk. Empty: no captures are kept.
   */
  warcDir: z.string().default(""),
  /** A WARC file is closed, and the next one started, once it passes this size. */
  warcMaxBytes: int(64 * 1024).default(1_000_000_000),
  /** Web Bot Auth: the Ed25519 key requests are signed with (or HEED_SIGNING_KEY, the PEM itself), and the directory URL sent as Signature-Agent. */
  signingKeyFile: optionalFile,
  signatureAgent: signatureAgentUrl.default(""),
  ...natsClientSettings,
  ...captureStorageSettings,
});
export type WorkerConfig = z.output<typeof workerConfigSchema>;

/** Validates a whole config; the first problem becomes one ConfigError naming its key. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, what = "config"): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = issue && issue.path.length > 0 ? issue.path.join(".") : what;
  throw new ConfigError(key, issue?.message ?? "invalid");
}

/** `natsUrl` <- HEED_NATS_URL, for the top-level keys of an object schema. */
export function envLayer(
  schema: z.ZodObject,
  env: NodeJS.ProcessEnv = process.env,
  prefix = "HEED_",
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[envNameOf(key, prefix)];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export function envNameOf(key: string, prefix = "HEED_"): string {
  // A binary unit is one word: robotsParsedMiB <- HEED_ROBOTS_PARSED_MIB, not ..._MI_B.
  const words = key.replace(/([KMG])iB$/, "$1ib");
  return prefix + words.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

export function jsonFileLayer(path: string | undefined): Record<string, unknown> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError("config", `cannot read ${path}: ${errorMessage(err)}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error("expected a JSON object");
    }
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError("config", `${path} is not valid JSON: ${errorMessage(err)}`);
  }
}

/** Precedence: defaults (in the schema) < file < env < flags; undefined never overrides. */
export function mergeLayers(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) out[k] = v;
  }
  return out;
}

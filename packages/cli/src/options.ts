import {
  ConfigError,
  coordinatorConfigSchema,
  envLayer,
  envNameOf,
  jsonFileLayer,
  mergeLayers,
  parseConfig,
  workerConfigSchema,
} from "@heed/shared";
import { type Command, Option } from "commander";
import type { z } from "zod";

/** One flag per config key; its env name and default come from the schema, so docs cannot drift. */
export interface FlagSpec {
  key: string;
  flag: string;
  help: string;
}

/** Flags both services take with the same meaning. */
const HTTP_LISTEN_FLAG: FlagSpec = {
  key: "httpListen",
  flag: "--http-listen <host:port>",
  help: "HTTP /livez, /readyz and /metrics (empty: off)",
};
const LOG_LEVEL_FLAG: FlagSpec = {
  key: "logLevel",
  flag: "--log-level <level>",
  help: "fatal, error, warn, info, debug, trace or silent",
};

const SIGNATURE_AGENT_FLAG: FlagSpec = {
  key: "signatureAgent",
  flag: "--signature-agent <url>",
  help: "https URL of the Web Bot Auth key directory (sent as Signature-Agent)",
};

/** NATS credentials and TLS, the same for both services; secrets by value only from env. */
const NATS_FLAGS: FlagSpec[] = [
  { key: "natsTokenFile", flag: "--nats-token-file <file>", help: "NATS token (or HEED_NATS_TOKEN)" },
  { key: "natsUser", flag: "--nats-user <user>", help: "NATS user name (with a password)" },
  {
    key: "natsPasswordFile",
    flag: "--nats-password-file <file>",
    help: "NATS password (or HEED_NATS_PASSWORD)",
  },
  { key: "natsCredsFile", flag: "--nats-creds-file <file>", help: "NATS .creds file (JWT and NKey seed)" },
  { key: "natsCaFile", flag: "--nats-ca-file <file>", help: "TLS to NATS, trusting this CA" },
  { key: "natsCertFile", flag: "--nats-cert-file <file>", help: "client certificate for NATS TLS" },
  { key: "natsKeyFile", flag: "--nats-key-file <file>", help: "client key for NATS TLS" },
];

export const COORDINATOR_FLAGS: FlagSpec[] = [
  { key: "dataDir", flag: "--data-dir <dir>", help: "where the LMDB frontier lives" },
  {
    key: "warcDir",
    flag: "--warc-dir <dir>",
    help: "closed WARC files that heedctl export wacz packs (default: <data-dir>/warc)",
  },
  { key: "natsUrl", flag: "--nats-url <url>", help: "NATS server to take lease requests from" },
  {
    key: "grpcListen",
    flag: "--grpc-listen <host:port>",
    help: "address of the gRPC Frontier service (port 0: any free port)",
  },
  { key: "leaseSubject", flag: "--lease-subject <subject>", help: "NATS subject lease requests arrive on" },
  {
    key: "shardId",
    flag: "--shard-id <id>",
    help: "join a sharded fleet as this shard (needs NATS with JetStream)",
  },
  {
    key: "shardIds",
    flag: "--shard-ids <ids>",
    help: "the fleet's shard ids, comma-separated: its shard map is made from them if there is none yet",
  },
  {
    key: "shardJoin",
    flag: "--shard-join [bool]",
    help: "sharded: a shard id the shard map does not know takes over half the biggest range, with its frontier state",
  },
  {
    key: "shardOwnershipTimeoutMs",
    flag: "--shard-ownership-timeout-ms <ms>",
    help: "a shard not renewed for this long loses its keys (same for the whole fleet)",
  },
  {
    key: "jetstreamReplicas",
    flag: "--jetstream-replicas <n>",
    help: "sharded: copies NATS keeps of the shard buckets and the URL stream (3 on a 3-node JetStream cluster)",
  },
  {
    key: "grpcAdvertise",
    flag: "--grpc-advertise <host:port>",
    help: "sharded: the gRPC address workers and tools reach this shard at (default: the listen address)",
  },
  {
    key: "adminFanOutTimeoutMs",
    flag: "--admin-fan-out-timeout-ms <ms>",
    help: "sharded: how long another shard has to answer an admin call before the answer names it missing",
  },
  {
    key: "leaseMarginMs",
    flag: "--lease-margin-ms <ms>",
    help: "a lease lives for the fetch timeout plus this",
  },
  HTTP_LISTEN_FLAG,
  { key: "leaseTtlMs", flag: "--lease-ttl-ms <ms>", help: "longest lease before a worker must renew it" },
  {
    key: "drainTimeoutMs",
    flag: "--drain-timeout-ms <ms>",
    help: "on SIGTERM, time to wait for in-flight leases to be reported",
  },
  {
    key: "sweepIntervalMs",
    flag: "--sweep-interval-ms <ms>",
    help: "how often expired leases are re-queued",
  },
  { key: "maxWaitHintMs", flag: "--max-wait-hint-ms <ms>", help: "longest an idle worker is told to wait" },
  {
    key: "leaseLingerMs",
    flag: "--lease-linger-ms <ms>",
    help: "a held lease request is answered this long after a host comes due (hosts due together share a commit; adds to every host's gap)",
  },
  {
    key: "leaseAheadMs",
    flag: "--lease-ahead-ms <ms>",
    help: "a host's next lease may go out this long before the host is due; the worker starts it on time (0: only once due)",
  },
  {
    key: "robotsParsedMiB",
    flag: "--robots-parsed-mib <mib>",
    help: "heap for parsed robots.txt files, most recently used kept (every host being crawled should fit, or its file is parsed again at each lease)",
  },
  {
    key: "hostAffinityGraceMs",
    flag: "--host-affinity-grace-ms <ms>",
    help: "a due host waits this long for the worker that fetched it last, which may hold its connection (0: off)",
  },
  {
    key: "leaseRecordsKeep",
    flag: "--lease-records-keep <n>",
    help: "ended lease audit records kept per crawl (0: all)",
  },
  {
    key: "leaseRecordsMaxAgeMs",
    flag: "--lease-records-max-age-ms <ms>",
    help: "delete ended lease audit records older than this (0: never)",
  },
  LOG_LEVEL_FLAG,
  {
    key: "adminTokenFile",
    flag: "--admin-token-file <file>",
    help: "operator token for the admin API (or HEED_ADMIN_TOKEN)",
  },
  {
    key: "readOnlyTokenFile",
    flag: "--read-only-token-file <file>",
    help: "read-only token for the admin API (or HEED_READ_ONLY_TOKEN)",
  },
  {
    key: "workerTokenFile",
    flag: "--worker-token-file <file>",
    help: "token workers must present (or HEED_WORKER_TOKEN)",
  },
  {
    key: "insecure",
    flag: "--insecure [bool]",
    help: "allow a non-loopback --grpc-listen without tokens (anyone who reaches it controls crawls)",
  },
  { key: "grpcCertFile", flag: "--grpc-cert-file <file>", help: "TLS certificate of the gRPC server" },
  { key: "grpcKeyFile", flag: "--grpc-key-file <file>", help: "TLS key of the gRPC server" },
  {
    key: "grpcCaFile",
    flag: "--grpc-ca-file <file>",
    help: "mTLS: require client certificates signed by this CA",
  },
  SIGNATURE_AGENT_FLAG,
  {
    key: "directoryKeyFiles",
    flag: "--directory-key-files <files>",
    help: "Web Bot Auth keys (PEM, comma-separated) the key directory lists and signs with",
  },
  ...NATS_FLAGS,
];

/** Upload of closed WARC files. Credentials only from files or AWS_* environment variables. */
const S3_FLAGS: FlagSpec[] = [
  {
    key: "s3Bucket",
    flag: "--s3-bucket <bucket>",
    help: "upload closed WARC files and their indexes to this bucket",
  },
  { key: "s3Prefix", flag: "--s3-prefix <prefix>", help: "object key prefix, e.g. crawls/" },
  {
    key: "s3Endpoint",
    flag: "--s3-endpoint <url>",
    help: "S3-compatible endpoint (default: AWS S3 in --s3-region)",
  },
  { key: "s3Region", flag: "--s3-region <region>", help: "region requests are signed for" },
  {
    key: "s3AccessKeyFile",
    flag: "--s3-access-key-file <file>",
    help: "access key id (or AWS_ACCESS_KEY_ID)",
  },
  {
    key: "s3SecretKeyFile",
    flag: "--s3-secret-key-file <file>",
    help: "secret access key (or AWS_SECRET_ACCESS_KEY)",
  },
  {
    key: "s3TimeoutMs",
    flag: "--s3-timeout-ms <ms>",
    help: "give up on an unanswered store request after this",
  },
  {
    key: "s3RetryMaxMs",
    flag: "--s3-retry-max-ms <ms>",
    help: "longest wait between upload attempts while the store fails",
  },
  {
    key: "s3MaxPendingBytes",
    flag: "--s3-max-pending-bytes <n>",
    help: "stop taking leases while more than this waits for upload",
  },
];

export const WORKER_FLAGS: FlagSpec[] = [
  { key: "id", flag: "--id <id>", help: "worker id (default: host-pid-random)" },
  { key: "natsUrl", flag: "--nats-url <url>", help: "NATS server to ask for leases" },
  { key: "coordinator", flag: "--coordinator <host:port>", help: "gRPC address of the coordinator" },
  { key: "leaseSubject", flag: "--lease-subject <subject>", help: "NATS subject to ask for leases on" },
  {
    key: "shards",
    flag: "--shards <mode>",
    help: "auto | on | off: lease from every shard of a sharded fleet (auto: if one is live on NATS)",
  },
  { key: "concurrency", flag: "--concurrency <n>", help: "fetches in flight at once" },
  {
    key: "allowPrivateAddresses",
    flag: "--allow-private-addresses [bool]",
    help: "fetch loopback/private/link-local addresses (the crawl must allow it too)",
  },
  {
    key: "leaseRequestTimeoutMs",
    flag: "--lease-request-timeout-ms <ms>",
    help: "how long to wait for a lease answer",
  },
  { key: "reportBatchMax", flag: "--report-batch-max <n>", help: "results per Report call" },
  { key: "reportFlushMs", flag: "--report-flush-ms <ms>", help: "longest a result waits to be batched" },
  {
    key: "reportBufferMax",
    flag: "--report-buffer-max <n>",
    help: "unsent results kept before pausing leases",
  },
  {
    key: "drainTimeoutMs",
    flag: "--drain-timeout-ms <ms>",
    help: "on SIGTERM, time to finish fetches and flush reports",
  },
  HTTP_LISTEN_FLAG,
  {
    key: "idlePollMaxMs",
    flag: "--idle-poll-max-ms <ms>",
    help: "longest an idle worker goes without asking for leases: the coordinator holds a request until one is due, this long at most (up to 10 s)",
  },
  LOG_LEVEL_FLAG,
  { key: "heartbeatMs", flag: "--heartbeat-ms <ms>", help: "how often to announce this worker on NATS" },
  {
    key: "warcDir",
    flag: "--warc-dir <dir>",
    help: "write WARC captures here; a URL is reported done only once its capture is on disk",
  },
  {
    key: "warcMaxBytes",
    flag: "--warc-max-bytes <n>",
    help: "close a WARC file and start the next past this size",
  },
  {
    key: "tokenFile",
    flag: "--token-file <file>",
    help: "the coordinator's worker token (or HEED_WORKER_TOKEN)",
  },
  { key: "grpcTls", flag: "--grpc-tls [bool]", help: "TLS to the coordinator, trusting the system's CAs" },
  { key: "grpcCaFile", flag: "--grpc-ca-file <file>", help: "TLS to the coordinator, trusting this CA" },
  { key: "grpcCertFile", flag: "--grpc-cert-file <file>", help: "client certificate (coordinator mTLS)" },
  { key: "grpcKeyFile", flag: "--grpc-key-file <file>", help: "client key (coordinator mTLS)" },
  {
    key: "signingKeyFile",
    flag: "--signing-key-file <file>",
    help: "Web Bot Auth signing key, PKCS#8 PEM (or the PEM itself in HEED_SIGNING_KEY)",
  },
  SIGNATURE_AGENT_FLAG,
  ...NATS_FLAGS,
  ...S3_FLAGS,
];

export function addFlags(cmd: Command, flags: FlagSpec[]): Command {
  for (const f of flags) {
    cmd.addOption(new Option(f.flag, `${f.help} [env ${envNameOf(f.key)}]`));
  }
  return cmd.option("--config <file>", "JSON file with any of these settings");
}

/** defaults < --config file < HEED_* env < flags; the first bad value is one ConfigError. */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  flags: FlagSpec[],
  opts: Record<string, unknown>,
  what: string,
): z.output<S> {
  const fromFlags: Record<string, unknown> = {};
  for (const f of flags) if (opts[f.key] !== undefined) fromFlags[f.key] = opts[f.key];
  const file = typeof opts.config === "string" ? opts.config : undefined;
  const merged = mergeLayers(jsonFileLayer(file), envLayer(schema), fromFlags);
  for (const key of Object.keys(merged)) {
    if (!(key in schema.shape)) throw new ConfigError(key, `unknown ${what} setting`);
  }
  return parseConfig(schema, merged, what);
}

export const loadCoordinatorConfig = (opts: Record<string, unknown>) =>
  loadConfig(coordinatorConfigSchema, COORDINATOR_FLAGS, opts, "coordinator");
export const loadWorkerConfig = (opts: Record<string, unknown>) =>
  loadConfig(workerConfigSchema, WORKER_FLAGS, opts, "worker");

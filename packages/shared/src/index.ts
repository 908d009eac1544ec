// What other packages use from @heed/shared, by name; everything else stays inside.

export {
  decidePurposes,
  hasPreferencePurposes,
  type PurposeDecision,
  pageReadings,
  parsePreferences,
  robotsContentUsage,
  type SignalReading,
  TDM_RESERVED,
} from "./aipref/index.js";
export { backoffMs, sleep } from "./backoff.js";
export {
  type CaptureStorageSettings,
  type CoordinatorConfig,
  captureStorageSettings,
  coordinatorConfigSchema,
  envLayer,
  envNameOf,
  int,
  jsonFileLayer,
  mergeLayers,
  parseConfig,
  type WorkerConfig,
  workerConfigSchema,
} from "./config.js";
export {
  type ControlMessageKind,
  checkWorkerProof,
  isFresh,
  PROOF_HEADER,
  publicKeyFromDer,
  SIGNATURE_HEADER,
  signControl,
  verifyControl,
  workerProof,
} from "./control-auth.js";
export {
  CRAWL_PURPOSES,
  type CrawlField,
  type CrawlFieldDoc,
  type CrawlLayers,
  type CrawlPurpose,
  type CrawlSpec,
  type CrawlSpecInput,
  checkedCrawlSpec,
  crawlFields,
  crawlSpecInput,
  crawlSpecSchema,
  type ParsedCrawlSpec,
  parseCrawlSpec,
} from "./crawl-spec.js";
export {
  crawlInputFromProto,
  crawlSpecFromProto,
  crawlSpecToProto,
  protoFieldPath,
} from "./crawl-wire.js";
export {
  AlreadyExistsError,
  ConfigError,
  errorMessage,
  HeedError,
  InvalidInputError,
  InvalidUrlError,
  NotFoundError,
  SetupError,
  StateError,
  UnavailableError,
} from "./errors.js";
export { bearer, grpcClientCredentials, grpcServerCredentials } from "./grpc-tls.js";
export { type ProbeRouteAnswer, type ProbeServer, startProbeServer } from "./http-probe.js";
export { blockedAddressReason, blockedLiteralHost } from "./ip-guard.js";
export { createLimitedWarn, type LimitedWarn } from "./limited-warn.js";
export { createLogger, type Logger, silentLogger } from "./logger.js";
export { BODY_BYTES_BUCKETS, FETCH_SECONDS_BUCKETS } from "./metric-buckets.js";
export { drainAndClose, natsConnectOptions } from "./nats-connect.js";
export * as proto from "./proto.js";
export { parseRetryAfterMs } from "./retry-after.js";
export {
  parsedRobotsStats,
  ROBOTS_MAX_BYTES,
  ROBOTS_READINGS,
  type RobotsPolicy,
  type RobotsReading,
  type RobotsVerdict,
  robotsCrawlDelayMs,
  robotsLineText,
  robotsPolicyFromFetch,
  robotsSitemaps,
  robotsVerdict,
  setParsedRobotsBudget,
} from "./robots.js";
export { readFileSetting, readSecret } from "./secrets.js";
export * from "./shards/index.js";
export {
  COORDINATOR_INBOX_PREFIX,
  DRAIN_SUBJECT,
  HEARTBEAT_SUBJECT,
  SHARD_ADMIN_SUBJECTS,
} from "./subjects.js";
export { boundedText, stripControl } from "./terminal-text.js";
export {
  canonicalizeUrl,
  hostKeyOf,
  isPublicSuffix,
  robotsUrlOf,
  tryCanonicalizeUrl,
  type UrlRefusal,
} from "./url.js";
export { fromHeader, type UserAgentSpec, userAgentHeader } from "./user-agent.js";
export {
  AGENT_CARD_PATH,
  createRequestSigner,
  DIRECTORY_PATH,
  generateSigningKey,
  loadSigningKey,
  loadSigningKeys,
  type RequestSigner,
  signatureAgentCard,
  signedDirectory,
} from "./webbotauth/index.js";
export { isValidWorkerId, WORKER_ID_MAX } from "./worker-id.js";

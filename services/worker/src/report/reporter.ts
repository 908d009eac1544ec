import { type ChannelCredentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { backoffMs, bearer, ConfigError, errorMessage, type Logger, proto } from "@heed/shared";

/** gRPC codes worth trying again: the coordinator is away or busy, not refusing the content. */
const RETRYABLE = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
  status.INTERNAL,
  status.UNKNOWN,
]);

export interface ReporterOptions {
  address: string;
  workerId: string;
  batchMax: number;
  flushMs: number;
  /** Results kept while the coordinator is unreachable; past this the worker stops taking leases. */
  bufferMax: number;
  log: Logger;
  credentials: ChannelCredentials;
  /** The coordinator's worker token, when it requires one. */
  token?: string;
  /** The coordinator refused this worker's token: nothing it reports will be taken. */
  onRefused?: (details: string) => void;
  /** The coordinator's public key for leases and drains, from any Renew answer that carries it. */
  onCoordinatorKey?: (der: Uint8Array) => void;
}

const DIGEST_LOOKUP_TIMEOUT_MS = 2000;

/** Codes that mean the coordinator will never take this worker's reports as it is configured. */
const REFUSED = new Set([status.UNAUTHENTICATED, status.PERMISSION_DENIED]);

export interface Reporter {
  submit(result: proto.FetchResult): void;
  /** Results not yet acknowledged by the coordinator. */
  readonly pending: number;
  readonly full: boolean;
  /** The last Report call failed and results wait for a retry: the coordinator is not reachable. */
  readonly stalled: boolean;
  renew(leaseIds: string[]): Promise<proto.RenewAck[]>;
  /** The first durable capture of a payload fetched under `leaseId`, if the crawl holds one (see LookupDigest). */
  lookupDigest(leaseId: string, payloadDigest: string): Promise<proto.DigestOriginal | undefined>;
  /**
   * Checks the token before any lease is taken (an empty renewal): rejects
   * with a ConfigError if the coordinator refuses it; an unreachable
   * coordinator is not an error here (it may be restarting).
   */
  probe(): Promise<void>;
  /** Sends everything buffered, retrying, until done or `timeoutMs` passes; returns what is left. */
  flush(timeoutMs: number): Promise<number>;
  close(): void;
  /**
   * Closes the client and returns every result not yet acknowledged, to be
   * sent elsewhere (the coordinator moved to a new address). A batch on the
   * wire at that moment may reach the old address too: a report applied
   * twice is refused the second time, never applied twice.
   */
  handOver(): proto.FetchResult[];
}

/**
 * Batches fetch results into Report calls and retries them with backoff while
 * the coordinator is unreachable. Nothing is dropped unless the coordinator
 * rejects it as malformed.
 */
export function createReporter(options: ReporterOptions): Reporter {
  const client = new proto.FrontierServiceClient(options.address, options.credentials, {
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
  const buffer: proto.FetchResult[] = [];
  // When each result was submitted (monotonic): the coordinator starts the host's delay from then.
  const readyAt = new WeakMap<proto.FetchResult, number>();
  let sending = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let handedOver = false;
  const metadata = () => {
    const md = new Metadata();
    if (options.token !== undefined) md.set("authorization", bearer(options.token));
    return md;
  };

  function schedule(delayMs: number) {
    if (timer !== undefined || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void send();
    }, delayMs);
  }

  function send(): Promise<void> {
    if (sending || buffer.length === 0) return Promise.resolve();
    sending = true;
    const batch = buffer.slice(0, options.batchMax);
    const now = performance.now();
    for (const r of batch) r.heldMs = Math.max(0, Math.floor(now - (readyAt.get(r) ?? now)));
    return new Promise<void>((resolve) => {
      client.report(
        { workerId: options.workerId, results: batch },
        metadata(),
        { deadline: Date.now() + 10_000 },
        (err: ServiceError | null, res?: proto.ReportResponse) => {
          sending = false;
          // Handed over: the buffer now belongs to another client.
          if (handedOver) return resolve();
          if (err && RETRYABLE.has(err.code)) {
            failures++;
            const wait = backoffMs(failures, 100, 5000);
            options.log.warn(
              { code: err.code, pending: buffer.length, retryInMs: wait },
              "report failed; will retry",
            );
            schedule(wait);
            resolve();
            return;
          }
          buffer.splice(0, batch.length);
          failures = 0;
          if (err && REFUSED.has(err.code)) {
            options.log.error(
              { code: err.code, details: err.details, dropped: batch.length },
              "the coordinator refused this worker's token; its leases will expire and be retried",
            );
            options.onRefused?.(err.details);
          } else if (err) {
            options.log.error(
              { code: err.code, details: err.details, dropped: batch.length },
              "coordinator rejected reports",
            );
          } else {
            for (const ack of res?.acks ?? []) {
              if (ack.outcome !== proto.ReportOutcome.REPORT_OUTCOME_ACCEPTED) {
                options.log.info(
                  { leaseId: ack.leaseId, outcome: proto.ReportOutcome[ack.outcome], reason: ack.reason },
                  "report not applied",
                );
              }
            }
          }
          if (buffer.length > 0) schedule(0);
          resolve();
        },
      );
    });
  }

  function close() {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    try {
      client.close();
    } catch (err) {
      options.log.debug({ err: errorMessage(err) }, "closing report client");
    }
  }

  const learnKey = (res: proto.RenewResponse | undefined) => {
    if (res !== undefined && res.coordinatorKey.length > 0) options.onCoordinatorKey?.(res.coordinatorKey);
  };

  return {
    submit(result) {
      buffer.push(result);
      readyAt.set(result, performance.now());
      if (buffer.length >= options.batchMax) schedule(0);
      else schedule(options.flushMs);
    },
    renew(leaseIds) {
      return new Promise((resolve, reject) =>
        client.renew(
          { workerId: options.workerId, leaseIds },
          metadata(),
          { deadline: Date.now() + 5000 },
          (err: ServiceError | null, res?: proto.RenewResponse) => {
            if (err) return reject(err);
            learnKey(res);
            resolve(res?.acks ?? []);
          },
        ),
      );
    },
    lookupDigest(leaseId, payloadDigest) {
      return new Promise((resolve, reject) =>
        client.lookupDigest(
          { workerId: options.workerId, leaseId, payloadDigest },
          metadata(),
          // Short: while it waits the lease runs on, and a miss only costs storing the payload.
          { deadline: Date.now() + DIGEST_LOOKUP_TIMEOUT_MS },
          (err: ServiceError | null, res?: proto.LookupDigestResponse) =>
            err ? reject(err) : resolve(res?.original),
        ),
      );
    },
    probe() {
      return new Promise((resolve, reject) =>
        client.renew(
          { workerId: options.workerId, leaseIds: [] },
          metadata(),
          { deadline: Date.now() + 5000 },
          (err: ServiceError | null, res?: proto.RenewResponse) => {
            learnKey(res);
            if (err && REFUSED.has(err.code)) {
              reject(
                new ConfigError("tokenFile", `the coordinator refused the worker token: ${err.details}`),
              );
            } else {
              if (err)
                options.log.warn({ code: err.code, details: err.details }, "coordinator not reachable yet");
              resolve();
            }
          },
        ),
      );
    },
    get pending() {
      return buffer.length;
    },
    get stalled() {
      return failures > 0;
    },
    get full() {
      return buffer.length >= options.bufferMax;
    },
    async flush(timeoutMs) {
      if (buffer.length === 0) return 0;
      const deadline = Date.now() + timeoutMs;
      while (buffer.length > 0 && Date.now() < deadline) {
        if (timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
        }
        await send();
        if (buffer.length > 0) {
          await new Promise<void>((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
        }
      }
      return buffer.length;
    },
    close,
    handOver() {
      handedOver = true;
      close();
      return buffer.splice(0);
    },
  };
}

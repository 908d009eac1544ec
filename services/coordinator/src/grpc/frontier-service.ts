import { type ServerUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import { errorMessage, isValidWorkerId, type Logger, type proto, WORKER_ID_MAX } from "@heed/shared";
import type { Auth } from "../admin/auth.js";
import { toGrpcError } from "../admin/status.js";
import type { Frontier } from "../frontier/frontier.js";
import { captureToProto, reportAnswerToProto, reportFromProto } from "./report-wire.js";

const MAX_RESULTS = 1000;

/**
 * The gRPC face of the frontier for workers: batched reports, validated,
 * acknowledged per lease. With a worker token configured, only callers that
 * present it may report or renew: a report decides what the crawl proves.
 */
export function frontierService(
  frontier: Frontier,
  auth: Auth,
  coordinatorKey: Buffer,
  log: Logger,
): proto.FrontierServiceServer {
  const refused = (call: ServerUnaryCall<unknown, unknown>, rpc: string) => {
    const r = auth.worker(call.metadata);
    if (r !== undefined) log.warn({ rpc, peer: call.getPeer(), details: r.details }, "worker call refused");
    return r;
  };
  return {
    report(
      call: ServerUnaryCall<proto.ReportRequest, proto.ReportResponse>,
      callback: sendUnaryData<proto.ReportResponse>,
    ) {
      const denied = refused(call, "Report");
      if (denied !== undefined) return callback(denied);
      const req = call.request;
      const invalid = validate(req);
      if (invalid !== undefined) {
        callback({ code: status.INVALID_ARGUMENT, details: invalid });
        return;
      }
      frontier.report(req.workerId, req.results.map(reportFromProto)).then(
        (answers) => {
          for (const a of answers) {
            if (a.outcome !== "accepted") {
              log.info(
                { leaseId: a.leaseId, workerId: req.workerId, outcome: a.outcome, reason: a.reason },
                "report not applied",
              );
            }
          }
          callback(null, { acks: answers.map(reportAnswerToProto) });
        },
        (err: unknown) => {
          log.error({ err: errorMessage(err), workerId: req.workerId }, "report failed");
          // UNAVAILABLE (the frontier cannot commit now) tells the worker to keep the results and retry.
          failed(callback, "report", err);
        },
      );
    },
    renew(
      call: ServerUnaryCall<proto.RenewRequest, proto.RenewResponse>,
      callback: sendUnaryData<proto.RenewResponse>,
    ) {
      const denied = refused(call, "Renew");
      if (denied !== undefined) return callback(denied);
      const req = call.request;
      if (!isValidWorkerId(req.workerId))
        return callback({ code: status.INVALID_ARGUMENT, details: WORKER_ID_RULE });
      if (req.leaseIds.length > MAX_RESULTS) {
        return callback({
          code: status.INVALID_ARGUMENT,
          details: `lease_ids: at most ${MAX_RESULTS} per call`,
        });
      }
      frontier.renew(req.workerId, req.leaseIds).then(
        (acks) => callback(null, { acks, coordinatorKey }),
        (err: unknown) => failed(callback, "renew", err),
      );
    },
    lookupDigest(
      call: ServerUnaryCall<proto.LookupDigestRequest, proto.LookupDigestResponse>,
      callback: sendUnaryData<proto.LookupDigestResponse>,
    ) {
      const denied = refused(call, "LookupDigest");
      if (denied !== undefined) return callback(denied);
      const req = call.request;
      if (!isValidWorkerId(req.workerId))
        return callback({ code: status.INVALID_ARGUMENT, details: WORKER_ID_RULE });
      if (!PAYLOAD_DIGEST.test(req.payloadDigest))
        return callback({ code: status.INVALID_ARGUMENT, details: "payload_digest: sha256:<64 hex digits>" });
      frontier.lookupDigest(req.workerId, req.leaseId, req.payloadDigest).then(
        (o) =>
          callback(
            null,
            o === undefined
              ? {}
              : {
                  original: {
                    crawlId: o.crawlId,
                    url: o.url,
                    date: o.date,
                    recordId: o.recordId,
                    capture: captureToProto(o.capture),
                  },
                },
          ),
        (err: unknown) => failed(callback, "digest lookup", err),
      );
    },
  };
}

/** The payload digest form the workers' capture writes (WARC-Payload-Digest). */
const PAYLOAD_DIGEST = /^sha256:[0-9a-f]{64}$/;

const WORKER_ID_RULE = `worker_id: 1 to ${WORKER_ID_MAX} printable characters, no spaces`;

function validate(req: proto.ReportRequest): string | undefined {
  if (!isValidWorkerId(req.workerId)) return WORKER_ID_RULE;
  if (req.results.length > MAX_RESULTS) return `results: at most ${MAX_RESULTS} per call`;
  for (const [i, r] of req.results.entries()) {
    if (r.leaseId === "") return `results[${i}].lease_id: required`;
    if (r.statusCode > 999) return `results[${i}].status_code: not an HTTP status`;
  }
  return undefined;
}

/** Answers a call with the status its error maps to, naming what failed. */
function failed<T>(callback: sendUnaryData<T>, what: string, err: unknown): void {
  const e = toGrpcError(err);
  callback({ code: e.code, details: `${what} failed: ${e.details}` });
}

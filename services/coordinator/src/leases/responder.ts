import {
  checkWorkerProof,
  errorMessage,
  fromHeader,
  isFresh,
  isValidWorkerId,
  type LimitedWarn,
  type Logger,
  PROOF_HEADER,
  proto,
  SIGNATURE_HEADER,
  signControl,
  userAgentHeader,
} from "@heed/shared";
import { headers, type Msg, type NatsConnection, type Subscription } from "nats";
import type { Frontier } from "../frontier/frontier.js";
import type { GrantKind, LeaseGrant } from "../frontier/records.js";
import type { SigningKey } from "./signing-key.js";

/** Workers of every coordinator share this queue group so each request is answered once. */
export const LEASE_QUEUE_GROUP = "heed-coordinators";
const MAX_CAPACITY = 1000;
/** What a refused or undecodable request is told: ask again, not at once. */
const REFUSED_RETRY_MS = 5000;
/** Reply subjects already answered are remembered this long (a replayed request is refused). */
const REPLAY_WINDOW_MS = 2 * 60_000;
const REPLAY_MEMORY_MAX = 200_000;

export interface LeaseResponderOptions {
  subject: string;
  frontier: Frontier;
  log: Logger;
  /** With a worker token, requests must carry its proof: no proof, no lease. */
  workerToken: string | undefined;
  /** Every answer is signed with it, so workers act on this coordinator's leases only. */
  key: SigningKey;
  /** Counted and rate-limited warnings about bad requests. */
  warn: LimitedWarn;
}

/**
 * Answers lease requests over NATS: a worker asks for up to N, the frontier
 * hands out what is due now. Pull keeps every timing decision here.
 */
export function serveLeases(nc: NatsConnection, options: LeaseResponderOptions): Subscription {
  const { frontier, log, warn, workerToken, key } = options;
  const answered = new Map<string, number>();
  const remember = (reply: string, nowMs: number): boolean => {
    if (answered.has(reply)) return false;
    if (answered.size >= REPLAY_MEMORY_MAX) {
      for (const [r, until] of answered) if (until < nowMs) answered.delete(r);
      // Still full of live entries: forget the oldest half rather than grow without bound.
      if (answered.size >= REPLAY_MEMORY_MAX) {
        let drop = answered.size / 2;
        for (const r of answered.keys()) {
          if (drop-- <= 0) break;
          answered.delete(r);
        }
      }
    }
    answered.set(reply, nowMs + REPLAY_WINDOW_MS);
    return true;
  };

  const respond = (msg: Msg, reply: proto.LeaseBatch) => {
    if (!msg.reply) return;
    // A held request can be answered after the connection closed (the coordinator stopping): the
    // worker's request then times out and it asks again, as after any lost answer.
    if (nc.isClosed()) {
      if (reply.leases.length > 0)
        log.warn({ leases: reply.leases.length }, "lease answer not sent: NATS closed");
      return;
    }
    const data = proto.LeaseBatch.encode(reply).finish();
    const h = headers();
    h.set(SIGNATURE_HEADER, signControl(key.privateKey, "lease-batch", msg.reply, data));
    msg.respond(data, { headers: h });
  };
  const refuse = (msg: Msg) => respond(msg, { leases: [], retryAfterMs: REFUSED_RETRY_MS, waited: false });

  return nc.subscribe(options.subject, {
    queue: LEASE_QUEUE_GROUP,
    callback: (err, msg) => {
      if (err) {
        log.error({ err }, "lease subscription failed");
        return;
      }
      if (!msg.reply) return warn("lease-request-no-reply", {}, "lease request without a reply subject");
      if (
        workerToken !== undefined &&
        !checkWorkerProof(workerToken, "lease-request", msg.reply, msg.data, msg.headers?.get(PROOF_HEADER))
      ) {
        warn("lease-request-proof", {}, "lease request without a valid worker-token proof; no lease");
        return refuse(msg);
      }
      let req: proto.LeaseRequest;
      try {
        req = proto.LeaseRequest.decode(msg.data);
      } catch (e) {
        warn("lease-request-undecodable", { err: errorMessage(e) }, "undecodable lease request");
        return refuse(msg);
      }
      const now = Date.now();
      if (workerToken !== undefined && (!isFresh(req.sentAtMs, now) || !remember(msg.reply, now))) {
        warn("lease-request-replay", { sentAtMs: req.sentAtMs }, "stale or replayed lease request; no lease");
        return refuse(msg);
      }
      if (!isValidWorkerId(req.workerId)) {
        warn(
          "lease-request-worker-id",
          { length: req.workerId.length },
          "lease request with a bad worker id",
        );
        return refuse(msg);
      }
      if (req.capacity === 0) {
        warn("lease-request-capacity", { workerId: req.workerId }, "lease request without capacity");
        return refuse(msg);
      }
      frontier.lease(req.workerId, Math.min(req.capacity, MAX_CAPACITY), req.requestId, req.waitMs).then(
        (reply) => {
          // One object per lease is built only when someone reads them: this runs for every lease issued.
          if (log.isLevelEnabled("debug")) {
            for (const l of reply.leases)
              log.debug(
                { leaseId: l.id, crawlId: l.crawlId, host: l.hostKey, workerId: req.workerId, kind: l.kind },
                "lease issued",
              );
          }
          const sentAtMs = Date.now();
          respond(msg, {
            leases: reply.leases.map((g) => leaseToProto(g, { sentAtMs })),
            retryAfterMs: reply.retryAfterMs,
            waited: reply.waited === true,
          });
        },
        (e: unknown) => {
          log.error({ err: errorMessage(e) }, "cannot answer lease request");
          respond(msg, { leases: [], retryAfterMs: 1000, waited: false });
        },
      );
    },
  });
}

const KIND: Record<GrantKind, proto.LeaseKind> = {
  page: proto.LeaseKind.LEASE_KIND_PAGE,
  robots: proto.LeaseKind.LEASE_KIND_ROBOTS,
  sitemap: proto.LeaseKind.LEASE_KIND_SITEMAP,
  tdmrep: proto.LeaseKind.LEASE_KIND_TDMREP,
};

/**
 * A grant as workers receive it, with the crawl's User-Agent and From headers spelled out; sent at
 * `sentAtMs`, from which its start-after counts (the worker counts it from its receipt, later still).
 */
export function leaseToProto(g: LeaseGrant, { sentAtMs = g.issuedAtMs } = {}): proto.Lease {
  return {
    id: g.id,
    crawlId: g.crawlId,
    url: g.url,
    hostKey: g.hostKey,
    kind: KIND[g.kind],
    issuedAtMs: g.issuedAtMs,
    notBeforeMs: g.startsAtMs,
    startAfterMs: Math.max(0, Math.ceil(g.startsAtMs - sentAtMs)),
    expiresAtMs: g.expiresAtMs,
    attempt: g.attempt,
    limits: g.limits,
    userAgent: userAgentHeader(g.userAgent),
    from: fromHeader(g.userAgent),
    allowPrivateAddresses: g.allowPrivateAddresses,
    signRequests: g.signRequests,
    dedupPayloads: g.dedupPayloads,
    evidence: g.evidence,
    purposes: g.purposes,
    ...(g.earlier !== undefined ? { earlier: g.earlier } : {}),
  };
}

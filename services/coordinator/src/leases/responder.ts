import { errorMessage, fromHeader, type Logger, proto, userAgentHeader } from "@heed/shared";
import type { NatsConnection, Subscription } from "nats";
import type { Frontier } from "../frontier/frontier.js";
import type { GrantKind, LeaseGrant } from "../frontier/records.js";

/** Workers of every coordinator share this queue group so each request is answered once. */
export const LEASE_QUEUE_GROUP = "heed-coordinators";
const MAX_CAPACITY = 1000;

/**
 * Answers lease requests over NATS: a worker asks for up to N, the frontier
 * hands out what is due now. Pull keeps every timing decision here.
 */
export function serveLeases(
  nc: NatsConnection,
  subject: string,
  frontier: Frontier,
  log: Logger,
): Subscription {
  return nc.subscribe(subject, {
    queue: LEASE_QUEUE_GROUP,
    callback: (err, msg) => {
      if (err) {
        log.error({ err }, "lease subscription failed");
        return;
      }
      const respond = (reply: proto.LeaseBatch) => {
        if (msg.reply) msg.respond(proto.LeaseBatch.encode(reply).finish());
      };
      let req: proto.LeaseRequest;
      try {
        req = proto.LeaseRequest.decode(msg.data);
      } catch (e) {
        log.warn({ err: errorMessage(e) }, "undecodable lease request");
        return respond({ leases: [], retryAfterMs: 1000 });
      }
      if (req.workerId === "" || req.capacity === 0) {
        log.warn(
          { workerId: req.workerId, capacity: req.capacity },
          "lease request without worker id or capacity",
        );
        return respond({ leases: [], retryAfterMs: 1000 });
      }
      frontier.lease(req.workerId, Math.min(req.capacity, MAX_CAPACITY), req.requestId).then(
        (reply) => {
          for (const l of reply.leases) {
            log.debug(
              { leaseId: l.id, crawlId: l.crawlId, host: l.hostKey, workerId: req.workerId, kind: l.kind },
              "lease issued",
            );
          }
          respond({ leases: reply.leases.map(leaseToProto), retryAfterMs: reply.retryAfterMs });
        },
        (e: unknown) => {
          log.error({ err: errorMessage(e) }, "cannot answer lease request");
          respond({ leases: [], retryAfterMs: 1000 });
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

/** A grant as workers receive it, with the crawl's User-Agent and From headers spelled out. */
export function leaseToProto(g: LeaseGrant): proto.Lease {
  return {
    id: g.id,
    crawlId: g.crawlId,
    url: g.url,
    hostKey: g.hostKey,
    kind: KIND[g.kind],
    issuedAtMs: g.issuedAtMs,
    notBeforeMs: g.issuedAtMs,
    expiresAtMs: g.expiresAtMs,
    attempt: g.attempt,
    limits: g.limits,
    userAgent: userAgentHeader(g.userAgent),
    from: fromHeader(g.userAgent),
    allowPrivateAddresses: g.allowPrivateAddresses,
    signRequests: g.signRequests,
  };
}

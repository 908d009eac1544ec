import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import {
  DRAIN_SUBJECT,
  leaseIdWithShard,
  proto,
  type ShardMember,
  SIGNATURE_HEADER,
  shardAdminSubject,
  shardLeaseSubject,
  signControl,
} from "@heed/shared";
import { headers, type NatsConnection, type Subscription } from "nats";

/**
 * One shard as a worker sees it, for worker tests: a NATS responder on its
 * lease subject handing out signed leases for the URLs offered to it, and a
 * real gRPC server implementing the Frontier service that records every
 * result reported to it. Stop it to play a shard that is down; restart it on
 * the same port and subject.
 */
export interface ShardStandIn {
  id: string;
  /** Its member record, as a coordinator would put it in the members bucket. */
  member: ShardMember;
  /** Every result reported to it, in arrival order (both phases). */
  reports: proto.FetchResult[];
  /** Every lease it handed out. */
  issued: proto.Lease[];
  /** URLs to lease out, first come first served. */
  offer(urls: string[]): void;
  /** Answers no lease request and takes no report until restarted. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Publishes a drain signed as this shard would pass on an operator's (every worker: no id). */
  drain(workerId?: string): Promise<void>;
}

export interface ShardStandInOptions {
  leaseSubjectBase?: string;
  leaseMs?: number;
  /** Sign answers with this key instead of the one in the member record (a forger). */
  signWith?: KeyObject;
  /** Lease ids are made with this shard id instead of its own (a shard issuing another's leases). */
  leaseIdShard?: string;
}

export async function startShardStandIn(
  nc: NatsConnection,
  id: string,
  options: ShardStandInOptions = {},
): Promise<ShardStandIn> {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const leaseMs = options.leaseMs ?? 30_000;
  const leaseSubject = shardLeaseSubject(options.leaseSubjectBase ?? "heed.lease.request", id);
  const queue: string[] = [];
  const reports: proto.FetchResult[] = [];
  const issued: proto.Lease[] = [];
  let next = 0;
  let grpc: Server | undefined;
  let sub: Subscription | undefined;
  let port = 0;

  const answer = (data: Uint8Array): proto.LeaseBatch => {
    const req = proto.LeaseRequest.decode(data);
    const now = Date.now();
    const leases = queue.splice(0, req.capacity).map((url) =>
      proto.Lease.fromPartial({
        id: leaseIdWithShard(options.leaseIdShard ?? id, String(next++)),
        crawlId: "fleet",
        url,
        hostKey: new URL(url).host,
        kind: proto.LeaseKind.LEASE_KIND_PAGE,
        issuedAtMs: now,
        notBeforeMs: now,
        expiresAtMs: now + leaseMs,
        userAgent: "HeedBot/0.1 (+mailto:ops@example.org)",
        from: "ops@example.org",
        allowPrivateAddresses: true,
        limits: { timeoutMs: 5000, maxBytes: 100_000, maxRedirects: 0, maxOutlinks: 100 },
      }),
    );
    issued.push(...leases);
    return { leases, retryAfterMs: leases.length > 0 ? 0 : 50, waited: false };
  };

  const serve = async () => {
    sub = nc.subscribe(leaseSubject, {
      callback: (_err, msg) => {
        if (!msg.reply) return;
        const data = proto.LeaseBatch.encode(answer(msg.data)).finish();
        const h = headers();
        h.set(SIGNATURE_HEADER, signControl(options.signWith ?? privateKey, "lease-batch", msg.reply, data));
        msg.respond(data, { headers: h });
      },
    });
    grpc = new Server();
    const service: proto.FrontierServiceServer = {
      report(
        call: ServerUnaryCall<proto.ReportRequest, proto.ReportResponse>,
        cb: sendUnaryData<proto.ReportResponse>,
      ) {
        reports.push(...call.request.results);
        cb(null, {
          acks: call.request.results.map((r) => ({
            leaseId: r.leaseId,
            outcome: proto.ReportOutcome.REPORT_OUTCOME_ACCEPTED,
            reason: "",
          })),
        });
      },
      renew(
        call: ServerUnaryCall<proto.RenewRequest, proto.RenewResponse>,
        cb: sendUnaryData<proto.RenewResponse>,
      ) {
        const expiresAtMs = Date.now() + leaseMs;
        cb(null, {
          acks: call.request.leaseIds.map((leaseId) => ({ leaseId, renewed: true, expiresAtMs, reason: "" })),
          coordinatorKey: Buffer.alloc(0),
        });
      },
      lookupDigest(
        _call: ServerUnaryCall<proto.LookupDigestRequest, proto.LookupDigestResponse>,
        cb: sendUnaryData<proto.LookupDigestResponse>,
      ) {
        cb(null, {});
      },
    };
    grpc.addService(proto.FrontierServiceService, service);
    port = await new Promise<number>((resolve, reject) =>
      grpc?.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    await nc.flush();
  };
  await serve();

  return {
    id,
    member: {
      shardId: id,
      grpcAddress: `127.0.0.1:${port}`,
      leaseSubject,
      adminSubject: shardAdminSubject(id),
      signingPublicKey: publicKey.export({ format: "der", type: "spki" }).toString("base64"),
      startedAt: Date.now(),
    },
    reports,
    issued,
    offer: (urls) => void queue.push(...urls),
    async stop() {
      sub?.unsubscribe();
      await nc.flush();
      const server = grpc;
      grpc = undefined;
      if (server !== undefined) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server?.forceShutdown();
    },
    restart: serve,
    async drain(workerId = "") {
      const data = proto.WorkerDrain.encode({ workerId, sentAtMs: Date.now() }).finish();
      const h = headers();
      h.set(SIGNATURE_HEADER, signControl(options.signWith ?? privateKey, "drain", "", data));
      nc.publish(DRAIN_SUBJECT, data, { headers: h });
      await nc.flush();
    },
  };
}

import { status } from "@grpc/grpc-js";
import { errorMessage, HeedError, type Logger, proto } from "@heed/shared";
import { headers, type NatsConnection, type Subscription } from "nats";
import { ShardAnswerError, toGrpcError } from "./status.js";

/**
 * Admin calls between the shards of one fleet: NATS request/reply on each
 * member's admin subject, carrying the gRPC Admin service's own request and
 * response messages. Who may publish there is NATS's business (only
 * coordinators and the admin role; see docs/security.md), so no token rides
 * along: the coordinator that took the operator's gRPC call checked it.
 */

type Service = typeof proto.AdminServiceService;
export type RpcKey = keyof Service;
export type ReqOf<K extends RpcKey> = Parameters<Service[K]["requestSerialize"]>[0];
export type ResOf<K extends RpcKey> = ReturnType<Service[K]["responseDeserialize"]>;
/**
 * A shard's own answers, without fan-out or authentication. Streaming calls
 * answer one message per request here (ExportUrls: the next batch after the
 * cursor; an empty batch at the end).
 */
export type LocalRpcs = { [K in RpcKey]?: (req: ReqOf<K>) => ResOf<K> | Promise<ResOf<K>> };

const RPC_HEADER = "Heed-Rpc";
const ERROR_CODE_HEADER = "Heed-Error-Code";
const ERROR_HEADER = "Heed-Error";

/** A shard did not answer in time (gone, cut off, or too slow). */
export class ShardUnansweredError extends HeedError {
  override name = "ShardUnansweredError";
  readonly shardId: string;
  constructor(shardId: string, cause: unknown) {
    super("HEED_SHARD_UNANSWERED", `shard ${shardId} did not answer: ${errorMessage(cause)}`, { cause });
    this.shardId = shardId;
  }
}

function isRpcKey(name: string): name is RpcKey {
  return Object.hasOwn(proto.AdminServiceService, name);
}

/** Answers other shards' admin requests on this shard's admin subject. */
export function serveShardAdmin(
  nc: NatsConnection,
  subject: string,
  local: LocalRpcs,
  log: Logger,
): Subscription {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err !== null) {
        log.warn({ err: errorMessage(err) }, "shard admin subscription failed");
        return;
      }
      const fail = (code: status, details: string) => {
        const h = headers();
        h.set(ERROR_CODE_HEADER, String(code));
        h.set(ERROR_HEADER, details);
        msg.respond(new Uint8Array(0), { headers: h });
      };
      const name = msg.headers?.get(RPC_HEADER) ?? "";
      const fn = isRpcKey(name) ? local[name] : undefined;
      if (!isRpcKey(name) || fn === undefined) {
        fail(status.UNIMPLEMENTED, `no shard admin call ${name}`);
        return;
      }
      const method = proto.AdminServiceService[name];
      let req: unknown;
      try {
        req = method.requestDeserialize(Buffer.from(msg.data));
      } catch (e) {
        fail(status.INVALID_ARGUMENT, `undecodable ${name} request: ${errorMessage(e)}`);
        return;
      }
      Promise.resolve()
        .then(() => (fn as (r: unknown) => unknown)(req))
        .then(
          (res) => msg.respond((method.responseSerialize as (r: unknown) => Buffer)(res)),
          (e: unknown) => {
            const g = toGrpcError(e);
            if (g.code === status.INTERNAL)
              log.error({ rpc: name, err: g.details }, "shard admin call failed");
            fail(g.code, g.details);
          },
        );
    },
  });
}

/** One admin call to another shard; rejects with ShardAnswerError or ShardUnansweredError. */
export async function askShard<K extends RpcKey>(
  nc: NatsConnection,
  target: { shardId: string; adminSubject: string },
  key: K,
  req: ReqOf<K>,
  timeoutMs: number,
): Promise<ResOf<K>> {
  const method = proto.AdminServiceService[key];
  const h = headers();
  h.set(RPC_HEADER, key);
  let reply: Awaited<ReturnType<NatsConnection["request"]>>;
  try {
    reply = await nc.request(target.adminSubject, (method.requestSerialize as (r: ReqOf<K>) => Buffer)(req), {
      timeout: timeoutMs,
      headers: h,
    });
  } catch (err) {
    throw new ShardUnansweredError(target.shardId, err);
  }
  const code = reply.headers?.get(ERROR_CODE_HEADER);
  if (code !== undefined && code !== "") {
    const details = reply.headers?.get(ERROR_HEADER) ?? "";
    throw new ShardAnswerError(Number(code) as status, details);
  }
  return (method.responseDeserialize as (b: Buffer) => ResOf<K>)(Buffer.from(reply.data));
}

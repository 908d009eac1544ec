import {
  type CallOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { bearer, ConfigError, grpcClientCredentials, HeedError, proto } from "@heed/shared";
import { printErr } from "./output.js";
import type { CtlSettings } from "./settings.js";

/** A gRPC failure as heedctl reports it: the server's words and its code, for the exit code. */
export class RpcError extends HeedError {
  override name = "RpcError";
  readonly grpcCode: status;
  constructor(err: ServiceError, server: string) {
    const what =
      err.code === status.UNAVAILABLE
        ? `cannot reach the coordinator at ${server}: ${err.details}`
        : err.code === status.UNAUTHENTICATED
          ? `${err.details} (set HEED_TOKEN or --token-file)`
          : err.details;
    super(`HEED_RPC_${status[err.code] ?? err.code}`, what, { cause: err });
    this.grpcCode = err.code;
  }
}

type Unary<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

type ServerStream<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options?: Partial<CallOptions>,
) => ClientReadableStream<Res>;

export interface Admin {
  raw: proto.AdminServiceClient;
  /** One unary call with the token and a deadline; failures become RpcErrors. */
  call<Req, Res>(method: (c: proto.AdminServiceClient) => Unary<Req, Res>, req: Req): Promise<Res>;
  /** A server stream with the token; iterate it, failures become RpcErrors. */
  stream<Req, Res>(
    method: (c: proto.AdminServiceClient) => ServerStream<Req, Res>,
    req: Req,
  ): AsyncIterable<Res>;
  close(): void;
}

/** Renames the shared TLS helper's setting names to heedctl's. */
const CTL_KEYS: Record<string, string> = {
  grpcCaFile: "caFile",
  grpcCertFile: "certFile",
  grpcKeyFile: "keyFile",
};

export function connect(settings: CtlSettings): Admin {
  let creds: ReturnType<typeof grpcClientCredentials>;
  try {
    creds = grpcClientCredentials({
      grpcTls: settings.tls,
      grpcCaFile: settings.caFile,
      grpcCertFile: settings.certFile,
      grpcKeyFile: settings.keyFile,
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      const key = CTL_KEYS[err.key] ?? err.key;
      throw new ConfigError(key, err.message.slice(err.key.length + 2));
    }
    throw err;
  }
  // Short reconnect back-off: `watch` calls again after a coordinator restart, and gRPC's own
  // (up to two minutes) would keep failing those calls long after the coordinator is back.
  const client = new proto.AdminServiceClient(settings.server, creds, {
    "grpc.initial_reconnect_backoff_ms": 500,
    "grpc.max_reconnect_backoff_ms": 8000,
  });
  const metadata = () => {
    const md = new Metadata();
    if (settings.token !== undefined) md.set("authorization", bearer(settings.token));
    return md;
  };
  return {
    raw: client,
    call(method, req) {
      const fn = method(client).bind(client);
      return new Promise((resolve, reject) => {
        fn(req, metadata(), { deadline: Date.now() + settings.timeoutMs }, (err, res) => {
          if (err) {
            reject(new RpcError(err, settings.server));
            return;
          }
          warnMissing(res);
          resolve(res);
        });
      });
    },
    stream(method, req) {
      const call = method(client).bind(client)(req, metadata());
      return (async function* () {
        try {
          for await (const msg of call) {
            warnMissing(msg);
            yield msg;
          }
        } catch (err) {
          if (isServiceError(err)) throw new RpcError(err, settings.server);
          throw err;
        } finally {
          call.cancel();
        }
      })();
    },
    close: () => client.close(),
  };
}

const warned = new Set<string>();

/**
 * A sharded fleet answers with what the shards that answered in time said and
 * names the others: say so on stderr (once per shard), never let a count look whole.
 */
function warnMissing(res: unknown): void {
  const missing =
    typeof res === "object" && res !== null && "missingShards" in res && Array.isArray(res.missingShards)
      ? (res.missingShards as unknown[]).filter((s): s is string => typeof s === "string" && !warned.has(s))
      : [];
  if (missing.length === 0) return;
  for (const s of missing) warned.add(s);
  printErr(
    `heedctl: shard${missing.length > 1 ? "s" : ""} ${missing.join(", ")} did not answer: this answer leaves ${missing.length > 1 ? "them" : "it"} out\n`,
  );
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && "code" in err && typeof err.code === "number" && "details" in err;
}

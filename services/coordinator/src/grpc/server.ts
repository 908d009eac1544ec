import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { type Logger, proto, UnavailableError } from "@heed/shared";
import { HealthImplementation } from "grpc-health-check";
import type { Frontier } from "../frontier/frontier.js";
import { frontierService } from "./frontier-service.js";

export interface GrpcServerHandle {
  port: number;
  health: HealthImplementation;
  close(): Promise<void>;
}

/** The repository's proto/ folder, for server reflection (grpcurl needs no local copy of the protos). */
const PROTO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../../../proto");

export const FRONTIER_SERVICE_NAME = "heed.v1.FrontierService";

export async function startGrpcServer(
  listen: string,
  frontier: Frontier,
  log: Logger,
): Promise<GrpcServerHandle> {
  const server = new Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
  server.addService(proto.FrontierServiceService, frontierService(frontier, log));
  // Standard health checking, so Kubernetes gRPC probes and grpc_health_probe work.
  const health = new HealthImplementation({ "": "SERVING", [FRONTIER_SERVICE_NAME]: "SERVING" });
  health.addToServer(server);
  try {
    const definitions = loadSync(["heed/v1/frontier.proto", "heed/v1/lease.proto"], {
      includeDirs: [PROTO_ROOT],
    });
    new ReflectionService(definitions).addToServer(server);
  } catch (err) {
    log.warn(
      { err: err instanceof Error ? err.message : String(err), protoRoot: PROTO_ROOT },
      "server reflection off: protos not found",
    );
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, ServerCredentials.createInsecure(), (err, p) => {
      if (err)
        reject(
          new UnavailableError("HEED_GRPC_BIND", `cannot listen on ${listen}: ${err.message}`, {
            cause: err,
          }),
        );
      else resolve(p);
    });
  });
  return {
    port,
    health,
    close: () =>
      new Promise<void>((resolve) => {
        health.setStatus("", "NOT_SERVING");
        // Give in-flight reports a moment, then cut whatever is left.
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

import { Server, type ServerCredentials } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer, loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { type Logger, proto, UnavailableError } from "@heed/shared";
import { HealthImplementation, protoPath as healthProtoPath } from "grpc-health-check";
import type { Auth } from "../admin/auth.js";
import type { Frontier } from "../frontier/frontier.js";
import { decodeGuarded } from "./decode-guard.js";
import { DESCRIPTOR_SET_BASE64 } from "./descriptor-set.js";
import { frontierService } from "./frontier-service.js";

export interface GrpcServerHandle {
  port: number;
  health: HealthImplementation;
  close(): Promise<void>;
}

export const FRONTIER_SERVICE_NAME = "heed.v1.FrontierService";
export const ADMIN_SERVICE_NAME = "heed.v1.AdminService";

export interface GrpcServerOptions {
  listen: string;
  credentials: ServerCredentials;
  frontier: Frontier;
  auth: Auth;
  admin: proto.AdminServiceServer;
  /** The public half of the key that signs leases and drains, handed to workers on Renew. */
  coordinatorKey: Buffer;
  log: Logger;
}

/**
 * The coordinator's gRPC port: FrontierService (workers), AdminService
 * (operators), health and reflection. Health and reflection need no token:
 * probes must work, and reflection only describes the API.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const { listen, frontier, log } = options;
  const server = new Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
  const definitions = loadFileDescriptorSetFromBuffer(Buffer.from(DESCRIPTOR_SET_BASE64, "base64"));
  server.addService(
    proto.FrontierServiceService,
    frontierService(frontier, options.auth, options.coordinatorKey, log),
  );
  server.addService(decodeGuarded(proto.AdminServiceService, definitions), options.admin);
  // Standard health checking, so Kubernetes gRPC probes and grpc_health_probe work.
  const health = new HealthImplementation({
    "": "SERVING",
    [FRONTIER_SERVICE_NAME]: "SERVING",
    [ADMIN_SERVICE_NAME]: "SERVING",
  });
  health.addToServer(server);
  // Server reflection from the descriptors built into this package, and the health service's own:
  // grpcurl needs no copy of the protos, and `grpcurl list` shows every service the port serves.
  new ReflectionService({ ...definitions, ...loadSync(healthProtoPath) }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, options.credentials, (err, p) => {
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
        health.setStatus(ADMIN_SERVICE_NAME, "NOT_SERVING");
        // Give in-flight reports a moment, then cut whatever is left.
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

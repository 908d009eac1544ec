import { Server, ServerCredentials } from "@grpc/grpc-js";
import { type Logger, proto, UnavailableError } from "@heed/shared";
import type { Frontier } from "../frontier/frontier.js";
import { frontierService } from "./frontier-service.js";

export interface GrpcServerHandle {
  port: number;
  close(): Promise<void>;
}

export async function startGrpcServer(
  listen: string,
  frontier: Frontier,
  log: Logger,
): Promise<GrpcServerHandle> {
  const server = new Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
  server.addService(proto.FrontierServiceService, frontierService(frontier, log));
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
    close: () =>
      new Promise<void>((resolve) => {
        // Give in-flight reports a moment, then cut whatever is left.
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

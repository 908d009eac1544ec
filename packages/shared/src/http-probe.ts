import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { UnavailableError } from "./errors.js";

export interface ProbeChecks {
  /** Ready to take work (connected to its peers, not draining). */
  ready(): boolean;
  /** Extra routes, e.g. /metrics; return undefined for 404. `host` is the request's Host header. */
  route?(path: string, host: string): Promise<ProbeRouteAnswer | undefined> | undefined;
}

export interface ProbeRouteAnswer {
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

/** `/livez` (the process answers) and `/readyz` (it can do its job), for Kubernetes and load balancers. */
export async function startProbeServer(listen: string, checks: ProbeChecks): Promise<ProbeServer> {
  const sep = listen.lastIndexOf(":");
  const host = listen.slice(0, sep).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(sep + 1));
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/livez") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (path === "/readyz") {
      const ok = checks.ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ready\n" : "not ready\n");
      return;
    }
    const extra = checks.route?.(path, req.headers.host ?? "");
    if (extra === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    extra.then(
      (r) => {
        if (r === undefined) res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        else res.writeHead(200, { ...r.headers, "content-type": r.contentType }).end(r.body);
      },
      () => res.writeHead(500, { "content-type": "text/plain" }).end("error\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new UnavailableError("HEED_HTTP_BIND", `cannot listen on ${listen}: ${err.message}`, { cause: err }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface TinySite {
  origin: string;
  requests: { path: string; atMs: number }[];
  close(): Promise<void>;
}

/** A one-host loopback site whose routes a test writes inline; every request is recorded. */
export async function startTinySite(
  address: string,
  handler: (req: IncomingMessage, res: ServerResponse, hits: number) => void,
): Promise<TinySite> {
  const requests: { path: string; atMs: number }[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ path: req.url ?? "", atMs: Date.now() });
    handler(req, res, requests.filter((r) => r.path === req.url).length);
  });
  await new Promise<void>((resolve) => server.listen(0, address, () => resolve()));
  return {
    origin: `http://${address}:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { execFileSync } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

/**
 * Serves ReplayWeb.page (the `replaywebpage` package's prebuilt ui.js and
 * service worker) and one WACZ file from loopback, as a site embedding the
 * replay would. The WACZ is served with byte ranges, which is how the replay
 * reads it.
 */
const RWP = fileURLToPath(new URL("../../node_modules/replaywebpage/", import.meta.url));

export interface ReplayServer {
  /** The page that embeds `<replay-web-page>` for `url`. */
  pageUrl(url: string): string;
  requests: string[];
  close(): Promise<void>;
}

export async function startReplayServer(waczPath: string): Promise<ReplayServer> {
  const files: Record<string, { path: string; type: string }> = {
    "/ui.js": { path: `${RWP}ui.js`, type: "application/javascript" },
    "/replay/sw.js": { path: `${RWP}sw.js`, type: "application/javascript" },
    "/archive.wacz": { path: waczPath, type: "application/wacz+zip" },
  };
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push(`${req.method} ${url.pathname}${req.headers.range ? ` ${req.headers.range}` : ""}`);
    if (url.pathname === "/embed.html") {
      const target = url.searchParams.get("url") ?? "";
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(
        `<!doctype html><html><head><script src="/ui.js"></script></head>` +
          `<body style="margin:0"><replay-web-page style="height:95vh;display:block" source="/archive.wacz" ` +
          `url="${target.replace(/"/g, "&quot;")}" embed="replayonly"></replay-web-page></body></html>`,
      );
      return;
    }
    const file = files[url.pathname];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    stat(file.path).then(
      ({ size }) => {
        const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
        const headers = { "content-type": file.type, "accept-ranges": "bytes", "cache-control": "no-store" };
        if (range) {
          const start = range[1] !== "" ? Number(range[1]) : Math.max(0, size - Number(range[2]));
          const end = range[1] !== "" && range[2] !== "" ? Math.min(Number(range[2]), size - 1) : size - 1;
          res.writeHead(206, {
            ...headers,
            "content-length": String(end - start + 1),
            "content-range": `bytes ${start}-${end}/${size}`,
          });
          if (req.method === "HEAD") return res.end();
          createReadStream(file.path, { start, end }).pipe(res);
          return;
        }
        res.writeHead(200, { ...headers, "content-length": String(size) });
        if (req.method === "HEAD") return res.end();
        createReadStream(file.path).pipe(res);
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    pageUrl: (url) => `http://127.0.0.1:${port}/embed.html?url=${encodeURIComponent(url)}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Debian's Chromium, if installed: `command -v chromium`. */
export function findChromium(): string | undefined {
  try {
    const path = execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
    return path !== "" && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking"];

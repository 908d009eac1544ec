import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A deterministic multi-host web site on loopback addresses (127.0.0.2, .3, …
 * are distinct hosts on Linux). Every request is logged, so tests can prove
 * what a crawl did and did not do.
 */

export type RobotsMode =
  | { kind: "allow-all" }
  | { kind: "disallow"; prefix: string }
  | { kind: "crawl-delay"; seconds: number; disallow?: string }
  | { kind: "status"; status: number }
  /** This robots.txt, as written. */
  | { kind: "text"; text: string };

export interface HostPlan {
  robots: RobotsMode;
  /** Pages /p/0 … /p/(pages-1); /p/0 is also served at "/". */
  pages: number;
  /**
   * Identical bodies at different URLs: page /p/j links to /copy/(j mod count), and /copy/k serves
   * the same `bytes`-long body on every host that has it (the k-th of `count` distinct bodies).
   */
  copies?: { count: number; bytes: number };
  /** The first `times` page requests are refused with `status` and a Retry-After of `retryAfterSeconds`. */
  throttle?: { status: 429 | 503; retryAfterSeconds: number; times: number };
  /** Paths (robots.txt too) that answer with a redirect: to a path here, or to a path on another host of the site. */
  redirects?: Record<string, Redirect>;
}

export interface Redirect {
  status: 301 | 302 | 303 | 307 | 308;
  to: string | { host: number; path: string };
}

export interface SiteOptions {
  hosts: HostPlan[];
  /** First loopback address's last octet; hosts take consecutive addresses. */
  firstOctet?: number;
  /** Milliseconds each page takes to serve. */
  pageLatencyMs?: number;
  /**
   * The port every host listens on, so the same site has the same URLs from
   * run to run (an interrupted demo crawl resumes); a host whose port is taken
   * falls back to a free one. Default: a free port per host.
   */
  port?: number;
}

export interface RequestRecord {
  host: string;
  path: string;
  startMs: number;
  endMs: number;
  status: number;
  userAgent: string;
  from: string;
  /** The Retry-After the site sent, in seconds (0: none). */
  retryAfterSeconds: number;
  /** The conditional request headers, as received ("" when absent). */
  ifNoneMatch: string;
  ifModifiedSince: string;
  /** Which connection the request came on: numbered site-wide as they open, so a new number is a new connection. */
  connection: number;
}

export interface SiteHost {
  index: number;
  address: string;
  port: number;
  origin: string;
  plan: HostPlan;
}

export interface LoopbackSite {
  hosts: SiteHost[];
  /** A host no page of the site is seeded from; any request to it breaks scope. */
  outsider: SiteHost;
  log: RequestRecord[];
  seeds(): string[];
  /** Paths a robots-obeying, scope-keeping crawl of `maxDepth` from the seeds must fetch, per origin. */
  expectedPages(maxDepth: number): Set<string>;
  /** Every URL of a page that robots.txt disallows. */
  disallowedPaths(host: SiteHost): string[];
  /**
   * Changes a page: its text, ETag and Last-Modified. Pages answer conditional
   * requests (If-None-Match, else If-Modified-Since) with 304 while unchanged.
   */
  changePage(host: SiteHost, path: string): void;
  close(): Promise<void>;
}

/** Every page was last modified at this time, plus one hour per change. */
const FIRST_MODIFIED_MS = Date.UTC(2026, 0, 1);

export function defaultPlan(hostCount: number, pages = 6, unreachableRobotsHosts = 1): HostPlan[] {
  const modes: RobotsMode[] = [
    { kind: "allow-all" },
    { kind: "disallow", prefix: "/private/" },
    { kind: "crawl-delay", seconds: 0.3, disallow: "/private/" },
    { kind: "status", status: 404 },
  ];
  return Array.from({ length: hostCount }, (_, i) => ({
    robots:
      i >= hostCount - unreachableRobotsHosts
        ? { kind: "status", status: 503 }
        : (modes[i % modes.length] as RobotsMode),
    pages,
  }));
}

function robotsText(mode: RobotsMode): string {
  switch (mode.kind) {
    case "allow-all":
      return "User-agent: *\nAllow: /\n";
    case "disallow":
      return `User-agent: *\nDisallow: ${mode.prefix}\n`;
    case "crawl-delay":
      return `User-agent: *\nCrawl-delay: ${mode.seconds}\n${mode.disallow ? `Disallow: ${mode.disallow}\n` : ""}`;
    case "status":
      return "";
    case "text":
      return mode.text;
  }
}

function disallowedPrefix(mode: RobotsMode): string | undefined {
  if (mode.kind === "disallow") return mode.prefix;
  if (mode.kind === "crawl-delay") return mode.disallow;
  return undefined;
}

// Links of /p/j on host i: the next page here, the same page on the next host,
// the private area, a nofollow page, and an outsider link that scope must stop.
interface PageLinks {
  follow: string[];
  nofollowPage: boolean;
}

function linksOf(site: { hosts: SiteHost[]; outsider: SiteHost }, host: SiteHost, j: number): PageLinks {
  const n = host.plan.pages;
  const next = site.hosts[(host.index + 1) % site.hosts.length] as SiteHost;
  const follow = [`${host.origin}/p/${(j + 1) % n}`];
  if (next.plan.pages > j) follow.push(`${next.origin}/p/${j}#frag`);
  if (j === 0) follow.push(`${host.origin}/private/secret`, `${host.origin}/nofollow`);
  const copies = host.plan.copies;
  if (copies !== undefined && copies.count > 0) follow.push(`${host.origin}/copy/${j % copies.count}`);
  return { follow, nofollowPage: false };
}

/** RFC 9110 §13.2.2: If-None-Match decides when sent; else If-Modified-Since. */
function notModified(req: IncomingMessage, etag: string, lastModified: string): boolean {
  const inm = req.headers["if-none-match"];
  if (inm !== undefined)
    return inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag || t.trim() === "*");
  const ims = req.headers["if-modified-since"];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return Number.isFinite(since) && Date.parse(lastModified) <= since;
}

/**
 * The k-th shared body: text that gzip cannot shrink much (as real page
 * bodies compress far less than a repeated letter would), the same on every host.
 */
export function copyBody(k: number, bytes: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyz0123456789";
  let x = (k + 1) * 2654435761;
  const head = `<!doctype html><html><head><title>copy ${k}</title></head><body><h1>Copy ${k}</h1><p>`;
  const tail = "</p></body></html>";
  let text = "";
  const n = Math.max(0, bytes - head.length - tail.length);
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    text += letters[(x >>> 16) % letters.length];
  }
  return head + text + tail;
}

function page(title: string, body: string, head = ""): string {
  return `<!doctype html><html><head><title>${title}</title>${head}</head><body>${body}</body></html>`;
}

// 127.0.0.n for n up to 253, as always; past that the following /24s of 127.0/16, .1 to .253 each.
const PER_24 = 253;
const MAX_ADDRESS = 253 + 200 * PER_24;

/** The n-th loopback address a site hands out (n ≥ 1). */
export function loopbackAddress(n: number): string {
  if (n <= PER_24) return `127.0.0.${n}`;
  const k = n - PER_24 - 1;
  return `127.0.${1 + Math.floor(k / PER_24)}.${1 + (k % PER_24)}`;
}

export async function startLoopbackSite(options: SiteOptions): Promise<LoopbackSite> {
  const first = options.firstOctet ?? 2;
  const latency = options.pageLatencyMs ?? 5;
  const log: RequestRecord[] = [];
  const throttled = new Map<number, number>();
  const servers: Server[] = [];
  const connectionOf = new WeakMap<Socket, number>();
  let connections = 0;
  const plans = [...options.hosts, { robots: { kind: "allow-all" }, pages: 1 } satisfies HostPlan];
  if (first + plans.length > MAX_ADDRESS)
    throw new Error(`too many hosts for loopback addresses (${MAX_ADDRESS})`);

  const hosts: SiteHost[] = [];
  for (const [index, plan] of plans.entries()) {
    const address = loopbackAddress(first + index);
    const server = createServer((req, res) => handle(index, req, res));
    server.on("connection", (socket) => connectionOf.set(socket, ++connections));
    servers.push(server);
    const listen = (port: number) =>
      new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, address, () => {
          server.off("error", reject);
          resolve();
        });
      });
    await listen(options.port ?? 0).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EADDRINUSE" || options.port === undefined) throw err;
      return listen(0);
    });
    const port = (server.address() as AddressInfo).port;
    hosts.push({ index, address, port, origin: `http://${address}:${port}`, plan });
  }
  const outsider = hosts.pop() as SiteHost;
  const site = { hosts, outsider };

  function handle(index: number, req: IncomingMessage, res: ServerResponse): void {
    const host = (index === hosts.length ? outsider : hosts[index]) as SiteHost;
    const record: RequestRecord = {
      host: host.address,
      path: req.url ?? "",
      startMs: Date.now(),
      endMs: 0,
      status: 0,
      userAgent: String(req.headers["user-agent"] ?? ""),
      from: String(req.headers.from ?? ""),
      retryAfterSeconds: 0,
      ifNoneMatch: String(req.headers["if-none-match"] ?? ""),
      ifModifiedSince: String(req.headers["if-modified-since"] ?? ""),
      connection: connectionOf.get(req.socket) ?? 0,
    };
    log.push(record);
    res.on("finish", () => {
      record.endMs = Date.now();
      record.status = res.statusCode;
    });
    const path = record.path;
    const redirect = host.plan.redirects?.[path];
    if (redirect !== undefined) {
      const to = redirect.to;
      const location = typeof to === "string" ? to : `${hosts[to.host]?.origin}${to.path}`;
      res.writeHead(redirect.status, { location, "content-type": "text/plain" }).end(`see ${location}\n`);
      return;
    }
    if (path === "/robots.txt") {
      const mode = host.plan.robots;
      if (mode.kind === "status") {
        res.writeHead(mode.status, { "content-type": "text/plain" }).end("no robots here\n");
      } else {
        res.writeHead(200, { "content-type": "text/plain" }).end(robotsText(mode));
      }
      return;
    }
    const throttle = host.plan.throttle;
    if (throttle !== undefined && throttled.get(host.index) !== throttle.times) {
      throttled.set(host.index, (throttled.get(host.index) ?? 0) + 1);
      record.retryAfterSeconds = throttle.retryAfterSeconds;
      res
        .writeHead(throttle.status, { "retry-after": String(throttle.retryAfterSeconds) })
        .end("slow down\n");
      return;
    }
    setTimeout(() => serve(host, path, req, res), latency);
  }

  const changes = new Map<string, number>();

  function serve(host: SiteHost, path: string, req: IncomingMessage, res: ServerResponse): void {
    const version = changes.get(`${host.origin}${path}`) ?? 0;
    const etag = `"${host.index}-${path}-v${version}"`;
    const lastModified = new Date(FIRST_MODIFIED_MS + version * 3600_000).toUTCString();
    const validators = { etag, "last-modified": lastModified };
    const html = (s: string) => {
      if (notModified(req, etag, lastModified)) {
        res.writeHead(304, validators).end();
        return;
      }
      const text = version === 0 ? s : s.replace("</body>", `<p>revision ${version}</p></body>`);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...validators }).end(text);
    };
    if (path === "/" || path.startsWith("/p/")) {
      const j = path === "/" ? 0 : Number(path.slice(3));
      if (!Number.isInteger(j) || j < 0 || j >= host.plan.pages) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      const { follow } = linksOf(site, host, j);
      const anchors = follow.map((u) => `<a href="${u}">${u}</a>`).join(" ");
      // The outsider link and a relative link resolved against <base> check scope and <base> handling.
      const extra =
        `<a href="${outsider.origin}/">elsewhere</a> ` +
        `<a href="mailto:someone@example.org">mail</a> <a href="javascript:void(0)">js</a>`;
      html(page(`${host.address} page ${j}`, `<h1>Page ${j}</h1>${anchors} ${extra}`));
      return;
    }
    const copies = host.plan.copies;
    if (copies !== undefined && path.startsWith("/copy/")) {
      const k = Number(path.slice(6));
      if (Number.isInteger(k) && k >= 0 && k < copies.count) html(copyBody(k, copies.bytes));
      else res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (path === "/nofollow") {
      // Links here must not be followed: /hidden is linked from nowhere else.
      html(
        page("nofollow", `<a href="/hidden">hidden</a>`, `<meta name="robots" content="noindex, nofollow">`),
      );
      return;
    }
    if (path.startsWith("/private/")) {
      html(page("private", `<a href="/private/deeper">deeper</a>`));
      return;
    }
    if (path === "/hidden" || path === "/private/deeper") {
      html(page("hidden", "you should not be here"));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }

  return {
    hosts,
    outsider,
    log,
    seeds: () => hosts.map((h) => `${h.origin}/`),
    expectedPages(maxDepth) {
      const out = new Set<string>();
      const seen = new Set<string>();
      let frontier = hosts.map((h) => `${h.origin}/`);
      for (let depth = 0; depth <= maxDepth && frontier.length > 0; depth++) {
        const next: string[] = [];
        for (const url of frontier) {
          const u = new URL(url);
          u.hash = "";
          const key = u.href;
          if (seen.has(key)) continue;
          seen.add(key);
          const host = hosts.find((h) => h.origin === u.origin);
          if (host === undefined) continue;
          if (host.plan.robots.kind === "status" && host.plan.robots.status >= 500) continue;
          const prefix = disallowedPrefix(host.plan.robots);
          if (prefix !== undefined && u.pathname.startsWith(prefix)) continue;
          out.add(key);
          const j = u.pathname === "/" ? 0 : u.pathname.startsWith("/p/") ? Number(u.pathname.slice(3)) : -1;
          if (j >= 0) next.push(...linksOf(site, host, j).follow);
          if (u.pathname.startsWith("/private/") && u.pathname !== "/private/deeper") {
            next.push(`${host.origin}/private/deeper`);
          }
        }
        frontier = next;
      }
      return out;
    },
    disallowedPaths(host) {
      const prefix = disallowedPrefix(host.plan.robots);
      return prefix === undefined ? [] : [`${prefix}secret`, `${prefix}deeper`];
    },
    changePage(host, path) {
      const key = `${host.origin}${path}`;
      changes.set(key, (changes.get(key) ?? 0) + 1);
    },
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}

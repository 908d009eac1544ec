import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { proto, sleep } from "@heed/shared";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFetchAgent } from "./agent.js";
import { fetchLease } from "./fetch-lease.js";
import { guardedLookup } from "./guard.js";

const Kind = proto.FetchErrorKind;
let server: Server;
let base: string;
const seen: { path: string; ua: string; from: string }[] = [];
const guarded = new Agent({ connect: { lookup: guardedLookup } });
const open = new Agent();

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({
      path: req.url ?? "",
      ua: String(req.headers["user-agent"]),
      from: String(req.headers.from ?? ""),
    });
    switch (req.url) {
      case "/page":
        res
          .writeHead(200, { "content-type": "text/html" })
          .end(`<a href="/a">a</a><a href="http://other.example/b">b</a>`);
        return;
      case "/redirect":
        res.writeHead(301, { location: "/page" }).end();
        return;
      case "/robots-redirect/robots.txt":
        res.writeHead(302, { location: "/robots.txt" }).end();
        return;
      case "/robots.txt":
        res.writeHead(200, { "content-type": "text/plain" }).end("User-agent: *\nDisallow: /x\n");
        return;
      case "/big":
        res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.alloc(200_000, 1));
        return;
      case "/bomb":
        res
          .writeHead(200, { "content-type": "text/html", "content-encoding": "gzip" })
          .end(gzipSync(Buffer.alloc(20_000_000, 0x41)));
        return;
      case "/gzip":
        res
          .writeHead(200, { "content-type": "text/html", "content-encoding": "gzip" })
          .end(gzipSync(`<a href="/zipped">z</a>`));
        return;
      case "/slow-headers":
        setTimeout(() => res.writeHead(200).end("late"), 3000);
        return;
      case "/trickle": {
        res.writeHead(200, { "content-type": "text/plain" });
        const t = setInterval(() => res.write("x"), 100);
        res.on("close", () => clearInterval(t));
        return;
      }
      case "/retry":
        res.writeHead(429, { "retry-after": "120" }).end();
        return;
      case "/huge-header":
        res.writeHead(200, { "x-junk": "a".repeat(100_000) }).end("x");
        return;
      case "/reset-mid-body":
        res.writeHead(200, { "content-type": "text/html", "content-length": "100000" });
        res.write("<a href='/partial'>partial</a>");
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      case "/many-links":
        res
          .writeHead(200, { "content-type": "text/html" })
          .end(Array.from({ length: 100_000 }, (_, i) => `<a href="/l${i}">${i}</a>`).join(""));
        return;
      case "/long-link":
        res
          .writeHead(200, { "content-type": "text/html" })
          .end(`<a href="/${"x".repeat(9000)}">long</a><a href="/short">short</a>`);
        return;
      case "/robots-loop/robots.txt":
        res.writeHead(302, { location: "/robots-loop/robots.txt" }).end();
        return;
      case "/nofollow-header":
        res
          .writeHead(200, { "content-type": "text/html", "x-robots-tag": "nofollow" })
          .end(`<a href="/a">a</a>`);
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await guarded.close();
  await open.close();
});

function lease(
  path: string,
  fields: Partial<proto.Lease> = {},
  limits: Partial<proto.FetchLimits> = {},
): proto.Lease {
  const now = Date.now();
  return proto.Lease.fromPartial({
    id: `lease-${path}-${Math.random()}`,
    url: `${base}${path}`,
    kind: proto.LeaseKind.LEASE_KIND_PAGE,
    issuedAtMs: now,
    notBeforeMs: now,
    expiresAtMs: now + 10_000,
    userAgent: "HeedBot/0.1 (+mailto:ops@example.org)",
    from: "ops@example.org",
    allowPrivateAddresses: true,
    limits: { timeoutMs: 5000, maxBytes: 100_000, maxRedirects: 0, maxOutlinks: 100, ...limits },
    ...fields,
  });
}

const deps = { guarded, open, allowPrivateAddresses: true };

describe("fetchLease", () => {
  it("fetches a page with the lease's identity, digests it and extracts links", async () => {
    const r = await fetchLease(lease("/page"), deps);
    expect(r.statusCode).toBe(200);
    expect(r.outlinks).toEqual([`${base}/a`, "http://other.example/b"]);
    expect(r.digestSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.error).toBeUndefined();
    const req = seen.find((s) => s.path === "/page");
    expect(req?.ua).toBe("HeedBot/0.1 (+mailto:ops@example.org)");
    expect(req?.from).toBe("ops@example.org");
  });

  it("reports a redirect instead of following it", async () => {
    const before = seen.filter((s) => s.path === "/page").length;
    const r = await fetchLease(lease("/redirect"), deps);
    expect(r.statusCode).toBe(301);
    expect(r.redirectLocation).toBe(`${base}/page`);
    expect(seen.filter((s) => s.path === "/page").length).toBe(before);
  });

  it("reports a robots.txt redirect with its target, in one request (each hop is a lease of its own)", async () => {
    const before = seen.filter((s) => s.path === "/robots.txt").length;
    const r = await fetchLease(
      lease("/robots-redirect/robots.txt", { kind: proto.LeaseKind.LEASE_KIND_ROBOTS }, { maxRedirects: 5 }),
      deps,
    );
    expect(r.statusCode).toBe(302);
    expect(r.redirectLocation).toBe(`${base}/robots.txt`);
    expect(r.robotsBody).toBe("");
    expect(seen.filter((s) => s.path === "/robots.txt").length).toBe(before);
    const hop = await fetchLease(lease("/robots.txt", { kind: proto.LeaseKind.LEASE_KIND_ROBOTS }), deps);
    expect(hop.statusCode).toBe(200);
    expect(hop.robotsBody).toContain("Disallow: /x");
  });

  it("cuts a body at the lease's byte limit", async () => {
    const r = await fetchLease(lease("/big"), deps);
    expect(r.bodyBytes).toBe(100_000);
    expect(r.truncated).toBe(true);
  });

  it("stops decoding a decompression bomb at the limit", async () => {
    const r = await fetchLease(lease("/bomb"), deps);
    expect(r.bodyBytes).toBe(100_000);
    expect(r.truncated).toBe(true);
  });

  it("decodes gzip bodies", async () => {
    const r = await fetchLease(lease("/gzip"), deps);
    expect(r.outlinks).toEqual([`${base}/zipped`]);
  });

  it("times out slow headers and trickling bodies within the lease's timeout", async () => {
    const t0 = Date.now();
    const slow = await fetchLease(lease("/slow-headers", {}, { timeoutMs: 500 }), deps);
    expect(slow.error?.kind).toBe(Kind.FETCH_ERROR_KIND_TIMEOUT);
    const trickle = await fetchLease(lease("/trickle", {}, { timeoutMs: 700 }), deps);
    expect(trickle.error?.kind).toBe(Kind.FETCH_ERROR_KIND_TIMEOUT);
    expect(Date.now() - t0).toBeLessThan(2900);
  });

  it("passes Retry-After on and honours X-Robots-Tag nofollow", async () => {
    expect((await fetchLease(lease("/retry"), deps)).retryAfter).toBe("120");
    const nf = await fetchLease(lease("/nofollow-header"), deps);
    expect(nf.nofollow).toBe(true);
    expect(nf.outlinks).toEqual([]);
  });

  it("refuses to fetch outside the lease's window", async () => {
    const before = seen.length;
    const expired = await fetchLease(lease("/page", { expiresAtMs: Date.now() - 1 }), deps);
    expect(expired.error?.kind).toBe(Kind.FETCH_ERROR_KIND_LEASE_WINDOW);
    expect(seen.length).toBe(before);
  });

  it("ends a fetch when its lease's window closes, unless a renewal moved it; a handed-back lease ends at once", async () => {
    // The window closes LEASE_SAFETY_MS before expiry: 300 ms into a 3 s answer.
    const short = lease("/slow-headers", { expiresAtMs: Date.now() + 800 });
    const cut = await fetchLease(short, deps);
    expect(cut.error?.kind).toBe(Kind.FETCH_ERROR_KIND_LEASE_WINDOW);
    expect(cut.finishedAtMs).toBeLessThan(short.expiresAtMs);
    // Renewed to well past the answer while waiting: the fetch goes on and the page arrives.
    const renewed = lease("/slow-headers", { expiresAtMs: Date.now() + 800 });
    let expiry = renewed.expiresAtMs;
    setTimeout(() => {
      expiry = Date.now() + 10_000;
    }, 100);
    const whole = await fetchLease(renewed, { ...deps, leaseExpiresAt: () => expiry });
    expect(whole.error).toBeUndefined();
    expect(whole.statusCode).toBe(200);
    // Handed back mid-fetch: not waited for until the timeout.
    const release = new AbortController();
    setTimeout(() => release.abort(), 100);
    const t0 = Date.now();
    const released = await fetchLease(lease("/slow-headers"), deps, release.signal);
    expect(released.error).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("waits for the lease's not-before time", async () => {
    const at = Date.now() + 300;
    const r = await fetchLease(lease("/page", { notBeforeMs: at }), deps);
    expect(r.startedAtMs).toBeGreaterThanOrEqual(at);
  });

  it("refuses loopback unless both the worker and the crawl allow it", async () => {
    const before = seen.length;
    const byWorker = await fetchLease(lease("/page"), { ...deps, allowPrivateAddresses: false });
    expect(byWorker.error?.kind).toBe(Kind.FETCH_ERROR_KIND_BLOCKED_ADDRESS);
    const byCrawl = await fetchLease(lease("/page", { allowPrivateAddresses: false }), deps);
    expect(byCrawl.error?.kind).toBe(Kind.FETCH_ERROR_KIND_BLOCKED_ADDRESS);
    const byName = await fetchLease(
      proto.Lease.fromPartial({
        ...lease("/page"),
        url: `${base.replace("127.0.0.1", "localhost")}/page`,
        allowPrivateAddresses: false,
      }),
      deps,
    );
    expect(byName.error?.kind).toBe(Kind.FETCH_ERROR_KIND_BLOCKED_ADDRESS);
    expect(seen.length).toBe(before);
  });

  it("survives hostile answers with a typed error or a capped result", async () => {
    const huge = await fetchLease(lease("/huge-header"), deps);
    expect(huge.error?.kind).toBe(Kind.FETCH_ERROR_KIND_PROTOCOL);
    const reset = await fetchLease(lease("/reset-mid-body"), deps);
    expect([Kind.FETCH_ERROR_KIND_PROTOCOL, Kind.FETCH_ERROR_KIND_CONNECT]).toContain(reset.error?.kind);
    const many = await fetchLease(
      lease("/many-links", {}, { maxOutlinks: 1000, maxBytes: 10_000_000 }),
      deps,
    );
    expect(many.outlinks).toHaveLength(1000);
    const long = await fetchLease(lease("/long-link"), deps);
    expect(long.outlinks).toEqual([`${base}/short`]);
    const loop = await fetchLease(
      lease("/robots-loop/robots.txt", { kind: proto.LeaseKind.LEASE_KIND_ROBOTS }, { maxRedirects: 5 }),
      deps,
    );
    expect(loop.statusCode).toBe(302);
    expect(loop.error).toBeUndefined();
    expect(seen.filter((r) => r.path === "/robots-loop/robots.txt")).toHaveLength(1);
  });

  it("answers a non-HTTP peer with a protocol error", async () => {
    const { createServer: createTcp } = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const junk = createTcp((sock) => {
      sockets.add(sock);
      sock.end("SSH-2.0-OpenSSH_9.0\r\n\r\n");
    });
    await new Promise<void>((r) => junk.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (junk.address() as AddressInfo).port;
      const r = await fetchLease(
        proto.Lease.fromPartial({ ...lease("/"), url: `http://127.0.0.1:${port}/` }),
        deps,
      );
      expect(r.error?.kind).toBe(Kind.FETCH_ERROR_KIND_PROTOCOL);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => junk.close(() => r()));
    }
  });

  it("refuses a lease whose URL is not one Heed would crawl", async () => {
    const r = await fetchLease(
      proto.Lease.fromPartial({ ...lease("/"), url: `${base}/${"y".repeat(9000)}` }),
      deps,
    );
    expect(r.error?.kind).toBe(Kind.FETCH_ERROR_KIND_INVALID_URL);
  });

  it("reports a refused connection as a connect error", async () => {
    const r = await fetchLease(proto.Lease.fromPartial({ ...lease("/"), url: "http://127.0.0.1:1/" }), deps);
    expect(r.error?.kind).toBe(Kind.FETCH_ERROR_KIND_CONNECT);
  });
});

describe("connections across leases", () => {
  it("reuses a host's connection for its next lease, a politeness delay later; a body cut mid-way leaves no stuck connection", async () => {
    let sockets = 0;
    const host = createServer((req, res) => {
      if (req.url === "/big") res.writeHead(200, { "content-type": "text/plain" }).end("x".repeat(5_000_000));
      else res.writeHead(200, { "content-type": "text/html" }).end(`<a href="/next">next</a>`);
    });
    host.on("connection", () => sockets++);
    await new Promise<void>((r) => host.listen(0, "127.0.0.1", () => r()));
    const origin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    const agents = {
      guarded: createFetchAgent(true),
      open: createFetchAgent(false),
      allowPrivateAddresses: true,
    };
    const at = (path: string, maxBytes = 100_000) =>
      fetchLease(lease(path, { url: `${origin}${path}` }, { maxBytes }), agents);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await at(`/p/${i}`);
        expect(r.statusCode).toBe(200);
        expect(r.outlinks).toEqual([`${origin}/next`]);
        await sleep(300);
      }
      // Three leases of one host, each a delay after the last: one connection.
      expect(sockets).toBe(1);
      // A body cut at the lease's limit while more is coming: that request stops there, and the
      // host's next lease gets a whole answer.
      const cut = await at("/big", 1000);
      expect(cut.truncated).toBe(true);
      expect(cut.bodyBytes).toBe(1000);
      const after = await at("/p/after");
      expect(after.statusCode).toBe(200);
      expect(after.outlinks).toEqual([`${origin}/next`]);
    } finally {
      await agents.guarded.close();
      await agents.open.close();
      host.closeAllConnections();
      await new Promise<void>((r) => host.close(() => r()));
    }
  });
});

/**
 * Web Bot Auth end to end: a crawl that signs, on a real cluster, against a
 * loopback site that keeps every request's headers. The signatures are checked
 * with `http-message-signatures` (an RFC 9421 implementation Heed does not use
 * to sign), against the keys the coordinator's own key directory serves.
 */

import { createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForCrawl } from "@heed/coordinator";
import { createVerifier, httpbis } from "http-message-signatures";
import { parseDictionary } from "structured-headers";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";
import { runHeed } from "./harness/processes.js";

const DIRECTORY = "/.well-known/http-message-signatures-directory";
const AGENT = "https://heed.example.org/.well-known/http-message-signatures-directory";
const scratch = mkdtempSync(join(tmpdir(), "heed-wba-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let site: TinySite | undefined;
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  await site?.close();
  cluster = undefined;
  site = undefined;
});

interface Captured {
  path: string;
  headers: IncomingHttpHeaders;
}
interface Jwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
}

async function generateKey(name: string): Promise<{ file: string; keyid: string }> {
  const file = join(scratch, name);
  const r = await runHeed(["keys", "generate", "--output", file], { timeoutMs: 20_000 });
  expect(r.code).toBe(0);
  expect(r.stdout + r.stderr).not.toMatch(/PRIVATE|"d":/);
  return { file, keyid: (JSON.parse(r.stdout) as { keyid: string }).keyid };
}

/** The independent check: parses Signature-Input and verifies with keys from the directory only. */
async function verify(req: Captured, authority: string, keys: Jwk[]): Promise<boolean> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
  try {
    const ok = await httpbis.verifyMessage(
      {
        requiredFields: ["@authority", "signature-agent"],
        requiredParams: ["created", "expires", "keyid", "nonce", "tag"],
        keyLookup: async (params) => {
          const jwk = keys.find((k) => k.kid === params.keyid);
          if (jwk === undefined) return null;
          const publicKey = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: "jwk" });
          return { id: jwk.kid, algs: ["ed25519"], verify: createVerifier(publicKey, "ed25519") };
        },
      },
      { method: "GET", url: `http://${authority}${req.path}`, headers },
    );
    return ok === true;
  } catch {
    return false;
  }
}

describe("Web Bot Auth", () => {
  it("signs every request of a signing crawl, robots.txt included, verifiably with the published directory", async () => {
    const key = await generateKey("signing.pem");
    expect(statSync(key.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(key.file, "utf8")).toMatch(/BEGIN PRIVATE KEY/);
    const again = await runHeed(["keys", "generate", "--output", key.file], { timeoutMs: 20_000 });
    expect(again.code).not.toBe(0);
    expect(readFileSync(key.file, "utf8")).toMatch(/BEGIN PRIVATE KEY/);
    const captured: Captured[] = [];
    site = await startTinySite("127.0.0.61", (req, res) => {
      captured.push({ path: req.url ?? "", headers: req.headers });
      if (req.url === "/robots.txt")
        return res.writeHead(200, { "content-type": "text/plain" }).end("User-agent: *\nAllow: /\n");
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(req.url === "/" ? `<a href="/a?x=1">a</a>` : "<p>leaf</p>");
    });
    cluster = await startCluster({
      workers: 1,
      coordinator: { httpListen: "127.0.0.1:0", signatureAgent: AGENT, directoryKeyFiles: [key.file] },
      worker: { signingKeyFile: key.file, signatureAgent: AGENT },
    });
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec([`${site.origin}/`], { signRequests: true }),
    );
    await waitForCrawl(cluster.coordinator.frontier, crawl.id, { timeoutMs: 20_000 });
    expect(captured.map((c) => c.path).sort()).toEqual(["/", "/a?x=1", "/robots.txt"]);

    // The directory, as a site owner fetches it.
    const coordinatorAuthority = `127.0.0.1:${cluster.coordinator.httpPort}`;
    const dir = await fetch(`http://${coordinatorAuthority}${DIRECTORY}`);
    expect(dir.status).toBe(200);
    expect(dir.headers.get("content-type")).toBe("application/http-message-signatures-directory+json");
    const dirBody = await dir.text();
    const keys = (JSON.parse(dirBody) as { keys: Jwk[] }).keys;
    expect(keys.map((k) => k.kid)).toEqual([key.keyid]);
    expect(JSON.stringify(keys)).not.toMatch(/"d"/);

    const authority = new URL(site.origin).host;
    for (const req of captured) {
      expect(req.headers["signature-agent"]).toBe(`sig1="${AGENT}"`);
      const input = parseDictionary(String(req.headers["signature-input"]));
      const params = input.get("sig1")?.[1];
      expect(params?.get("tag")).toBe("web-bot-auth");
      expect(params?.get("keyid")).toBe(key.keyid);
      expect(Number(params?.get("expires")) - Number(params?.get("created"))).toBeLessThanOrEqual(24 * 3600);
      expect(await verify(req, authority, keys), `signature of ${req.path}`).toBe(true);
    }
    const nonces = captured.map((c) =>
      parseDictionary(String(c.headers["signature-input"])).get("sig1")?.[1].get("nonce"),
    );
    expect(new Set(nonces).size).toBe(captured.length);

    // Tampering: another path, another Signature-Agent, another host, another key: each fails.
    const page = captured.find((c) => c.path === "/") as Captured;
    expect(await verify({ ...page, path: "/admin" }, authority, keys)).toBe(false);
    expect(
      await verify(
        { ...page, headers: { ...page.headers, "signature-agent": `sig1="https://evil.example/"` } },
        authority,
        keys,
      ),
    ).toBe(false);
    expect(await verify(page, "127.0.0.62:80", keys)).toBe(false);
    const other = await generateKey("other.pem");
    const otherJwk = JSON.parse(
      (
        await runHeed(
          ["keys", "directory", "--key", other.file, "--authority", "x", "--output", join(scratch, "o.json")],
          { timeoutMs: 20_000 },
        )
      ).code === 0
        ? readFileSync(join(scratch, "o.json"), "utf8")
        : "{}",
    ) as { keys: Jwk[] };
    expect(
      await verify(
        page,
        authority,
        otherJwk.keys.map((k) => ({ ...k, kid: key.keyid })),
      ),
    ).toBe(false);

    // The directory's own signature (draft Appendix B), checked by the same independent library.
    const dirHeaders: Record<string, string> = {};
    dir.headers.forEach((v, k) => {
      dirHeaders[k] = v;
    });
    expect(dirHeaders["content-digest"]).toBe(
      `sha-256=:${(await import("node:crypto")).createHash("sha256").update(dirBody).digest("base64")}:`,
    );
    const dirOk = await httpbis.verifyMessage(
      {
        requiredFields: ["@authority", "content-digest"],
        keyLookup: async (params) => {
          const jwk = keys.find((k) => k.kid === params.keyid);
          if (jwk === undefined || params.tag !== "http-message-signatures-directory") return null;
          const publicKey = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: "jwk" });
          return { id: jwk.kid, algs: ["ed25519"], verify: createVerifier(publicKey, "ed25519") };
        },
      },
      { status: 200, headers: dirHeaders },
      {
        method: "GET",
        url: `http://${coordinatorAuthority}${DIRECTORY}`,
        headers: { host: coordinatorAuthority },
      },
    );
    expect(dirOk).toBe(true);

    // The Signature Agent Card beside it describes the signing crawl as it is configured.
    const card = (await (
      await fetch(`http://${coordinatorAuthority}/.well-known/signature-agent-card`)
    ).json()) as {
      jwks_uri: string;
      contacts: string[];
      web_bot_auth: Record<string, unknown>;
    };
    expect(card.jwks_uri).toBe(AGENT);
    expect(card.contacts).toEqual(["mailto:heed-tests@example.org"]);
    expect(card.web_bot_auth["rfc9309-product-token"]).toBe("HeedBot");
    expect(card.web_bot_auth["rate-expectation"]).toMatch(/at most 1 request at a time, at least 100 ms/);
  });

  it("sends no signature for a crawl that does not sign, and never an unsigned request for one that does", async () => {
    const captured: Captured[] = [];
    site = await startTinySite("127.0.0.63", (req, res) => {
      captured.push({ path: req.url ?? "", headers: req.headers });
      if (req.url === "/robots.txt") return res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/html" }).end("<p>x</p>");
    });
    // Workers without a key.
    cluster = await startCluster({ workers: 1 });
    const plain = cluster.coordinator.frontier.createCrawl(crawlSpec([`${site.origin}/plain`]));
    await waitForCrawl(cluster.coordinator.frontier, plain.id, { timeoutMs: 20_000 });
    expect(captured.length).toBeGreaterThan(0);
    for (const c of captured) expect(c.headers.signature).toBeUndefined();
    captured.length = 0;
    const signing = cluster.coordinator.frontier.createCrawl(
      crawlSpec([`${site.origin}/signed`], { signRequests: true, fetch: { maxAttempts: 1 } }),
    );
    await waitForCrawl(cluster.coordinator.frontier, signing.id, { timeoutMs: 20_000 });
    const rec = cluster.coordinator.frontier.url(signing.id, `${site.origin}/signed`);
    expect(rec?.state).toBe("failed");
    expect(JSON.stringify(rec)).toMatch(/HEED_SIGNING_UNAVAILABLE/);
    expect(captured).toEqual([]);
  });
});

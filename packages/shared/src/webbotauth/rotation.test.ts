import { createPublicKey } from "node:crypto";
import { createVerifier, httpbis } from "http-message-signatures";
import { describe, expect, it } from "vitest";
import { signedDirectory } from "./directory.js";
import { generateSigningKey } from "./keys.js";
import { createRequestSigner } from "./sign.js";

interface Jwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
}

/** An independent RFC 9421 verifier, given only the published directory's keys. */
function lookup(keys: Jwk[], tag: string) {
  return async (params: { keyid?: string; tag?: string }) => {
    const jwk = keys.find((k) => k.kid === params.keyid);
    if (jwk === undefined || params.tag !== tag) return null;
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: "jwk" });
    return { id: jwk.kid, algs: ["ed25519"], verify: createVerifier(key, "ed25519") };
  };
}

describe("key rotation", () => {
  it("publishes both keys during the overlap, each proving possession, and accepts requests signed by either", async () => {
    const old = generateSigningKey().key;
    const next = generateSigningKey().key;
    const { body, headers } = signedDirectory([old, next], "crawler.example.org");
    const keys = (JSON.parse(body) as { keys: Jwk[] }).keys;
    expect(keys.map((k) => k.kid)).toEqual([old.keyid, next.keyid]);
    const request = { method: "GET", url: "https://crawler.example.org/.well-known/x", headers: {} };
    // `all`: every signature on the directory must verify, one per published key.
    const dirOk = await httpbis.verifyMessage(
      { all: true, keyLookup: lookup(keys, "http-message-signatures-directory") },
      { status: 200, headers },
      request,
    );
    expect(dirOk).toBe(true);
    expect(String(headers["signature-input"]).match(/binding\d=/g)).toHaveLength(2);

    const agent = "https://crawler.example.org/.well-known/http-message-signatures-directory";
    const url = new URL("https://site.example/page?q=1");
    for (const key of [old, next]) {
      const signed = createRequestSigner(key, agent).sign("GET", url);
      const ok = await httpbis.verifyMessage(
        { keyLookup: lookup(keys, "web-bot-auth") },
        { method: "GET", url: url.href, headers: { ...signed } },
      );
      expect(ok).toBe(true);
    }
    // After the overlap the old key is gone from the directory, and its signatures no longer verify.
    const after = (JSON.parse(signedDirectory([next], "crawler.example.org").body) as { keys: Jwk[] }).keys;
    const stale = createRequestSigner(old, agent).sign("GET", url);
    const verdict = await httpbis
      .verifyMessage(
        { keyLookup: lookup(after, "web-bot-auth") },
        { method: "GET", url: url.href, headers: { ...stale } },
      )
      .catch(() => false);
    expect(verdict).not.toBe(true);
  });
});

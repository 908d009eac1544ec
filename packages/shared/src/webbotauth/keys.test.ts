import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { generateSigningKey, jwkThumbprint, loadSigningKey, signingKeyFromPem } from "./keys.js";

// RFC 8037 Appendix A.1 (the key) and A.3 (its thumbprint): numbers from the RFC, not from this code.
const RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
// RFC 9421 Appendix B.1.4 test-key-ed25519, whose thumbprint the Web Bot Auth draft's examples use as keyid.
const RFC9421_PEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
`;

describe("Web Bot Auth keys", () => {
  it("names a key by its RFC 7638 thumbprint, as RFC 8037 A.3 computes it", () => {
    expect(jwkThumbprint({ kty: "OKP", crv: "Ed25519", x: RFC8037_X })).toBe(RFC8037_THUMBPRINT);
    const pem = createPrivateKey({
      key: { kty: "OKP", crv: "Ed25519", d: RFC8037_D, x: RFC8037_X },
      format: "jwk",
    })
      .export({ format: "pem", type: "pkcs8" })
      .toString();
    const key = signingKeyFromPem(pem, "k");
    expect(key.publicJwk.x).toBe(RFC8037_X);
    expect(key.keyid).toBe(RFC8037_THUMBPRINT);
    expect(signingKeyFromPem(RFC9421_PEM, "k").keyid).toBe("poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U");
  });

  it("refuses what is not an Ed25519 private key, without quoting it", () => {
    expect(() => signingKeyFromPem("not a key", "signingKeyFile")).toThrow(ConfigError);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    expect(() => signingKeyFromPem(rsa.export({ format: "pem", type: "pkcs8" }), "signingKeyFile")).toThrow(
      /Ed25519/,
    );
  });

  it("takes the key from a secret in the environment, but not from both places", () => {
    const { pem, key } = generateSigningKey();
    expect(loadSigningKey("", "signingKeyFile", "HEED_SIGNING_KEY", { HEED_SIGNING_KEY: pem })?.keyid).toBe(
      key.keyid,
    );
    expect(loadSigningKey("", "signingKeyFile", "HEED_SIGNING_KEY", {})).toBeUndefined();
    expect(() =>
      loadSigningKey("/some/file", "signingKeyFile", "HEED_SIGNING_KEY", { HEED_SIGNING_KEY: pem }),
    ).toThrow(/not both/);
  });
});

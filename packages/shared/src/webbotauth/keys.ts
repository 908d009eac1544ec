/**
 * Ed25519 signing keys for Web Bot Auth (draft-ietf-webbotauth-httpsig-protocol-01):
 * generated, loaded from a PKCS#8 PEM file or secret, and named by their JWK
 * SHA-256 thumbprint (RFC 7638, with RFC 8037 Appendix A.3 for OKP keys).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { ConfigError, errorMessage } from "../errors.js";
import { readFileSetting } from "../secrets.js";

/** The public half as a JWK: what the key directory publishes. */
export interface Ed25519PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
}

export interface SigningKey {
  /** RFC 7638 thumbprint of the public JWK: the `keyid` of every signature, the `kid` in the directory. */
  keyid: string;
  /** Never logged, never serialised into a lease or a report. */
  privateKey: KeyObject;
  publicJwk: Ed25519PublicJwk;
}

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace. */
export function jwkThumbprint(jwk: Ed25519PublicJwk): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}"}`;
  return createHash("sha256").update(canonical).digest("base64url");
}

function fromPrivateKey(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new Error(`an Ed25519 key is needed, not ${privateKey.asymmetricKeyType ?? "a symmetric key"}`);
  }
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new Error("the public key has no x coordinate");
  const publicJwk: Ed25519PublicJwk = { kty: "OKP", crv: "Ed25519", x: jwk.x };
  return { keyid: jwkThumbprint(publicJwk), privateKey, publicJwk };
}

/** A new key and its PKCS#8 PEM, for `heed keys generate`. */
export function generateSigningKey(): { key: SigningKey; pem: string } {
  const { privateKey } = generateKeyPairSync("ed25519");
  return {
    key: fromPrivateKey(privateKey),
    pem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  };
}

/** Reads a PKCS#8 PEM private key; `setting` names where it came from in the error, never the key itself. */
export function signingKeyFromPem(pem: string | Buffer, setting: string): SigningKey {
  try {
    return fromPrivateKey(createPrivateKey({ key: pem, format: "pem" }));
  } catch (err) {
    // The parser's message never quotes the key material, but keep it short anyway.
    throw new ConfigError(
      setting,
      `not an Ed25519 private key in PKCS#8 PEM: ${errorMessage(err).slice(0, 120)}`,
    );
  }
}

/**
 * The signing key a worker uses: from the file `path` names or, for a
 * Kubernetes Secret mounted as an environment variable, the PEM in `envName`.
 * Both set is refused rather than guessing. `undefined` when neither is set.
 */
export function loadSigningKey(
  path: string,
  setting: string,
  envName: string,
  env: NodeJS.ProcessEnv = process.env,
): SigningKey | undefined {
  const fromEnv = env[envName];
  const hasEnv = fromEnv !== undefined && fromEnv.trim() !== "";
  if (path !== "" && hasEnv) throw new ConfigError(setting, `set either ${setting} or ${envName}, not both`);
  if (hasEnv) return signingKeyFromPem(fromEnv, envName);
  const file = readFileSetting(path, setting);
  return file === undefined ? undefined : signingKeyFromPem(file, setting);
}

/** Several key files (the keys published during a rotation); the same key twice counts once. */
export function loadSigningKeys(paths: string[], setting: string): SigningKey[] {
  const keys = new Map<string, SigningKey>();
  for (const path of paths) {
    const key = loadSigningKey(path, setting, "", {});
    if (key !== undefined) keys.set(key.keyid, key);
  }
  return [...keys.values()];
}

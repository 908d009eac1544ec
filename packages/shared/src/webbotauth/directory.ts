/**
 * The key directory a site owner fetches to check Heed's signatures
 * (draft-ietf-webbotauth-httpsig-protocol-01 §4.3 and Appendix B): a JWK Set at
 * /.well-known/http-message-signatures-directory, served with its own media
 * type and one response signature per key. Each of those signatures covers
 * the request's authority and the body's Content-Digest (RFC 9530), proving
 * that whoever serves the directory holds the keys it lists.
 */
import { createHash, sign } from "node:crypto";
import { sfBinary, sfParams } from "./fields.js";
import type { Ed25519PublicJwk, SigningKey } from "./keys.js";

export const DIRECTORY_PATH = "/.well-known/http-message-signatures-directory";
export const DIRECTORY_MEDIA_TYPE = "application/http-message-signatures-directory+json";
export const DIRECTORY_TAG = "http-message-signatures-directory";
/** Verifiers cache the directory this long; a key removed in a rotation stops verifying within it. */
export const DIRECTORY_MAX_AGE_S = 3600;

export interface DirectoryJwk extends Ed25519PublicJwk {
  kid: string;
  use: "sig";
  alg: "ed25519";
}

export interface DirectoryResponse {
  body: string;
  headers: Record<string, string>;
}

/** The JWK Set: every published key, `kid` = its thumbprint (draft §4.3). */
export function directoryJson(keys: SigningKey[]): string {
  const jwks: DirectoryJwk[] = keys.map((k) => ({
    ...k.publicJwk,
    kid: k.keyid,
    use: "sig",
    alg: "ed25519",
  }));
  return `${JSON.stringify({ keys: jwks }, null, 2)}\n`;
}

/**
 * The directory as served to a verifier that asked `authority` (the Host it
 * used). A static copy for an operator's own website is signed for the
 * authority it will be served from, with a longer validity.
 */
export function signedDirectory(
  keys: SigningKey[],
  authority: string,
  options: { nowMs?: number; validitySeconds?: number } = {},
): DirectoryResponse {
  const body = directoryJson(keys);
  const digest = `sha-256=${sfBinary(createHash("sha256").update(body).digest())}`;
  const created = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const expires = created + (options.validitySeconds ?? 24 * 3600);
  const inputs: string[] = [];
  const signatures: string[] = [];
  keys.forEach((key, i) => {
    const label = `binding${i + 1}`;
    const signatureParams = `("@authority";req "content-digest")${sfParams([
      ["created", created],
      ["expires", expires],
      ["keyid", key.keyid],
      ["alg", "ed25519"],
      ["tag", DIRECTORY_TAG],
    ])}`;
    const base = [
      `"@authority";req: ${authority.toLowerCase()}`,
      `"content-digest": ${digest}`,
      `"@signature-params": ${signatureParams}`,
    ].join("\n");
    inputs.push(`${label}=${signatureParams}`);
    signatures.push(`${label}=${sfBinary(sign(null, Buffer.from(base), key.privateKey))}`);
  });
  return {
    body,
    headers: {
      "content-type": DIRECTORY_MEDIA_TYPE,
      "cache-control": `max-age=${DIRECTORY_MAX_AGE_S}`,
      "content-digest": digest,
      ...(keys.length > 0 ? { "signature-input": inputs.join(", "), signature: signatures.join(", ") } : {}),
      // Public key material: browser-based verifiers may fetch it cross-origin (draft Appendix C).
      "access-control-allow-origin": "*",
    },
  };
}

/**
 * Signs outgoing requests as Web Bot Auth asks (draft-ietf-webbotauth-httpsig-protocol-01,
 * on RFC 9421 HTTP Message Signatures with Ed25519).
 *
 * Each request carries a `Signature-Agent` dictionary member pointing at the
 * operator's key directory, and one signature covering the method, authority,
 * path and that member, so a signature seen on one request cannot be replayed
 * against another path or method of the same site. Parameters: created,
 * expires, keyid (the key's JWK thumbprint), alg, a fresh nonce, tag.
 */
import { randomBytes, sign } from "node:crypto";
import { sfBinary, sfParams, sfString } from "./fields.js";
import type { SigningKey } from "./keys.js";

export const WEB_BOT_AUTH_TAG = "web-bot-auth";
/** The label of Heed's signature and of its Signature-Agent member. */
export const SIGNATURE_LABEL = "sig1";
/** Short enough that a captured signature is soon useless; long enough for clock skew. */
export const SIGNATURE_VALIDITY_S = 300;

export interface SignedHeaders {
  "signature-agent": string;
  "signature-input": string;
  signature: string;
}

export interface RequestSigner {
  keyid: string;
  signatureAgent: string;
  /** Headers for one request; call once per request (robots.txt redirects included), never reuse. */
  sign(method: string, url: URL): SignedHeaders;
}

/** RFC 9421 §2.2.6: the absolute path, "/" when empty; the query is not part of it. */
function pathOf(url: URL): string {
  return url.pathname === "" ? "/" : url.pathname;
}

/**
 * @param signatureAgent the https URL of the key directory (draft §4.2: a direct JWK Set URI)
 */
export function createRequestSigner(
  key: SigningKey,
  signatureAgent: string,
  clock: () => number = Date.now,
): RequestSigner {
  const agentMember = sfString(signatureAgent);
  const signatureAgentHeader = `${SIGNATURE_LABEL}=${agentMember}`;
  const components = `("@method" "@authority" "@path" "signature-agent";key="${SIGNATURE_LABEL}")`;
  return {
    keyid: key.keyid,
    signatureAgent,
    sign(method, url) {
      const created = Math.floor(clock() / 1000);
      const params = sfParams([
        ["created", created],
        ["expires", created + SIGNATURE_VALIDITY_S],
        ["keyid", key.keyid],
        ["alg", "ed25519"],
        ["nonce", randomBytes(32).toString("base64")],
        ["tag", WEB_BOT_AUTH_TAG],
      ]);
      const signatureParams = `${components}${params}`;
      // RFC 9421 §2.5: one line per covered component, then @signature-params, joined by LF.
      const base = [
        `"@method": ${method.toUpperCase()}`,
        `"@authority": ${url.host.toLowerCase()}`,
        `"@path": ${pathOf(url)}`,
        `"signature-agent";key="${SIGNATURE_LABEL}": ${agentMember}`,
        `"@signature-params": ${signatureParams}`,
      ].join("\n");
      const signature = sign(null, Buffer.from(base), key.privateKey);
      return {
        "signature-agent": signatureAgentHeader,
        "signature-input": `${SIGNATURE_LABEL}=${signatureParams}`,
        signature: `${SIGNATURE_LABEL}=${sfBinary(signature)}`,
      };
    },
  };
}

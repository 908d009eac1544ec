import { createHmac, createPublicKey, type KeyObject, sign, timingSafeEqual, verify } from "node:crypto";

/**
 * Control messages on NATS carry their proof in a header over their exact
 * bytes, so nothing depends on re-encoding a decoded message the same way.
 *
 * - Workers prove they hold the worker token (HMAC-SHA256 keyed with it) on
 *   lease requests and heartbeats: a client without the token gets no lease
 *   and cannot pose as a worker.
 * - The coordinator signs lease batches and drains with its Ed25519 key; the
 *   workers learn the public key over gRPC (the channel their reports already
 *   trust) and act on nothing it did not sign.
 *
 * Each proof also covers the message's kind and its reply subject, so a proof
 * for one message cannot be moved onto another or redirected to a new inbox.
 */
export const PROOF_HEADER = "Heed-Proof";
export const SIGNATURE_HEADER = "Heed-Signature";

export type ControlMessageKind = "lease-request" | "lease-batch" | "heartbeat" | "drain";

/** Messages older or further in the future than this are refused (replays, or a clock far off). */
export const CONTROL_MESSAGE_MAX_AGE_MS = 60_000;

function signedBytes(kind: ControlMessageKind, reply: string, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`heed.v1 ${kind}\n${reply}\n`, "utf8"), payload]);
}

/** The proof a worker sends: HMAC-SHA256 keyed with the worker token, base64. */
export function workerProof(
  token: string,
  kind: ControlMessageKind,
  reply: string,
  payload: Uint8Array,
): string {
  return createHmac("sha256", token)
    .update(signedBytes(kind, reply, payload))
    .digest("base64");
}

export function checkWorkerProof(
  token: string,
  kind: ControlMessageKind,
  reply: string,
  payload: Uint8Array,
  proof: string | undefined,
): boolean {
  if (proof === undefined || proof === "") return false;
  const expected = Buffer.from(workerProof(token, kind, reply, payload), "base64");
  const presented = Buffer.from(proof, "base64");
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** The coordinator's signature (Ed25519), base64. */
export function signControl(
  key: KeyObject,
  kind: ControlMessageKind,
  reply: string,
  payload: Uint8Array,
): string {
  return sign(null, signedBytes(kind, reply, payload), key).toString("base64");
}

export function verifyControl(
  key: KeyObject,
  kind: ControlMessageKind,
  reply: string,
  payload: Uint8Array,
  signature: string | undefined,
): boolean {
  if (signature === undefined || signature === "") return false;
  try {
    return verify(null, signedBytes(kind, reply, payload), key, Buffer.from(signature, "base64"));
  } catch {
    return false;
  }
}

/** A public key as the coordinator hands it out (SPKI DER). */
export function publicKeyFromDer(der: Uint8Array): KeyObject {
  const key = createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`not an Ed25519 key: ${key.asymmetricKeyType}`);
  return key;
}

export function isFresh(sentAtMs: number, nowMs: number, maxAgeMs = CONTROL_MESSAGE_MAX_AGE_MS): boolean {
  return Math.abs(nowMs - sentAtMs) <= maxAgeMs;
}

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errorMessage, SetupError } from "@heed/shared";

export interface SigningKey {
  privateKey: KeyObject;
  /** The public key as workers receive it (SPKI DER). */
  publicKeyDer: Buffer;
}

const FILE = "control-signing-key.pem";

/**
 * The coordinator's Ed25519 key for lease batches and drains, kept beside the
 * frontier so that a restart keeps the key workers already trust. Created on
 * first start, readable by its owner only.
 */
export function loadSigningKey(dataDir: string): SigningKey {
  const path = join(dataDir, FILE);
  let pem: string | undefined;
  try {
    pem = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      throw new SetupError("HEED_SIGNING_KEY", `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
  let privateKey: KeyObject;
  if (pem === undefined) {
    privateKey = generateKeyPairSync("ed25519").privateKey;
    try {
      mkdirSync(dataDir, { recursive: true });
      // "wx": two coordinators racing on one data directory must not overwrite each other's key.
      writeFileSync(path, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
    } catch (err) {
      throw new SetupError("HEED_SIGNING_KEY", `cannot write ${path}: ${errorMessage(err)}`, { cause: err });
    }
  } else {
    try {
      privateKey = createPrivateKey(pem);
    } catch (err) {
      throw new SetupError("HEED_SIGNING_KEY", `${path} holds no usable key: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    if (privateKey.asymmetricKeyType !== "ed25519")
      throw new SetupError("HEED_SIGNING_KEY", `${path} is not an Ed25519 key`);
  }
  const publicKeyDer = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return { privateKey, publicKeyDer };
}

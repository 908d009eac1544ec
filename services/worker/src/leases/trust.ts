import type { KeyObject } from "node:crypto";
import {
  type ControlMessageKind,
  errorMessage,
  type Logger,
  publicKeyFromDer,
  verifyControl,
} from "@heed/shared";

/** At most one key lookup this often: a flood of forged messages must not become a flood of gRPC calls. */
const REFRESH_MIN_INTERVAL_MS = 5000;

/** Decides whether a lease answer or a drain comes from a coordinator this worker acts for. */
export interface MessageTrust {
  /**
   * Whether the coordinator signed this message. Without a key yet (or when
   * the signature fails, since a restored coordinator may have a new key),
   * asks the coordinator once for its key, then decides.
   */
  signed(
    kind: ControlMessageKind,
    reply: string,
    data: Uint8Array,
    signature: string | undefined,
  ): Promise<boolean>;
}

export interface CoordinatorTrust extends MessageTrust {
  /** Takes the key from a Renew answer. */
  learn(der: Uint8Array): void;
}

/**
 * The one coordinator this worker reports to is the only one whose leases and
 * drains it acts on. Its public key comes over gRPC, the channel the worker's
 * reports already trust (TLS and the worker token when configured).
 */
export function createCoordinatorTrust(fetchKey: () => Promise<unknown>, log: Logger): CoordinatorTrust {
  let key: KeyObject | undefined;
  let keyDer: Buffer | undefined;
  let lastRefreshMs = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<void> | undefined;

  const learn = (der: Uint8Array) => {
    if (keyDer?.equals(der)) return;
    try {
      key = publicKeyFromDer(der);
      keyDer = Buffer.from(der);
      log.info("coordinator key learnt");
    } catch (err) {
      log.warn({ err: errorMessage(err) }, "the coordinator sent an unusable key");
    }
  };
  const refresh = async () => {
    if (Date.now() - lastRefreshMs < REFRESH_MIN_INTERVAL_MS) return refreshing;
    lastRefreshMs = Date.now();
    refreshing = fetchKey().then(
      () => undefined,
      (err: unknown) => log.debug({ err: errorMessage(err) }, "cannot ask the coordinator for its key"),
    );
    return refreshing;
  };
  const check = (kind: ControlMessageKind, reply: string, data: Uint8Array, sig: string | undefined) =>
    key !== undefined && verifyControl(key, kind, reply, data, sig);

  return {
    learn,
    async signed(kind, reply, data, signature) {
      if (signature === undefined || signature === "") return false;
      if (check(kind, reply, data, signature)) return true;
      await refresh();
      return check(kind, reply, data, signature);
    },
  };
}

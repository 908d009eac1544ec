import type { KeyObject } from "node:crypto";
import { errorMessage, type Logger, publicKeyFromDer, type ShardMember, verifyControl } from "@heed/shared";
import type { MessageTrust } from "../leases/trust.js";

/** Distinct record keys remembered at most; a fleet has a handful, a forged flood must not grow this. */
const KEY_CACHE_MAX = 1024;

export interface ShardKeys {
  /** The signing key of a live shard, from its member record; undefined if it has none usable. */
  keyOf(shardId: string): KeyObject | undefined;
  /** Trusts what this one shard signed (its lease answers). */
  forShard(shardId: string): MessageTrust;
  /** Trusts what any live shard signed (drains: any shard may pass on an operator's drain). */
  anyShard(): MessageTrust;
}

/**
 * Each shard's lease-signing public key comes from its member record in the
 * members bucket (base64 SPKI DER, as a coordinator hands it out over gRPC),
 * so a worker trusts exactly the shards that are live, each for its own
 * leases. A record whose key cannot be read makes that shard's answers
 * unverifiable: its leases are refused, never fetched unchecked.
 */
export function createShardKeys(
  fleet: { member(shardId: string): ShardMember | undefined; members(): ShardMember[] },
  log: Logger,
): ShardKeys {
  const parsed = new Map<string, KeyObject | undefined>();
  const parse = (encoded: string, shardId: string): KeyObject | undefined => {
    if (parsed.has(encoded)) return parsed.get(encoded);
    if (parsed.size >= KEY_CACHE_MAX) parsed.clear();
    let key: KeyObject | undefined;
    try {
      key = publicKeyFromDer(Buffer.from(encoded, "base64"));
    } catch (err) {
      log.error({ shardId, err: errorMessage(err) }, "shard member record has an unusable signing key");
    }
    parsed.set(encoded, key);
    return key;
  };
  const keyOf = (shardId: string) => {
    const member = fleet.member(shardId);
    return member === undefined ? undefined : parse(member.signingPublicKey, shardId);
  };
  return {
    keyOf,
    forShard: (shardId) => ({
      signed: async (kind, reply, data, signature) => {
        const key = keyOf(shardId);
        return key !== undefined && verifyControl(key, kind, reply, data, signature);
      },
    }),
    anyShard: () => ({
      signed: async (kind, reply, data, signature) =>
        fleet.members().some((m) => {
          const key = parse(m.signingPublicKey, m.shardId);
          return key !== undefined && verifyControl(key, kind, reply, data, signature);
        }),
    }),
  };
}

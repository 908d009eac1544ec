import { z } from "zod";
import { InvalidInputError } from "../errors.js";

/** Shard ids name NATS subjects, KV keys and directories: one plain token. */
export const SHARD_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const shardIdSchema = z
  .string()
  .regex(SHARD_ID, "a shard id is 1-32 of a-z, 0-9 and '-', not starting with '-'");

/** Live shards: one key per shard id; the bucket's TTL is the ownership timeout. */
export const MEMBERS_BUCKET = "heed-shard-members";
/** The shard map: key `map`, never expires, every change revision-checked. */
export const MAP_BUCKET = "heed-shard-map";
export const MAP_KEY = "map";
/** Crawl definitions and their state, key = crawl id. */
export const CRAWLS_BUCKET = "heed-crawls";
/** Crawl-wide budgets (maxPages, maxBytes) and each shard's share of them, key = crawl id. */
export const BUDGETS_BUCKET = "heed-budgets";
/** URLs discovered by one shard for another, on `heed.urls.<shardId>`. */
export const URL_STREAM = "HEED_URLS";
/** How long a member record outlives its last put unless configured otherwise. */
export const DEFAULT_OWNERSHIP_TIMEOUT_MS = 15_000;

export const shardMemberSchema = z.object({
  shardId: shardIdSchema,
  /** host:port workers report to (and admin fan-out may use). */
  grpcAddress: z.string().min(1),
  leaseSubject: z.string().min(1),
  adminSubject: z.string().min(1),
  /** The lease-signing public key in the form workers already verify with. */
  signingPublicKey: z.string(),
  /** ms since the epoch. */
  startedAt: z.number().int().nonnegative(),
});
export type ShardMember = z.infer<typeof shardMemberSchema>;

export function urlSubject(shardId: string): string {
  return `heed.urls.${shardId}`;
}

export function shardLeaseSubject(base: string, shardId: string): string {
  return `${base}.${shardId}`;
}

export function shardAdminSubject(shardId: string): string {
  return `heed.shard.${shardId}.admin`;
}

/** A sharded coordinator's lease ids name the shard, so a report finds its way back. */
export function leaseIdWithShard(shardId: string, id: string): string {
  return `${shardId}~${id}`;
}

/** The issuing shard of a lease id; undefined for an unsharded coordinator's ids. */
export function shardOfLeaseId(leaseId: string): string | undefined {
  const cut = leaseId.indexOf("~");
  if (cut < 0) return undefined;
  const shard = leaseId.slice(0, cut);
  return SHARD_ID.test(shard) ? shard : undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeShardMember(member: ShardMember): Uint8Array {
  return encoder.encode(JSON.stringify(shardMemberSchema.parse(member)));
}

export function decodeShardMember(bytes: Uint8Array): ShardMember {
  return decodeJson(bytes, shardMemberSchema, "HEED_SHARD_MEMBER_INVALID", "shard member record");
}

/** KV bytes → a checked value; anything else is a typed error naming what was read. */
export function decodeJson<T>(bytes: Uint8Array, schema: z.ZodType<T>, code: string, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new InvalidInputError(code, `${what} is not JSON`, { cause: err });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new InvalidInputError(code, `${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

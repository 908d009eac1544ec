/** NATS subjects for worker presence and control (see proto/heed/v1/worker.proto). */
export const HEARTBEAT_SUBJECT = "heed.worker.heartbeat";
export const DRAIN_SUBJECT = "heed.worker.drain";
/** Every shard's admin subject (heed.shard.<id>.admin, see shards/members.ts): coordinators only. */
export const SHARD_ADMIN_SUBJECTS = "heed.shard.*.admin";
/**
 * Coordinators take replies (admin fan-out, JetStream) on inboxes of their
 * own, so their NATS user never needs to read workers' `_INBOX.>` replies.
 */
export const COORDINATOR_INBOX_PREFIX = "_INBOX_heed_coordinators";

import {
  BUDGETS_BUCKET,
  COORDINATOR_INBOX_PREFIX,
  CRAWLS_BUCKET,
  DRAIN_SUBJECT,
  HEARTBEAT_SUBJECT,
  MAP_BUCKET,
  MEMBERS_BUCKET,
  SHARD_ADMIN_SUBJECTS,
} from "@heed/shared";

/** Heed's roles on NATS; each is one NATS user. */
export type NatsRole = "coordinator" | "worker";

/**
 * What each role may publish and subscribe to. Only the coordinator receives
 * lease requests and heartbeats and publishes drains; it answers requests
 * through `allow_responses` (the reply subject of a message it received,
 * once), never by publishing to inboxes at large. Workers ask for leases,
 * beat, and hear drains and their own replies; they cannot see lease
 * requests, serve leases or drain anyone. In a sharded fleet coordinators
 * also use JetStream (the shard KV buckets, crawl budgets, the URL stream), ask each other
 * admin questions on `heed.shard.<id>.admin` (no other role may publish or
 * listen there) and take replies on inboxes of their own; workers may only
 * read the members and map buckets and ask each shard for leases.
 * deploy/base/nats/nats-server.conf writes the same rules by hand
 * (test/deploy checks both against nats-server).
 */
export function natsPermissions(leaseSubject: string): Record<NatsRole, string> {
  const kvRead = [MEMBERS_BUCKET, MAP_BUCKET].flatMap((b) => [
    `$JS.API.STREAM.INFO.KV_${b}`,
    `$JS.API.CONSUMER.CREATE.KV_${b}`,
    `$JS.API.CONSUMER.CREATE.KV_${b}.>`,
    `$JS.API.CONSUMER.DELETE.KV_${b}.>`,
    `$JS.FC.KV_${b}.>`,
  ]);
  return {
    coordinator: `{
      publish: { allow: [${list([
        DRAIN_SUBJECT,
        SHARD_ADMIN_SUBJECTS,
        "heed.urls.>",
        "$JS.API.>",
        "$JS.ACK.>",
        "$JS.FC.>",
        ...[MEMBERS_BUCKET, MAP_BUCKET, CRAWLS_BUCKET, BUDGETS_BUCKET].map((b) => `$KV.${b}.>`),
      ])}] }
      subscribe: { allow: [${list([
        leaseSubject,
        `${leaseSubject}.*`,
        HEARTBEAT_SUBJECT,
        SHARD_ADMIN_SUBJECTS,
        `${COORDINATOR_INBOX_PREFIX}.>`,
      ])}] }
      allow_responses: true
    }`,
    worker: `{
      publish: { allow: [${list([leaseSubject, `${leaseSubject}.*`, HEARTBEAT_SUBJECT, "$JS.API.INFO", ...kvRead])}] }
      subscribe: { allow: [${list([DRAIN_SUBJECT, "_INBOX.>"])}] }
    }`,
  };
}

/** A nats-server configuration with one user per role and these passwords. */
export function natsRolesConfig(passwords: Record<NatsRole, string>, leaseSubject: string): string {
  const permissions = natsPermissions(leaseSubject);
  const users = (Object.keys(passwords) as NatsRole[]).map(
    (role) => `    { user: ${q(role)}, password: ${q(passwords[role])}, permissions: ${permissions[role]} }`,
  );
  return `authorization {\n  timeout: 2\n  users: [\n${users.join("\n")}\n  ]\n}\n`;
}

function list(subjects: string[]): string {
  return subjects.map(q).join(", ");
}

function q(s: string): string {
  return JSON.stringify(s);
}

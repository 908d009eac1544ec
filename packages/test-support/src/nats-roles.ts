import { DRAIN_SUBJECT, HEARTBEAT_SUBJECT } from "@heed/shared";

/** Heed's roles on NATS; each is one NATS user. */
export type NatsRole = "coordinator" | "worker";

/**
 * What each role may publish and subscribe to. Only the coordinator receives
 * lease requests and heartbeats and publishes drains; it answers requests
 * through `allow_responses` (the reply subject of a message it received,
 * once), never by publishing to inboxes at large. Workers ask for leases,
 * beat, and hear drains and their own replies; they cannot see lease
 * requests, serve leases or drain anyone. deploy/base/nats/nats-server.conf
 * writes the same rules by hand (test/deploy checks both against nats-server).
 */
export function natsPermissions(leaseSubject: string): Record<NatsRole, string> {
  return {
    coordinator: `{
      publish: { allow: [${q(DRAIN_SUBJECT)}] }
      subscribe: { allow: [${q(leaseSubject)}, ${q(HEARTBEAT_SUBJECT)}] }
      allow_responses: true
    }`,
    worker: `{
      publish: { allow: [${q(leaseSubject)}, ${q(HEARTBEAT_SUBJECT)}] }
      subscribe: { allow: [${q(DRAIN_SUBJECT)}, "_INBOX.>"] }
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

function q(s: string): string {
  return JSON.stringify(s);
}

import { connect as tcpConnect } from "node:net";
import { COORDINATOR_INBOX_PREFIX } from "@heed/shared";

/**
 * Speaks NATS's text protocol directly, so what a test reads is nats-server's
 * own answer (`-ERR 'Permissions Violation for Publish to "…"'`), with no
 * client library in between to reword or swallow it.
 */
export async function natsWire(
  port: number,
  auth: { user?: string; pass?: string },
  ops: string[],
  timeoutMs = 3000,
): Promise<string> {
  const socket = tcpConnect(port, "127.0.0.1");
  socket.setEncoding("utf8");
  let text = "";
  let sent = false;
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no PONG from nats-server; got: ${text}`)), timeoutMs);
      socket.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on("close", () => {
        clearTimeout(timer);
        resolve(text);
      });
      socket.on("data", (chunk: string) => {
        text += chunk;
        // The server speaks first (INFO); then everything goes in one write, ending in a PING.
        if (!sent && text.includes("\r\n")) {
          sent = true;
          const connectOp = JSON.stringify({ verbose: false, pedantic: false, ...auth });
          socket.write(`CONNECT ${connectOp}\r\n${ops.map((o) => `${o}\r\n`).join("")}PING\r\n`);
        }
        // The PONG answers that PING: every earlier op has been judged by then.
        if (/^PONG\r$/m.test(text)) {
          clearTimeout(timer);
          resolve(text);
        }
      });
    });
  } finally {
    socket.destroy();
  }
}

/** nats-server's permission refusals in a wire transcript: "publish heed.worker.drain", … */
export function violations(transcript: string): string[] {
  return [...transcript.matchAll(/Permissions Violation for (Publish|Subscription) to "([^"]+)"/g)].map(
    (m) => `${m[1] === "Publish" ? "publish" : "subscribe"} ${m[2]}`,
  );
}

export type RoleLogins = Record<"coordinator" | "worker", { user: string; pass: string }>;

/**
 * What each Heed role may and may not do on NATS, tried on a running server.
 * Returns nats-server's refusals for the allowed and for the forbidden
 * operations of each role; a correct configuration refuses exactly
 * `FORBIDDEN_BY_ROLE` and nothing of the allowed ones.
 */
export async function probeRoles(
  port: number,
  logins: RoleLogins,
  leases = "heed.lease.request",
): Promise<Record<string, string[]>> {
  const ops = roleOps(leases);
  const out: Record<string, string[]> = {};
  for (const role of ["worker", "coordinator"] as const) {
    out[`${role} allowed`] = violations(await natsWire(port, logins[role], ops[role].allowed));
    out[`${role} forbidden`] = violations(await natsWire(port, logins[role], ops[role].forbidden));
  }
  return out;
}

function roleOps(leases: string) {
  return {
    worker: {
      allowed: [
        `SUB heed.worker.drain 1`,
        `SUB _INBOX.w1.* 2`,
        `PUB ${leases} _INBOX.w1.1 0\r\n`,
        `PUB heed.worker.heartbeat 0\r\n`,
        // A sharded fleet: each shard's lease subject, and reading (only) the members and map buckets.
        `PUB ${leases}.s0 _INBOX.w1.2 0\r\n`,
        `PUB $JS.API.CONSUMER.CREATE.KV_heed-shard-members _INBOX.w1.3 0\r\n`,
      ],
      forbidden: [
        // Serving leases, alone or in the coordinators' queue group.
        `SUB ${leases} 1`,
        `SUB ${leases} heed-coordinators 2`,
        // Draining the fleet.
        `PUB heed.worker.drain 0\r\n`,
        // Reading other workers' heartbeats, answering someone's request, hearing everything.
        `SUB heed.worker.heartbeat 3`,
        `PUB _INBOX.someone.1 0\r\n`,
        `SUB > 4`,
        // Asking a shard's admin questions, or answering them; JetStream beyond reading the fleet.
        `PUB heed.shard.s0.admin _INBOX.w1.4 0\r\n`,
        `SUB heed.shard.s0.admin 5`,
        `SUB ${COORDINATOR_INBOX_PREFIX}.> 6`,
        `PUB $KV.heed-shard-members.s0 0\r\n`,
        `PUB heed.urls.s0 0\r\n`,
        // Writing the shard map (which shard serves which hosts), or deleting its bucket.
        `PUB $KV.heed-shard-map.map 0\r\n`,
        `PUB $JS.API.STREAM.DELETE.KV_heed-shard-map _INBOX.w1.5 0\r\n`,
        // Spending a crawl's budget.
        `PUB $KV.heed-budgets.c1 0\r\n`,
      ],
    },
    coordinator: {
      allowed: [
        `SUB ${leases} heed-coordinators 1`,
        `SUB heed.worker.heartbeat 2`,
        `PUB heed.worker.drain 0\r\n`,
        // A shard: its lease subject, its admin subject, asking other shards, replies on its own inboxes.
        `SUB ${leases}.s0 3`,
        `SUB heed.shard.s0.admin 4`,
        `PUB heed.shard.s1.admin ${COORDINATOR_INBOX_PREFIX}.c.1 0\r\n`,
        `SUB ${COORDINATOR_INBOX_PREFIX}.c.* 5`,
        `PUB $KV.heed-shard-members.s0 0\r\n`,
        `PUB $KV.heed-budgets.c1 0\r\n`,
      ],
      forbidden: [
        `PUB ${leases} _INBOX.x 0\r\n`,
        `PUB heed.worker.heartbeat 0\r\n`,
        `SUB _INBOX.> 1`,
        // Only replies to requests it received: not any inbox it can name.
        `PUB _INBOX.w1.1 0\r\n`,
      ],
    },
  };
}

/** nats-server's refusals a correct role configuration gives for probeRoles. */
export function expectedRefusals(leases = "heed.lease.request"): Record<string, string[]> {
  return {
    "worker allowed": [],
    "worker forbidden": [
      `subscribe ${leases}`,
      `subscribe ${leases}`,
      "publish heed.worker.drain",
      "subscribe heed.worker.heartbeat",
      "publish _INBOX.someone.1",
      "subscribe >",
      "publish heed.shard.s0.admin",
      "subscribe heed.shard.s0.admin",
      `subscribe ${COORDINATOR_INBOX_PREFIX}.>`,
      "publish $KV.heed-shard-members.s0",
      "publish heed.urls.s0",
      "publish $KV.heed-shard-map.map",
      "publish $JS.API.STREAM.DELETE.KV_heed-shard-map",
      "publish $KV.heed-budgets.c1",
    ],
    "coordinator allowed": [],
    "coordinator forbidden": [
      `publish ${leases}`,
      "publish heed.worker.heartbeat",
      "subscribe _INBOX.>",
      "publish _INBOX.w1.1",
    ],
  };
}

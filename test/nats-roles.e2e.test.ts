/**
 * NATS's own authorization: Heed's roles are NATS users with subject
 * permissions, and nats-server itself refuses what a role may not do. The
 * configuration is the one `heed crawl` generates for its private server
 * (deploy/base/nats/nats-server.conf is checked the same way in test/deploy).
 */
import { type NatsServerHandle, startNatsServer } from "@heed/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectedRefusals, natsWire, probeRoles, type RoleLogins } from "./harness/nats-wire.js";

let nats: NatsServerHandle;
const login = (role: "coordinator" | "worker") => {
  const u = new URL(nats.urlFor(role));
  return { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
};

beforeAll(async () => {
  nats = await startNatsServer({ roles: { leaseSubject: "heed.lease.request" } });
});
afterAll(() => nats.stop());

describe("NATS roles of heed crawl's private server, enforced by nats-server", () => {
  it("refuses a client without credentials, or with another role's password", async () => {
    expect(await natsWire(nats.port, {}, [])).toMatch(/-ERR 'Authorization Violation'/);
    expect(await natsWire(nats.port, { user: "worker", pass: login("coordinator").pass }, [])).toMatch(
      /-ERR 'Authorization Violation'/,
    );
    expect(await natsWire(nats.port, login("worker"), [])).toMatch(/PONG/);
  });

  it("refuses each operation a role may not do, and none it needs", async () => {
    const logins: RoleLogins = { coordinator: login("coordinator"), worker: login("worker") };
    expect(await probeRoles(nats.port, logins)).toEqual(expectedRefusals());
  });

  it("generates new passwords for every server", async () => {
    const other = await startNatsServer({ roles: { leaseSubject: "heed.lease.request" } });
    try {
      expect(new URL(other.urlFor("worker")).password).not.toBe(login("worker").pass);
      expect(await natsWire(other.port, login("worker"), [])).toMatch(/Authorization Violation/);
    } finally {
      await other.stop();
    }
  });
});

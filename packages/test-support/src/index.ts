// Real parts for tests, benchmarks and `heed crawl`: the one way to run a private nats-server.

export { type NatsRole, natsPermissions, natsRolesConfig } from "./nats-roles.js";
export { findNatsServer, type NatsServerHandle, startNatsServer } from "./nats-server.js";

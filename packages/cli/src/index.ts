export { type NatsRole, natsPermissions, natsRolesConfig } from "./nats-roles.js";
export { findNatsServer, type NatsServerHandle, startNatsServer } from "./nats-server.js";

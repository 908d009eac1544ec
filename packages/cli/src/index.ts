export { findNatsServer, type NatsServerHandle, startNatsServer } from "./nats-server.js";

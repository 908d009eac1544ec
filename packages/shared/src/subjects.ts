/** NATS subjects for worker presence and control (see proto/heed/v1/worker.proto). */
export const HEARTBEAT_SUBJECT = "heed.worker.heartbeat";
export const DRAIN_SUBJECT = "heed.worker.drain";

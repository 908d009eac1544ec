export { isLoopbackListen } from "./admin/auth.js";
export { FIELD_METADATA_KEY } from "./admin/status.js";
export { type Coordinator, startCoordinator } from "./coordinator.js";
export type { FrontierCheck, FrontierProblem } from "./frontier/check.js";
export type { FrontierShard } from "./frontier/context.js";
export { type Frontier, openFrontier } from "./frontier/frontier.js";
export type { RangeDrop, RangeItem } from "./frontier/range-move.js";
export type {
  CrawlRecord,
  HostState,
  LeaseRecord,
  RobotsRecord,
  UrlRecord,
  UrlState,
} from "./frontier/records.js";
export { type FrontierReader, openFrontierReader } from "./frontier-reader.js";
export { type FleetShard, mergeCrawlRecords, waitForFleetCrawl } from "./shards/fleet-crawl.js";
export {
  ensureShardMap,
  isRevisionConflict,
  readShardMap,
  takeOverShard,
  updateShardMap,
} from "./shards/map-store.js";
export {
  decodeMoveMessage,
  encodeMoveMessage,
  ensureMoveStream,
  MOVE_STREAM,
  moveSubject,
} from "./shards/move-stream.js";
export { type ShardOwnership, type ShardOwnershipOptions, startShardOwnership } from "./shards/ownership.js";
export { exportRange, keysInRange, movedRecords } from "./shards/range-export.js";
export type { ShardMode } from "./shards/shard-mode.js";
export { ensureUrlStream } from "./shards/url-stream.js";
export { waitForCrawl } from "./wait.js";
export type { WorkerEntry, WorkerRegistry } from "./workers/registry.js";

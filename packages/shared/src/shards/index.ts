// Sharding: where a host belongs, who owns it, and the names a sharded fleet shares.

export {
  holdReplicas,
  openMapBucket,
  openMembersBucket,
  openReplicatedBucket,
  replicasError,
  requireJetStream,
  type ShardFleet,
  watchShardFleet,
} from "./fleet.js";
export {
  hostPlacement,
  PARTITIONS,
  partitionOf,
  partitionOfHost,
  partitionOfHostGroup,
  shardKeyOf,
} from "./keys.js";
export {
  decodeShardMap,
  encodeShardMap,
  evenMap,
  ownerOf,
  partitionOwners,
  SHARD_MOVE_PHASES,
  type ShardMap,
  type ShardMove,
  type ShardMovePhase,
  type ShardRange,
  shardMapSchema,
  shardMoveSchema,
  shardRangeSchema,
} from "./map.js";
export {
  CRAWLS_BUCKET,
  DEFAULT_OWNERSHIP_TIMEOUT_MS,
  decodeShardMember,
  encodeShardMember,
  leaseIdWithShard,
  MAP_BUCKET,
  MAP_KEY,
  MEMBERS_BUCKET,
  SHARD_ID,
  type ShardMember,
  shardAdminSubject,
  shardIdSchema,
  shardLeaseSubject,
  shardMemberSchema,
  shardOfLeaseId,
  URL_STREAM,
  urlSubject,
} from "./members.js";

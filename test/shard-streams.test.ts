import { ensureMoveStream, ensureUrlStream, MOVE_STREAM } from "@heed/coordinator";
import { MAP_BUCKET, MEMBERS_BUCKET, openMapBucket, openMembersBucket, URL_STREAM } from "@heed/shared";
import { startNatsServer } from "@heed/test-support";
import { connect } from "nats";
import { describe, expect, it } from "vitest";

describe("the shards' JetStream streams and buckets", () => {
  it("are created once when every shard of a fleet starts at the same moment", async () => {
    const nats = await startNatsServer({ jetstream: true });
    // One connection per shard, as in a fleet whose processes start together.
    const conns = await Promise.all(Array.from({ length: 8 }, () => connect({ servers: nats.url })));
    try {
      const results = await Promise.allSettled(
        conns.flatMap((nc) => [
          nc.jetstreamManager().then((jsm) => ensureUrlStream(jsm)),
          nc.jetstreamManager().then((jsm) => ensureMoveStream(jsm)),
          openMembersBucket(nc, 15_000),
          openMapBucket(nc),
        ]),
      );
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      const jsm = await conns[0]?.jetstreamManager();
      const names: string[] = [];
      if (jsm !== undefined) for await (const s of jsm.streams.list()) names.push(s.config.name);
      expect(names.sort()).toEqual(
        [MOVE_STREAM, URL_STREAM, `KV_${MAP_BUCKET}`, `KV_${MEMBERS_BUCKET}`].sort(),
      );
    } finally {
      await Promise.all(conns.map((nc) => nc.close()));
      await nats.stop();
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { bearer, proto } from "@heed/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster, TEST_UA } from "./harness/cluster.js";

// The read-only token over a real gRPC admin server, call by call. The lists
// below are this test's own judgement of what each call does, independent of
// the roles the service declares; every call of the service must be in one.

const OPERATOR = "operator-token-roles-0123456789";
const READER = "read-only-token-roles-0123456789";
const CRAWL = "roles-crawl";
// Nothing listens here and no worker runs: no request is ever made.
const SEED = "http://127.0.0.250:9/";

/** Calls that change crawls, hosts, workers or the coordinator, with a request each would act on. */
const MUTATING: Record<string, object> = {
  CreateCrawl: {
    definition: {
      id: "roles-new",
      seeds: [SEED],
      userAgent: { product: TEST_UA.product, contact: TEST_UA.contact },
      allowPrivateAddresses: true,
    },
  },
  AddSeeds: { crawlId: CRAWL, seeds: ["http://127.0.0.251:9/"] },
  PauseCrawl: { crawlId: CRAWL },
  ResumeCrawl: { crawlId: CRAWL },
  CancelCrawl: { crawlId: CRAWL },
  BlockHost: { pattern: "127.0.0.250", reason: "test" },
  UnblockHost: { pattern: "127.0.0.250" },
  SetHostPolicy: { pattern: "127.0.0.250", minDelayMs: 5000, reason: "test" },
  DrainWorkers: { all: true },
  SetLogLevel: { level: "debug" },
};
const READ_ONLY = [
  "GetCrawl",
  "ListCrawls",
  "GetStats",
  "WatchProgress",
  "ListHosts",
  "ListHostRules",
  "GetUrl",
  "ExportUrls",
  "ExportWacz",
  "ListSeeds",
  "ListWorkers",
  "ListShards",
];

const scratch = mkdtempSync(join(tmpdir(), "heed-roles-"));
let cluster: Cluster;
let client: proto.AdminServiceClient;

beforeAll(async () => {
  const file = (name: string, token: string) => {
    const path = join(scratch, name);
    writeFileSync(path, `${token}\n`);
    return path;
  };
  cluster = await startCluster({
    coordinator: { adminTokenFile: file("operator", OPERATOR), readOnlyTokenFile: file("reader", READER) },
  });
  cluster.coordinator.frontier.createCrawl(crawlSpec([SEED], { id: CRAWL }));
  client = new proto.AdminServiceClient(
    `127.0.0.1:${cluster.coordinator.grpcPort}`,
    credentials.createInsecure(),
  );
}, 30_000);

afterAll(async () => {
  client?.close();
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** The method's name on the generated client: CancelCrawl → cancelCrawl. */
const clientMethod = (rpc: string) => `${rpc[0]?.toLowerCase()}${rpc.slice(1)}`;

function unaryError(rpc: string, req: object, token: string): Promise<ServiceError | undefined> {
  const md = new Metadata();
  md.set("authorization", bearer(token));
  type Unary = (req: object, md: Metadata, cb: (err: ServiceError | null) => void) => unknown;
  const fn = (client as unknown as Record<string, Unary>)[clientMethod(rpc)] as Unary;
  // The request as its generated type makes it, with every field the message has.
  const message = (proto as unknown as Record<string, { fromPartial(o: object): object }>)[`${rpc}Request`];
  const full = message?.fromPartial(req) ?? req;
  return new Promise((resolve) => fn.call(client, full, md, (err) => resolve(err ?? undefined)));
}

describe("the read-only admin token", () => {
  it("has every call of the admin service classified by this test", () => {
    const calls = Object.values(proto.AdminServiceService).map((d) => d.path.split("/").pop());
    expect([...calls].sort()).toEqual([...Object.keys(MUTATING), ...READ_ONLY].sort());
  });

  it.each(Object.entries(MUTATING))(
    "is refused %s with PERMISSION_DENIED, and nothing changes",
    async (rpc, req) => {
      const err = await unaryError(rpc, req, READER);
      expect(err?.code, err?.details).toBe(status.PERMISSION_DENIED);
      const crawl = cluster.coordinator.frontier.crawl(CRAWL);
      expect(crawl?.state).toBe("running");
      expect(crawl?.spec.seeds).toEqual([SEED]);
      expect(cluster.coordinator.frontier.crawl("roles-new")).toBeUndefined();
      expect(cluster.coordinator.frontier.hostPolicies()).toEqual([]);
    },
  );

  it("may still read", async () => {
    expect(await unaryError("GetCrawl", { crawlId: CRAWL }, READER)).toBeUndefined();
    expect(await unaryError("ListWorkers", {}, READER)).toBeUndefined();
  });
});

/**
 * The admin API at archive scale: a crawl of 100 000 seeds created through
 * heedctl in chunks, and every call still answers with small messages (gRPC's
 * default 4 MiB limit is what a 100k-seed Crawl message used to break).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, type ServiceError, status } from "@grpc/grpc-js";
import { proto } from "@heed/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, startCluster } from "./harness/cluster.js";
import { runHeedctl } from "./harness/processes.js";

const SEEDS = 100_000;
const scratch = mkdtempSync(join(tmpdir(), "heed-scale-"));
let cluster: Cluster;
let server: string;

beforeAll(async () => {
  cluster = await startCluster();
  server = `127.0.0.1:${cluster.coordinator.grpcPort}`;
});
afterAll(async () => {
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function heedctl(args: string[], timeoutMs = 60_000) {
  return runHeedctl(args, {
    timeoutMs,
    env: { HEED_SERVER: server, HEED_TOKEN: "", XDG_CONFIG_HOME: scratch, HEEDCTL_CONFIG: "" },
  });
}

function unary<Res>(start: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));
}

// Seeds spread over 1000 hosts; no worker runs, so nothing is fetched.
const seed = (i: number) => `https://h${i % 1000}.scale.example/p/${i}`;

describe("a crawl of 100 000 seeds", () => {
  it("is created from a seed file in chunks; listing, getting and paging its seeds stay small", async () => {
    const file = join(scratch, "seeds.ndjson");
    // Plain lines and NDJSON may mix; comments and blank lines are skipped.
    const lines = ["# seeds", ""];
    for (let i = 1; i < SEEDS; i++) lines.push(i % 2 === 0 ? seed(i) : JSON.stringify({ url: seed(i) }));
    writeFileSync(file, `${lines.join("\n")}\n`);
    const created = await heedctl(
      ["crawl", "create", seed(0), "--id", "big", "--contact", "ops@example.org", "--seeds-file", file],
      120_000,
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`crawl big created (${SEEDS} seed(s), ${SEEDS} sent)`);

    const listed = await heedctl(["crawl", "list", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    // The listing carries counts, not seeds.
    expect(listed.stdout.length).toBeLessThan(10_000);
    const [big] = (JSON.parse(listed.stdout) as { crawls: { id: string; seedCount: string }[] }).crawls;
    expect(big?.id).toBe("big");
    expect(Number(big?.seedCount)).toBe(SEEDS);
    expect((await heedctl(["crawl", "get", "big"])).stdout).toMatch(/seeds\s+100000 /);

    const seeds = await heedctl(["seeds", "list", "big"]);
    expect(seeds.code, seeds.stderr).toBe(0);
    const got = seeds.stdout.trimEnd().split("\n");
    expect(got.length).toBe(SEEDS);
    expect(got[0]).toBe(seed(0));
    expect(got[SEEDS - 1]).toBe(seed(SEEDS - 1));
    expect(cluster.coordinator.frontier.crawl("big")?.counts.queued).toBe(SEEDS);
  }, 180_000);

  it("refuses more than 10 000 seeds in one request with a field error, and creates nothing", async () => {
    const c = new proto.AdminServiceClient(server, credentials.createInsecure());
    const definition = proto.CrawlDefinition.fromPartial({
      id: "too-many",
      seeds: Array.from({ length: 10_001 }, (_, i) => seed(i)),
      userAgent: { product: "HeedBot", contact: "ops@example.org" },
    });
    const err = await unary<proto.CreateCrawlResponse>((cb) => c.createCrawl({ definition }, cb)).catch(
      (e: ServiceError) => e,
    );
    expect((err as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((err as ServiceError).details).toMatch(
      /^definition\.seeds: at most 10000 per request; add the rest/,
    );
    expect(cluster.coordinator.frontier.crawl("too-many")).toBeUndefined();
    c.close();
  });

  it("creates a crawl idempotently by id: the same request again answers with it, another definition is refused", async () => {
    const c = new proto.AdminServiceClient(server, credentials.createInsecure());
    const definition = proto.CrawlDefinition.fromPartial({
      id: "again",
      seeds: [seed(1)],
      userAgent: { product: "HeedBot", contact: "ops@example.org" },
    });
    const first = await unary<proto.CreateCrawlResponse>((cb) => c.createCrawl({ definition }, cb));
    const second = await unary<proto.CreateCrawlResponse>((cb) => c.createCrawl({ definition }, cb));
    expect(second.crawl?.createdAtMs).toBe(first.crawl?.createdAtMs);
    const other = await unary<proto.CreateCrawlResponse>((cb) =>
      c.createCrawl(
        {
          definition: { ...definition, maxPages: 5 },
        },
        cb,
      ),
    ).catch((e: ServiceError) => e);
    expect((other as ServiceError).code).toBe(status.ALREADY_EXISTS);
    c.close();
  });

  it("pages crawls, seeds and workers with tokens that belong to their list", async () => {
    const c = new proto.AdminServiceClient(server, credentials.createInsecure());
    const p1 = await unary<proto.ListCrawlsResponse>((cb) =>
      c.listCrawls({ state: 0, limit: 1, pageToken: "" }, cb),
    );
    expect(p1.crawls.map((x) => x.id)).toEqual(["again"]);
    expect(p1.crawls[0]?.definition?.seeds).toEqual([]);
    const p2 = await unary<proto.ListCrawlsResponse>((cb) =>
      c.listCrawls({ state: 0, limit: 1, pageToken: p1.nextPageToken }, cb),
    );
    expect(p2.crawls.map((x) => x.id)).toEqual(["big"]);
    expect(p2.nextPageToken).toBe("");
    const s1 = await unary<proto.ListSeedsResponse>((cb) =>
      c.listSeeds({ crawlId: "big", limit: 2, pageToken: "" }, cb),
    );
    const s2 = await unary<proto.ListSeedsResponse>((cb) =>
      c.listSeeds({ crawlId: "big", limit: 2, pageToken: s1.nextPageToken }, cb),
    );
    expect([...s1.seeds, ...s2.seeds]).toEqual([seed(0), seed(1), seed(2), seed(3)]);
    const wrong = await unary<proto.ListSeedsResponse>((cb) =>
      c.listSeeds(
        {
          crawlId: "big",
          limit: 2,
          pageToken: p1.nextPageToken,
        },
        cb,
      ),
    ).catch((e: ServiceError) => e);
    expect((wrong as ServiceError).details).toBe("page_token: not a token from ListSeeds");
    const workers = await unary<proto.ListWorkersResponse>((cb) =>
      c.listWorkers({ limit: 5000, pageToken: "" }, cb),
    ).catch((e: ServiceError) => e);
    expect((workers as ServiceError).details).toBe("limit: at most 1000");
    c.close();
  });

  it("refuses bad numbers and private seeds with a field error, changing nothing", async () => {
    const before = cluster.coordinator.frontier.crawls().length;
    const policy = await heedctl(["hosts", "policy", "x.example", "--min-delay-ms", "1e20", "--reason", "r"]);
    expect(policy.code).toBe(2);
    expect(policy.stderr).toMatch(/--min-delay-ms: a whole number of milliseconds from 1 to 86400000/);
    expect(cluster.coordinator.frontier.hostPolicies()).toEqual([]);
    const hex = await heedctl([
      "crawl",
      "create",
      "https://a.example/",
      "--contact",
      "ops@example.org",
      "--max-pages",
      "0x10",
    ]);
    expect(hex.code).toBe(2);
    expect(hex.stderr).toMatch(/maxPages|max-pages/);
    expect(hex.stderr).toMatch(/a whole number in decimal digits/);
    const literal = await heedctl(["crawl", "create", "http://0x7f.1/", "--contact", "ops@example.org"]);
    expect(literal.code).toBe(2);
    expect(literal.stderr).toMatch(/127\.0\.0\.1: private, loopback, link-local or reserved IPv4 range/);
    expect(cluster.coordinator.frontier.crawls().length).toBe(before);
  });
});

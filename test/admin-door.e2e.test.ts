/**
 * The admin API's door: what a hostile or careless caller sends is refused
 * with a field error and changes nothing; what the store knows as evidence
 * reaches the API; exports resume; a worker's address refusal is named.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { FIELD_METADATA_KEY, waitForCrawl } from "@heed/coordinator";
import { proto } from "@heed/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster, TEST_UA } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";
import { runHeed, runHeedctl } from "./harness/processes.js";

// Loopback addresses of this file: .240-.242.
let cluster: Cluster;
let site: TinySite;
let other: TinySite;
let server: string;
const scratch = mkdtempSync(join(tmpdir(), "heed-door-"));

const page = (req: { url?: string }, res: import("node:http").ServerResponse) => {
  if (req.url === "/robots.txt")
    return res.writeHead(200, { "content-type": "text/plain" }).end("User-agent: *\n");
  res.writeHead(200, { "content-type": "text/html" }).end('<a href="/b">b</a>');
};

beforeAll(async () => {
  site = await startTinySite("127.0.0.240", page);
  other = await startTinySite("127.0.0.241", page);
  cluster = await startCluster({ workers: 1 });
  server = `127.0.0.1:${cluster.coordinator.grpcPort}`;
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
  await site?.close();
  await other?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function heedctl(args: string[]) {
  return runHeedctl(args, { env: { HEED_SERVER: server, XDG_CONFIG_HOME: scratch, HEEDCTL_CONFIG: "" } });
}

/** A client that sends bytes as they are: what no generated encoder would produce. */
function rawCall(method: string, bytes: Uint8Array): Promise<ServiceError | undefined> {
  const Raw = makeGenericClientConstructor(
    {
      call: {
        path: `/heed.v1.AdminService/${method}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    "Raw",
  );
  const client = new Raw(server, credentials.createInsecure()) as unknown as Client & {
    call(req: Buffer, md: Metadata, cb: (err: ServiceError | null) => void): void;
  };
  return new Promise((resolve) =>
    client.call(Buffer.from(bytes), new Metadata(), (err) => {
      client.close();
      resolve(err ?? undefined);
    }),
  );
}

const fieldOf = (err: ServiceError | undefined) => err?.metadata.get(FIELD_METADATA_KEY)[0];

describe("integers past what a number holds", () => {
  it("are field errors from any client, never INTERNAL", async () => {
    const policy = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .string("slow.example")
      .tag(2, WireType.Varint)
      .uint64(2n ** 64n - 1n)
      .tag(3, WireType.LengthDelimited)
      .string("too slow")
      .finish();
    const err = await rawCall("SetHostPolicy", policy);
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldOf(err)).toBe("min_delay_ms");
    expect(err?.details).toMatch(/min_delay_ms/);

    // Nested: CreateCrawl { definition { politeness { min_delay_ms: 2^63 } } }.
    const politeness = new BinaryWriter()
      .tag(1, WireType.Varint)
      .uint64(2n ** 63n)
      .finish();
    const definition = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .string("huge")
      .tag(7, WireType.LengthDelimited)
      .bytes(politeness)
      .finish();
    const create = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(definition).finish();
    const nested = await rawCall("CreateCrawl", create);
    expect(nested?.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldOf(nested)).toBe("definition.politeness.min_delay_ms");
    expect(cluster.coordinator.frontier.crawl("huge")).toBeUndefined();

    // Not a message at all: still the caller's mistake.
    const garbage = await rawCall("SetHostPolicy", Uint8Array.from([0x0a, 0xff, 0x01]));
    expect(garbage?.code).toBe(status.INVALID_ARGUMENT);
    expect(cluster.coordinator.frontier.hostPolicies()).toEqual([]);

    const ctl = await heedctl(["hosts", "policy", "slow.example", "--min-delay-ms", "1e20", "--reason", "x"]);
    expect(ctl.code).toBe(2);
    expect(ctl.stderr).toMatch(/--min-delay-ms/);
  });
});

describe("host rules", () => {
  it("refuse to block a public suffix unless forced, and are listed, paged", async () => {
    const refused = await heedctl(["hosts", "block", "com", "--reason", "typo"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/com is a public suffix/);
    const api = new proto.AdminServiceClient(server, credentials.createInsecure());
    try {
      const err = await new Promise<ServiceError | null>((resolve) =>
        api.blockHost({ pattern: "github.io", reason: "typo", force: false }, (e) => resolve(e)),
      );
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldOf(err ?? undefined)).toBe("pattern");
    } finally {
      api.close();
    }
    expect(cluster.coordinator.frontier.hostPolicies()).toEqual([]);

    expect((await heedctl(["hosts", "block", "com", "--reason", "every .com asked", "--force"])).code).toBe(
      0,
    );
    cluster.coordinator.frontier.setHostPolicy({
      pattern: "slow.example",
      mode: "slow",
      minDelayMs: 5000,
      reason: "503s",
    });
    const table = await heedctl(["hosts", "rules"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/com\s+blocked\s+.*every \.com asked/);
    expect(table.stdout).toMatch(/slow\.example\s+slow 5000 ms\s+.*503s/);

    const first = JSON.parse((await heedctl(["hosts", "rules", "--limit", "1", "--json"])).stdout);
    expect(first.rules.map((r: { pattern: string }) => r.pattern)).toEqual(["com"]);
    expect(first.nextPageToken).not.toBe("");
    const second = JSON.parse(
      (await heedctl(["hosts", "rules", "--limit", "1", "--page-token", first.nextPageToken, "--json"]))
        .stdout,
    );
    expect(second.rules.map((r: { pattern: string }) => r.pattern)).toEqual(["slow.example"]);
    expect(second.nextPageToken ?? "").toBe("");

    for (const p of ["com", "slow.example"])
      expect(cluster.coordinator.frontier.removeHostPolicy(p)).toBe(true);
  });
});

describe("scope at the door", () => {
  it("refuses wildcard domains and non-http prefixes from heedctl and the API", async () => {
    const base = [
      "crawl",
      "create",
      "--contact",
      "ops@example.org",
      "--allow-private-addresses",
      `${site.origin}/`,
    ];
    const star = await heedctl([...base, "--scope-domain", "*"]);
    expect(star.code).toBe(2);
    expect(star.stderr).toMatch(/scope.*not a domain name/);
    const file = await heedctl([...base, "--scope-prefix", "file:///"]);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/scope.*http:\/\/ or https:\/\/ prefix, not file:/);

    const api = new proto.AdminServiceClient(server, credentials.createInsecure());
    try {
      const err = await new Promise<ServiceError | null>((resolve) =>
        api.createCrawl(
          {
            definition: proto.CrawlDefinition.fromPartial({
              id: "scoped",
              seeds: [`${site.origin}/`],
              userAgent: TEST_UA,
              allowPrivateAddresses: true,
              scope: { domains: [], prefixes: ["file:///etc/"] },
            }),
          },
          (e) => resolve(e),
        ),
      );
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldOf(err ?? undefined)).toMatch(/^definition\.scope\.prefixes/);
    } finally {
      api.close();
    }
    expect(cluster.coordinator.frontier.crawl("scoped")).toBeUndefined();
  });

  it("heed coordinator checks its crawl file before it creates anything", async () => {
    for (const [name, definition, message] of [
      ["scope", { scope: { prefixes: ["file:///"] } }, /scope\.prefixes\.0: .*not file:/],
      ["metadata", { seeds: ["http://169.254.169.254/latest/meta-data/"] }, /seeds\.0: .*169\.254\.169\.254/],
    ] as const) {
      const path = join(scratch, `${name}.json`);
      writeFileSync(
        path,
        JSON.stringify({ seeds: ["https://example.org/"], userAgent: TEST_UA, ...definition }),
      );
      const dataDir = join(scratch, `data-${name}`);
      // NATS is unreachable on purpose: a check that came after starting would show as a connection error.
      const r = await runHeed([
        "coordinator",
        "--data-dir",
        dataDir,
        "--nats-url",
        "nats://127.0.0.1:1",
        "--crawl-file",
        path,
      ]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(dataDir)).toBe(false);
    }
  });
});

describe("URL export", () => {
  it("runs in discovery order, and an interrupted export resumed gives every URL once", async () => {
    const frontier = cluster.coordinator.frontier;
    // Nothing listens on port 9; the crawl is paused before a lease can go out.
    const seeds = Array.from({ length: 1234 }, (_, i) => `http://127.0.0.242:9/p/${(i * 7919) % 1234}`);
    frontier.createCrawl(crawlSpec(seeds, { id: "ordered" }));
    frontier.changeCrawlState("ordered", "pause");

    const api = new proto.AdminServiceClient(server, credentials.createInsecure());
    const got: string[] = [];
    let cursor = "";
    try {
      // The first batch, then the client goes away.
      await new Promise<void>((resolve, reject) => {
        const call = api.exportUrls({ crawlId: "ordered", state: 0, after: "" });
        call.once("data", (batch: proto.ExportUrlsResponse) => {
          got.push(...batch.urls.map((u) => u.url));
          cursor = batch.cursor;
          call.cancel();
          resolve();
        });
        call.on("error", (err: ServiceError) => {
          if (err.code !== status.CANCELLED) reject(err);
        });
      });
    } finally {
      api.close();
    }
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(seeds.length);
    const rest = await heedctl(["export", "ordered", "--after", cursor]);
    expect(rest.code, rest.stderr).toBe(0);
    got.push(
      ...rest.stdout
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { url: string }).url),
    );
    expect(got).toEqual(seeds);

    const bad = await heedctl(["export", "ordered", "--after", "bm90LWEtY3Vyc29y"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/after/);
    frontier.changeCrawlState("ordered", "cancel");
  }, 30_000);
});

describe("per-URL politeness evidence", () => {
  it("is in url show and in the export", async () => {
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec([`${site.origin}/`], { id: "evidence", politeness: { minDelayMs: 150, key: "domain" } }),
    );
    await waitForCrawl(cluster.coordinator.frontier, crawl.id, { timeoutMs: 20_000 });
    const show = await heedctl(["url", "show", crawl.id, `${site.origin}/b`]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/delay\s+\d+ ms \((min-delay|adaptive|crawl-delay)\)/);
    expect(show.stdout).toMatch(/politeness keys\s+127\.0\.0\.240/);
    const lines = (await heedctl(["export", crawl.id, "--state", "done"])).stdout.trim().split("\n");
    const exported = lines.map(
      (l) =>
        JSON.parse(l) as {
          url: string;
          politeness?: { delayMs: string; delaySource: string; keys: string[] };
        },
    );
    expect(exported.map((u) => u.url)).toEqual([`${site.origin}/`, `${site.origin}/b`]);
    const b = exported[1]?.politeness;
    expect(Number(b?.delayMs)).toBeGreaterThanOrEqual(150);
    expect(b?.delaySource).toMatch(/^DELAY_SOURCE_/);
    expect(b?.keys).toContain("127.0.0.240");
  }, 30_000);
});

describe("a worker's address guard", () => {
  it("is named as the reason, for pages and for robots.txt", async () => {
    // The crawls allow private addresses; the worker now fetching does not.
    const allowing = cluster.workers.splice(0, 1);
    await Promise.all(allowing.map((w) => w.stop(2000)));
    await cluster.startWorkers(1, { allowPrivateAddresses: false });
    const frontier = cluster.coordinator.frontier;

    // A page of an origin whose robots.txt is known already (fetched earlier by a worker that allowed it).
    frontier.createCrawl(crawlSpec([`${site.origin}/refused`], { id: "refused-page", maxDepth: 0 }));
    await waitForCrawl(frontier, "refused-page", { timeoutMs: 20_000 });
    const pageUrl = JSON.parse(
      (await heedctl(["url", "show", "refused-page", `${site.origin}/refused`, "--json"])).stdout,
    );
    expect(pageUrl.state).toBe("URL_STATE_FAILED");
    expect(pageUrl.reason).toMatch(
      /^address_refused: 127\.0\.0\.240 is in a private, loopback, link-local or reserved IPv4 range/,
    );

    // A new origin: its robots.txt is refused, and so its pages, with the same reason (not "unreachable").
    frontier.createCrawl(crawlSpec([`${other.origin}/`, `${other.origin}/x`], { id: "refused-robots" }));
    await waitForCrawl(frontier, "refused-robots", { timeoutMs: 20_000 });
    const x = JSON.parse(
      (await heedctl(["url", "show", "refused-robots", `${other.origin}/x`, "--json"])).stdout,
    );
    expect(x.state).toBe("URL_STATE_SKIPPED");
    expect(x.reason).toMatch(/^address_refused: 127\.0\.0\.241 is in a private/);
    const hosts = JSON.parse(
      (await heedctl(["hosts", "list", "--crawl", "refused-robots", "--json"])).stdout,
    );
    expect(hosts.hosts[0]?.robots[0]?.reason).toMatch(/^address_refused: 127\.0\.0\.241/);
    // One robots.txt request refused by the worker before connecting: the site saw nothing.
    expect(other.requests).toEqual([]);
  }, 60_000);
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Client,
  type ClientDuplexStream,
  credentials,
  loadPackageDefinition,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { FIELD_METADATA_KEY, waitForCrawl } from "@heed/coordinator";
import { defaultPlan, type LoopbackSite, startLoopbackSite } from "@heed/loopback-site";
import { bearer, proto, sleep } from "@heed/shared";
import { service as healthService } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, startCluster, TEST_UA } from "./harness/cluster.js";
import { exited, runHeedctl, spawnHeed } from "./harness/processes.js";

// Loopback addresses of this file: .200-.204 and .210-.213 (other tests use .2-.30, .40-.41, .60-.160).
const OPERATOR = "operator-token-e2e-0123456789";
const READER = "read-only-token-e2e-0123456789";
const WORKER = "worker-token-e2e-0123456789";

const scratch = mkdtempSync(join(tmpdir(), "heed-admin-"));
const tokenFile = (name: string, token: string) => {
  const path = join(scratch, name);
  writeFileSync(path, `${token}\n`);
  return path;
};
const operatorFile = tokenFile("operator", OPERATOR);
const readerFile = tokenFile("reader", READER);
const workerFile = tokenFile("worker", WORKER);
const wrongFile = tokenFile("wrong", "not-the-worker-token-0123");

let cluster: Cluster;
let site: LoopbackSite;
let server: string;

beforeAll(async () => {
  site = await startLoopbackSite({ hosts: defaultPlan(4, 5, 0), firstOctet: 200, pageLatencyMs: 5 });
  cluster = await startCluster({
    workers: 2,
    coordinator: { adminTokenFile: operatorFile, readOnlyTokenFile: readerFile, workerTokenFile: workerFile },
    worker: { tokenFile: workerFile, heartbeatMs: 200 },
  });
  server = `127.0.0.1:${cluster.coordinator.grpcPort}`;
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
  await site?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** heedctl as an operator (or with `token`; "" for none), isolated from any config file of the machine. */
function heedctl(args: string[], token = OPERATOR, timeoutMs = 30_000) {
  return runHeedctl(args, {
    timeoutMs,
    env: {
      HEED_SERVER: server,
      HEED_TOKEN: token,
      XDG_CONFIG_HOME: scratch,
      HEEDCTL_CONFIG: "",
    },
  });
}

function adminClient(): proto.AdminServiceClient {
  return new proto.AdminServiceClient(server, credentials.createInsecure());
}

function md(token?: string): Metadata {
  const m = new Metadata();
  if (token !== undefined) m.set("authorization", bearer(token));
  return m;
}

/** A unary admin call's error (or undefined on success). */
function callError<Req>(
  fn: (req: Req, metadata: Metadata, callback: (err: ServiceError | null, res: unknown) => void) => unknown,
  req: Req,
  token?: string,
): Promise<ServiceError | undefined> {
  return new Promise((resolve) => fn(req, md(token), (err) => resolve(err ?? undefined)));
}

describe("heedctl against a running coordinator, workers and NATS", () => {
  it("creates a crawl, watches it to the end and exports exactly what the frontier holds", async () => {
    const created = await heedctl([
      "crawl",
      "create",
      ...site.seeds(),
      "--id",
      "ctl-watch",
      "--contact",
      TEST_UA.contact,
      "--allow-private-addresses",
      "--min-delay-ms",
      "50",
      "--json",
    ]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ id: "ctl-watch", state: "CRAWL_STATE_RUNNING" });

    const watched = await heedctl(["watch", "ctl-watch", "--interval-ms", "200"], OPERATOR, 60_000);
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split("\n");
    expect(lines.at(-1)).toMatch(/finished\s+settled (\d+) of \1 known\s+done \d+/);
    expect(watched.stderr).toMatch(/crawl ctl-watch finished/);
    const crawl = cluster.coordinator.frontier.crawl("ctl-watch");
    expect(crawl?.state).toBe("finished");
    expect(lines.at(-1)).toContain(`done ${crawl?.counts.done}`);

    const exported = await heedctl(["export", "ctl-watch"]);
    expect(exported.code).toBe(0);
    const rows = exported.stdout
      .trim()
      .split("\n")
      .map((l) => proto.Url.fromJSON(JSON.parse(l)));
    const records = [...cluster.coordinator.frontier.urls("ctl-watch")];
    expect(rows.length).toBe(records.length);
    const byUrl = new Map(rows.map((r) => [r.url, r]));
    for (const rec of records) {
      const row = byUrl.get(rec.url);
      expect(row, rec.url).toBeDefined();
      expect(proto.UrlState[row?.state ?? 0]).toBe(`URL_STATE_${rec.state.toUpperCase()}`);
      expect(row?.attempts).toBe(rec.attempts);
      expect(row?.result?.digestSha256 ?? "").toBe(rec.result?.digest ?? "");
      expect(row?.robots?.digest ?? "").toBe(rec.robots?.digest ?? "");
    }
    const done = rows.filter((r) => r.state === proto.UrlState.URL_STATE_DONE).map((r) => r.url);
    expect(new Set(done)).toEqual(site.expectedPages(5));

    const onlyDone = await heedctl(["export", "ctl-watch", "--state", "done"]);
    expect(onlyDone.stdout.trim().split("\n").length).toBe(done.length);
    expect(cluster.coordinator.frontier.check().problems).toEqual([]);
  }, 90_000);

  it("shows stats, a crawl, a URL's evidence and hosts as tables and as JSON", async () => {
    const stats = await heedctl(["stats", "ctl-watch", "--json"]);
    expect(stats.code).toBe(0);
    const s = proto.GetStatsResponse.fromJSON(JSON.parse(stats.stdout));
    expect(s.crawls[0]?.counts?.done).toBe(cluster.coordinator.frontier.crawl("ctl-watch")?.counts.done);
    expect(s.crawls[0]?.pagesPerSecondOverall).toBeGreaterThan(0);

    const seed = site.seeds()[0] as string;
    const url = await heedctl(["url", "show", "ctl-watch", seed]);
    expect(url.code).toBe(0);
    expect(url.stdout).toMatch(/state\s+done/);
    expect(url.stdout).toMatch(/robots\s+robots_allowed \(robots\.txt [0-9a-f]{16}/);

    const hosts = await heedctl(["hosts", "list", "--crawl", "ctl-watch"]);
    expect(hosts.code).toBe(0);
    for (const h of site.hosts) expect(hosts.stdout).toContain(h.address);
    expect(hosts.stdout).toMatch(/crawl-delay/);

    const list = await heedctl(["crawl", "list"], READER);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/ctl-watch\s+finished/);

    // Pages: a token to go on with, and --all to follow them.
    const page = proto.ListHostsResponse.fromJSON(
      JSON.parse((await heedctl(["hosts", "list", "--crawl", "ctl-watch", "--limit", "3", "--json"])).stdout),
    );
    expect(page.hosts.length).toBe(3);
    expect(page.nextPageToken).not.toBe("");
    const rest = proto.ListHostsResponse.fromJSON(
      JSON.parse(
        (
          await heedctl([
            "hosts",
            "list",
            "--crawl",
            "ctl-watch",
            "--limit",
            "3",
            "--page-token",
            page.nextPageToken,
            "--json",
          ])
        ).stdout,
      ),
    );
    const all = proto.ListHostsResponse.fromJSON(
      JSON.parse(
        (await heedctl(["hosts", "list", "--crawl", "ctl-watch", "--limit", "3", "--all", "--json"])).stdout,
      ),
    );
    expect([...page.hosts, ...rest.hosts].map((h) => h.hostKey)).toEqual(all.hosts.map((h) => h.hostKey));
    expect(all.hosts.map((h) => h.hostKey).sort()).toEqual(site.hosts.map((h) => h.address).sort());
  });

  it("pauses, resumes and cancels a crawl; watching a cancelled crawl exits 1", async () => {
    const create = await heedctl([
      "crawl",
      "create",
      ...site.seeds(),
      "--id",
      "ctl-states",
      "--contact",
      TEST_UA.contact,
      "--allow-private-addresses",
      "--min-delay-ms",
      "2000",
    ]);
    expect(create.code).toBe(0);
    const state = () => cluster.coordinator.frontier.crawl("ctl-states")?.state;
    expect((await heedctl(["crawl", "pause", "ctl-states"])).stdout).toContain("crawl ctl-states paused");
    expect(state()).toBe("paused");
    const again = await heedctl(["crawl", "pause", "ctl-states"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/FAILED_PRECONDITION/);
    expect((await heedctl(["crawl", "resume", "ctl-states"])).code).toBe(0);
    expect(state()).toBe("running");
    expect((await heedctl(["crawl", "cancel", "ctl-states"])).code).toBe(0);
    expect(state()).toBe("cancelled");
    const watched = await heedctl(["watch", "ctl-states", "--json"]);
    expect(watched.code).toBe(1);
    expect(JSON.parse(watched.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({
      final: true,
      stats: { crawlId: "ctl-states", state: "CRAWL_STATE_CANCELLED" },
    });
  });

  it("changes the coordinator's log level at run time", async () => {
    const before = cluster.log.level;
    const set = await heedctl(["log-level", "error", "--json"]);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ previous: before, level: "error" });
    expect(cluster.log.level).toBe("error");
    const back = await heedctl(["log-level", "silent"]);
    expect(back.stdout).toContain("log level error -> silent");
    expect((await heedctl(["log-level", "loud"])).code).toBe(2);
  });

  it("blocks a host mid-crawl: no request reaches it once its leases out have ended", async () => {
    const busy = await startLoopbackSite({ hosts: defaultPlan(3, 30, 0), firstOctet: 210, pageLatencyMs: 5 });
    try {
      const target = busy.hosts[1]?.address as string;
      const created = await heedctl([
        "crawl",
        "create",
        ...busy.seeds(),
        "--id",
        "ctl-block",
        "--contact",
        TEST_UA.contact,
        "--allow-private-addresses",
        "--min-delay-ms",
        "150",
        "--max-depth",
        "40",
      ]);
      expect(created.code).toBe(0);
      const pages = () => busy.log.filter((r) => r.host === target && r.path !== "/robots.txt").length;
      for (let i = 0; pages() < 3; i++) {
        if (i > 200) throw new Error("the target host was not crawled");
        await sleep(50);
      }
      const blocked = await heedctl(["hosts", "block", target, "--reason", "site owner asked, ticket 4711"]);
      expect(blocked.code).toBe(0);
      expect(blocked.stdout).toContain(`blocked ${target}`);
      // A lease handed out before the block may still be fetched; wait for it to be reported.
      for (let i = 0; (cluster.coordinator.frontier.host(target)?.inFlight ?? 0) > 0; i++) {
        if (i > 200) throw new Error("the target host's lease did not end");
        await sleep(25);
      }
      const before = busy.log.filter((r) => r.host === target).length;
      const crawl = await waitForCrawl(cluster.coordinator.frontier, "ctl-block", { timeoutMs: 60_000 });
      expect(crawl.state).toBe("finished");
      expect(busy.log.filter((r) => r.host === target).length).toBe(before);
      expect(crawl.skipCounts.opt_out ?? 0).toBeGreaterThan(0);
      // The other hosts were crawled to the end.
      for (const h of busy.hosts.filter((h) => h.address !== target)) {
        expect(busy.log.filter((r) => r.host === h.address && r.path === "/p/29").length, h.address).toBe(1);
      }

      const listed = await heedctl(["hosts", "list", "--status", "blocked", "--json"]);
      const res = proto.ListHostsResponse.fromJSON(JSON.parse(listed.stdout));
      expect(res.hosts.map((h) => h.hostKey)).toEqual([target]);
      expect(res.hosts[0]?.policy?.reason).toBe("site owner asked, ticket 4711");
      const skipped = [...cluster.coordinator.frontier.urls("ctl-block")].find(
        (u) => u.hostKey === target && u.reason === "opt_out",
      );
      const shown = await heedctl(["url", "show", "ctl-block", skipped?.url ?? "", "--json"]);
      expect(JSON.parse(shown.stdout)).toMatchObject({ state: "URL_STATE_SKIPPED", reason: "opt_out" });

      const unblocked = await heedctl(["hosts", "unblock", target]);
      expect(unblocked.code).toBe(0);
      expect(cluster.coordinator.frontier.hostPolicies()).toEqual([]);
      expect(cluster.coordinator.frontier.check().problems).toEqual([]);
    } finally {
      await busy.close();
    }
  }, 90_000);

  it("lists live workers from their heartbeats", async () => {
    const r = await heedctl(["workers", "list", "--json"], READER);
    expect(r.code).toBe(0);
    const res = proto.ListWorkersResponse.fromJSON(JSON.parse(r.stdout));
    expect(res.workers.map((w) => w.workerId).sort()).toEqual(cluster.workers.map((w) => w.id).sort());
    for (const w of res.workers) {
      expect(w.state).toBe(proto.WorkerState.WORKER_STATE_RUNNING);
      expect(Date.now() - w.lastSeenAtMs).toBeLessThan(2000);
    }
    expect(res.workers.reduce((n, w) => n + w.fetched, 0)).toBeGreaterThan(0);
    const table = await heedctl(["workers", "list"]);
    for (const w of cluster.workers) expect(table.stdout).toContain(w.id);
  });

  it("drains a worker process: it stops taking leases and exits 0", async () => {
    const child = spawnHeed([
      "worker",
      "--id",
      "drain-me",
      "--nats-url",
      cluster.nats.url,
      "--coordinator",
      server,
      "--token-file",
      workerFile,
      "--heartbeat-ms",
      "200",
      "--log-level",
      "silent",
    ]);
    try {
      for (let i = 0; !cluster.coordinator.workers.has("drain-me", Date.now()); i++) {
        if (i > 200) throw new Error("the worker never sent a heartbeat");
        await sleep(50);
      }
      const r = await heedctl(["workers", "drain", "drain-me"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("drain sent to 1 worker(s): drain-me");
      await Promise.race([
        exited(child),
        sleep(15_000).then(() => {
          throw new Error("the drained worker did not exit");
        }),
      ]);
      expect(child.exitCode).toBe(0);
      // Its last heartbeat said it stopped, so it is gone from the list at once.
      expect(cluster.coordinator.workers.has("drain-me", Date.now())).toBe(false);
      const unknown = await heedctl(["workers", "drain", "drain-me"]);
      expect(unknown.code).toBe(2);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited(child);
    }
  }, 30_000);
});

describe("health and reflection", () => {
  it("answer any gRPC client, without a token", async () => {
    const Health = makeGenericClientConstructor(healthService, "Health");
    const health = new Health(server, credentials.createInsecure()) as unknown as Client & {
      check(req: { service: string }, cb: (err: ServiceError | null, res: { status: unknown }) => void): void;
    };
    const check = (service: string) =>
      new Promise<unknown>((resolve, reject) =>
        health.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
      );
    try {
      for (const name of ["", "heed.v1.AdminService", "heed.v1.FrontierService"]) {
        expect(await check(name), name).toBe("SERVING");
      }
    } finally {
      health.close();
    }

    const reflectionProto = fileURLToPath(
      new URL(
        "../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto",
        import.meta.url,
      ),
    );
    const pkg = loadPackageDefinition(loadSync(reflectionProto)) as unknown as {
      grpc: {
        reflection: {
          v1: {
            ServerReflection: new (
              address: string,
              creds: ReturnType<typeof credentials.createInsecure>,
            ) => Client & { serverReflectionInfo(): ClientDuplexStream<object, ReflectionReply> };
          };
        };
      };
    };
    interface ReflectionReply {
      listServicesResponse?: { service: { name: string }[] };
      fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
      errorResponse?: { errorMessage: string };
    }
    const reflection = new pkg.grpc.reflection.v1.ServerReflection(server, credentials.createInsecure());
    const ask = (req: object) =>
      new Promise<ReflectionReply>((resolve, reject) => {
        const call = reflection.serverReflectionInfo();
        call.on("data", (reply: ReflectionReply) => {
          resolve(reply);
          call.end();
        });
        call.on("error", reject);
        call.write(req);
      });
    try {
      const services = await ask({ listServices: "" });
      expect(services.listServicesResponse?.service.map((x) => x.name)).toEqual(
        expect.arrayContaining(["heed.v1.AdminService", "heed.v1.FrontierService", "grpc.health.v1.Health"]),
      );
      // `grpcurl describe grpc.health.v1.Health` works too: its descriptor is served.
      const healthFile = await ask({ fileContainingSymbol: "grpc.health.v1.Health" });
      expect(healthFile.errorResponse).toBeUndefined();
      expect(
        Buffer.concat(healthFile.fileDescriptorResponse?.fileDescriptorProto ?? []).toString("latin1"),
      ).toContain("HealthCheckRequest");
      const file = await ask({ fileContainingSymbol: "heed.v1.AdminService" });
      expect(file.errorResponse).toBeUndefined();
      const descriptors = Buffer.concat(file.fileDescriptorResponse?.fileDescriptorProto ?? []).toString(
        "latin1",
      );
      // grpcurl can describe the whole admin API from it.
      for (const word of ["AdminService", "WatchProgress", "CrawlDefinition", "WorkerHeartbeat"])
        expect(descriptors).toContain(word);
    } finally {
      reflection.close();
    }
  });
});

describe("admin API security", () => {
  it("refuses unauthenticated and read-only callers of mutating RPCs", async () => {
    const c = adminClient();
    try {
      const pause = c.pauseCrawl.bind(c);
      const block = c.blockHost.bind(c);
      const req = { crawlId: "ctl-watch" };
      expect((await callError(pause, req))?.code).toBe(status.UNAUTHENTICATED);
      expect((await callError(pause, req, "some-guess-0123456789"))?.code).toBe(status.UNAUTHENTICATED);
      expect((await callError(pause, req, WORKER))?.code).toBe(status.UNAUTHENTICATED);
      expect((await callError(pause, req, READER))?.code).toBe(status.PERMISSION_DENIED);
      expect(
        (await callError(block, { pattern: "example.org", reason: "x", force: false }, READER))?.code,
      ).toBe(status.PERMISSION_DENIED);
      expect(
        await callError(c.listCrawls.bind(c), { state: 0, limit: 0, pageToken: "" }, READER),
      ).toBeUndefined();
      expect(await callError(c.listCrawls.bind(c), { state: 0, limit: 0, pageToken: "" })).toMatchObject({
        code: status.UNAUTHENTICATED,
      });
    } finally {
      c.close();
    }
    const noToken = await heedctl(["crawl", "list"], "");
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toMatch(/UNAUTHENTICATED/);
    const readOnly = await heedctl(["crawl", "pause", "ctl-watch"], READER);
    expect(readOnly.code).toBe(3);
    expect(readOnly.stderr).toMatch(/PERMISSION_DENIED/);
  });

  it("takes reports only from callers with the worker token; a worker with another token does not start", async () => {
    const c = new proto.FrontierServiceClient(server, credentials.createInsecure());
    const report = (token?: string) =>
      new Promise<ServiceError | null>((resolve) =>
        c.report({ workerId: "intruder", results: [] }, md(token), (err) => resolve(err)),
      );
    try {
      expect((await report())?.code).toBe(status.UNAUTHENTICATED);
      expect((await report(OPERATOR))?.code).toBe(status.UNAUTHENTICATED);
      expect(await report(WORKER)).toBeNull();
    } finally {
      c.close();
    }
    const child = spawnHeed([
      "worker",
      "--nats-url",
      cluster.nats.url,
      "--coordinator",
      server,
      "--token-file",
      wrongFile,
      "--log-level",
      "silent",
    ]);
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    await Promise.race([exited(child), sleep(15_000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited(child);
    expect(child.exitCode).toBe(2);
    expect(stderr).toMatch(/tokenFile: the coordinator refused the worker token/);
  }, 30_000);

  it("answers bad requests with INVALID_ARGUMENT naming the field", async () => {
    const c = adminClient();
    const field = (err: ServiceError | undefined) => err?.metadata.get(FIELD_METADATA_KEY)[0];
    try {
      const badContact = await callError(
        c.createCrawl.bind(c),
        {
          definition: proto.CrawlDefinition.fromPartial({
            seeds: ["https://example.org/"],
            userAgent: { product: "HeedBot", contact: "nobody" },
          }),
        },
        OPERATOR,
      );
      expect(badContact?.code).toBe(status.INVALID_ARGUMENT);
      expect(badContact?.details).toMatch(/^definition\.user_agent\.contact: /);
      expect(field(badContact)).toBe("definition.user_agent.contact");
      const cases: [string, Promise<ServiceError | undefined>][] = [
        ["definition", callError(c.createCrawl.bind(c), {}, OPERATOR)],
        [
          "limit",
          callError(c.listHosts.bind(c), { crawlId: "", status: 0, limit: 5000, pageToken: "" }, OPERATOR),
        ],
        [
          "page_token",
          callError(c.listHosts.bind(c), { crawlId: "", status: 0, limit: 0, pageToken: "x" }, READER),
        ],
        [
          "min_delay_ms",
          callError(
            c.setHostPolicy.bind(c),
            { pattern: "example.org", minDelayMs: 0, reason: "r" },
            OPERATOR,
          ),
        ],
        [
          "reason",
          callError(c.blockHost.bind(c), { pattern: "example.org", reason: " ", force: false }, OPERATOR),
        ],
        [
          "pattern",
          callError(c.blockHost.bind(c), { pattern: "not a host", reason: "r", force: false }, OPERATOR),
        ],
        ["url", callError(c.getUrl.bind(c), { crawlId: "ctl-watch", url: "ftp://example.org/" }, READER)],
        [
          "seeds[1]",
          callError(
            c.addSeeds.bind(c),
            { crawlId: "ctl-watch", seeds: ["https://a.example/", "x"] },
            OPERATOR,
          ),
        ],
        ["worker_id", callError(c.drainWorkers.bind(c), { workerId: "", all: false }, OPERATOR)],
        ["level", callError(c.setLogLevel.bind(c), { level: "loud" }, OPERATOR)],
        ["crawl_id", callError(c.pauseCrawl.bind(c), { crawlId: "" }, OPERATOR)],
      ];
      for (const [name, pending] of cases) {
        const err = await pending;
        expect(err?.code, name).toBe(status.INVALID_ARGUMENT);
        expect(field(err), name).toBe(name);
        expect(err?.details.startsWith(`${name}: `), `${name}: ${err?.details}`).toBe(true);
      }
      expect((await callError(c.getCrawl.bind(c), { crawlId: "no-such-crawl" }, READER))?.code).toBe(
        status.NOT_FOUND,
      );
      expect((await callError(c.resumeCrawl.bind(c), { crawlId: "ctl-watch" }, OPERATOR))?.code).toBe(
        status.FAILED_PRECONDITION,
      );
    } finally {
      c.close();
    }
    const badFlag = await heedctl([
      "crawl",
      "create",
      "https://example.org/",
      "--contact",
      "x@example.org",
      "--max-pages",
      "lots",
    ]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/^heedctl: maxPages: /);
    const missing = await heedctl(["crawl", "get", "no-such-crawl"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no crawl no-such-crawl \(NOT_FOUND\)/);
  });
});

import type { ChildProcess } from "node:child_process";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { waitForCrawl } from "@heed/coordinator";
import { proto, sleep } from "@heed/shared";
import { connect, type NatsConnection } from "nats";
import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, crawlSpec, startCluster } from "./harness/cluster.js";
import { startTinySite, type TinySite } from "./harness/http.js";
import { exited, spawnHeed } from "./harness/processes.js";

let cluster: Cluster | undefined;
let site: TinySite | undefined;
let nc: NatsConnection | undefined;
afterEach(async () => {
  await nc?.close();
  await cluster?.stop();
  await site?.close();
  cluster = undefined;
  site = undefined;
  nc = undefined;
});

async function askLeases(conn: NatsConnection, capacity: number): Promise<proto.LeaseBatch> {
  const msg = await conn.request(
    "heed.lease.request",
    proto.LeaseRequest.encode({
      workerId: "test",
      capacity,
      workerVersion: "t",
      sentAtMs: Date.now(),
      requestId: "",
      waitMs: 0,
    }).finish(),
    {
      timeout: 2000,
    },
  );
  return proto.LeaseBatch.decode(msg.data);
}

/** A `heed worker` process leasing from the cluster's coordinator; the caller stops it. */
function workerProcess(c: Cluster, extra: string[]): ChildProcess {
  return spawnHeed([
    "worker",
    "--nats-url",
    c.nats.url,
    "--coordinator",
    `127.0.0.1:${c.coordinator.grpcPort}`,
    "--allow-private-addresses",
    "--log-level",
    "silent",
    ...extra,
  ]);
}

function report(
  client: proto.FrontierServiceClient,
  req: proto.ReportRequest,
): Promise<proto.ReportResponse> {
  return new Promise((resolve, reject) =>
    client.report(
      req,
      new Metadata(),
      { deadline: Date.now() + 5000 },
      (err: ServiceError | null, res?: proto.ReportResponse) =>
        err ? reject(err) : resolve(res as proto.ReportResponse),
    ),
  );
}

describe("leases over NATS and reports over gRPC", () => {
  it("answers a second report of the same lease with DUPLICATE and changes nothing", async () => {
    site = await startTinySite("127.0.0.40", (_req, res) => res.writeHead(200).end("ok"));
    cluster = await startCluster();
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec([`${site.origin}/`], { politeness: { minDelayMs: 50 } }),
    );
    nc = await connect({ servers: cluster.nats.url });
    const client = new proto.FrontierServiceClient(
      `127.0.0.1:${cluster.coordinator.grpcPort}`,
      credentials.createInsecure(),
    );
    try {
      const [robots] = (await askLeases(nc, 5)).leases;
      expect(robots?.kind).toBe(proto.LeaseKind.LEASE_KIND_ROBOTS);
      const r1 = await report(client, {
        workerId: "test",
        results: [proto.FetchResult.fromPartial({ leaseId: robots?.id, statusCode: 404 })],
      });
      expect(r1.acks[0]?.outcome).toBe(proto.ReportOutcome.REPORT_OUTCOME_ACCEPTED);
      await sleep(60);
      const [page] = (await askLeases(nc, 5)).leases;
      expect(page?.url).toBe(`${site.origin}/`);
      const result = proto.FetchResult.fromPartial({
        leaseId: page?.id,
        statusCode: 200,
        outlinks: [`${site.origin}/next`],
      });
      expect((await report(client, { workerId: "test", results: [result] })).acks[0]?.outcome).toBe(
        proto.ReportOutcome.REPORT_OUTCOME_ACCEPTED,
      );
      const before = cluster.coordinator.frontier.crawl(crawl.id);
      const again = await report(client, {
        workerId: "test",
        results: [{ ...result, statusCode: 500, outlinks: [`${site.origin}/other`] }],
      });
      expect(again.acks[0]).toMatchObject({
        outcome: proto.ReportOutcome.REPORT_OUTCOME_DUPLICATE,
        reason: expect.stringMatching(/already/),
      });
      expect(cluster.coordinator.frontier.crawl(crawl.id)).toEqual(before);
      expect(cluster.coordinator.frontier.url(crawl.id, `${site.origin}/other`)).toBeUndefined();
      const unknown = await report(client, {
        workerId: "test",
        results: [proto.FetchResult.fromPartial({ leaseId: "forged" })],
      });
      expect(unknown.acks[0]?.outcome).toBe(proto.ReportOutcome.REPORT_OUTCOME_UNKNOWN_LEASE);
      await expect(report(client, { workerId: "", results: [] })).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: expect.stringMatching(/worker_id/),
      });
    } finally {
      client.close();
    }
  });

  it("re-fetches the URL of a worker killed mid-lease once the lease expires", async () => {
    site = await startTinySite("127.0.0.41", (req, res, hits) => {
      if (req.url === "/robots.txt") return res.writeHead(404).end();
      // The first fetch hangs long enough for the test to kill the worker mid-lease.
      if (hits === 1) return setTimeout(() => res.writeHead(200).end("late"), 5000);
      res.writeHead(200, { "content-type": "text/html" }).end("<p>ok</p>");
    });
    cluster = await startCluster();
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec([`${site.origin}/`], {
        politeness: { minDelayMs: 50 },
        fetch: { timeoutMs: 2000, maxAttempts: 3, retryBaseMs: 100 },
      }),
    );
    const victim = workerProcess(cluster, ["--concurrency", "1"]);
    try {
      for (let i = 0; i < 100 && !site.requests.some((r) => r.path === "/"); i++) await sleep(50);
      expect(site.requests.some((r) => r.path === "/")).toBe(true);
      expect(cluster.coordinator.frontier.url(crawl.id, `${site.origin}/`)?.state).toBe("leased");
      victim.kill("SIGKILL");
      await exited(victim);
      await cluster.startWorkers(1);
      const final = await waitForCrawl(cluster.coordinator.frontier, crawl.id, { timeoutMs: 20_000 });
      expect(final.state).toBe("finished");
      const rec = cluster.coordinator.frontier.url(crawl.id, `${site.origin}/`);
      expect(rec?.state).toBe("done");
      expect(rec?.attempts).toBe(2);
      expect(site.requests.filter((r) => r.path === "/")).toHaveLength(2);
    } finally {
      victim.kill("SIGKILL");
      await exited(victim);
    }
  });

  it("starts a host's delay when its request ended, not when the worker's batched report arrived", async () => {
    site = await startTinySite("127.0.0.43", (req, res) => {
      if (req.url === "/robots.txt") return res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
    cluster = await startCluster();
    const paths = ["/a", "/b", "/c"];
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec(
        paths.map((p) => `${site?.origin}${p}`),
        { politeness: { minDelayMs: 500 } },
      ),
    );
    // Each result waits 400 ms in the worker before it is reported (its report batching).
    const worker = workerProcess(cluster, ["--report-flush-ms", "400"]);
    try {
      const final = await waitForCrawl(cluster.coordinator.frontier, crawl.id, { timeoutMs: 20_000 });
      expect(final.counts.done).toBe(3);
      const starts = paths
        .map((p) => site?.requests.find((r) => r.path === p)?.atMs as number)
        .sort((x, y) => x - y);
      const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number));
      // Polite: never sooner than the delay. On time: the report's 400 ms in the worker is not
      // added to it, as it was when the delay ran from the report's arrival (900 ms and more).
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(500);
        expect(gap).toBeLessThan(500 + 250);
      }
    } finally {
      worker.kill("SIGKILL");
      await exited(worker);
    }
  });

  it("holds an idle worker's lease request until its host is due: it asks about once per wait, fetches on time, and stops at once", async () => {
    site = await startTinySite("127.0.0.42", (req, res) => {
      if (req.url === "/robots.txt") return res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
    cluster = await startCluster();
    const crawl = cluster.coordinator.frontier.createCrawl(
      crawlSpec([`${site.origin}/a`, `${site.origin}/b`], { politeness: { minDelayMs: 1500 } }),
    );
    // Every lease request on the wire, whoever answers it (a plain subscriber sees them all).
    nc = await connect({ servers: cluster.nats.url });
    const asked: number[] = [];
    const tap = nc.subscribe("heed.lease.request", { callback: () => asked.push(Date.now()) });
    const worker = workerProcess(cluster, ["--idle-poll-max-ms", "1000"]);
    try {
      const final = await waitForCrawl(cluster.coordinator.frontier, crawl.id, { timeoutMs: 20_000 });
      expect(final.counts.done).toBe(2);
      const at = (path: string) => site?.requests.find((r) => r.path === path)?.atMs as number;
      const [first, second] = ["/a", "/b"].map(at).sort((x, y) => x - y) as [number, number];
      // Polite (1.5 s apart), and on time: the held request was answered when the host came due.
      expect(second - first).toBeGreaterThanOrEqual(1500);
      expect(second - first).toBeLessThan(1500 + 700);
      // Between the two fetches the worker had nothing to do: it asked once per held request, not
      // every few milliseconds as the coordinator's hint (50 ms here) would have it poll.
      const between = asked.filter((t) => t > first + 100 && t < second - 100).length;
      expect(between).toBeLessThanOrEqual(3);
      // Idle after the crawl: about one request per second of wait.
      const idleFrom = Date.now();
      await sleep(2500);
      expect(asked.filter((t) => t >= idleFrom).length).toBeLessThanOrEqual(4);
      expect(asked.filter((t) => t >= idleFrom).length).toBeGreaterThanOrEqual(1);
      // Stopped while its request is held: it exits cleanly without waiting the request out.
      const t0 = Date.now();
      worker.kill("SIGTERM");
      await exited(worker);
      expect(worker.exitCode).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      tap.unsubscribe();
      worker.kill("SIGKILL");
      await exited(worker);
    }
  });
});

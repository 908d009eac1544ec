import { type CrawlSpecInput, proto, silentLogger } from "@heed/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listHosts } from "../admin/hosts.js";
import { reportAnswerToProto, reportFromProto } from "../grpc/report-wire.js";
import { leaseToProto } from "../leases/responder.js";
import { type Frontier, openFrontier } from "./frontier.js";
import { type FrontierObserver, NO_OBSERVER } from "./observer.js";
import type { CrawlHostState, CrawlRecord, LeaseGrant } from "./records.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

const Outcome = proto.ReportOutcome;
const ua = { product: "HeedBot", contact: "ops@example.org" };

let dir: string;
let now: number;
let frontier: Frontier;
const open = (observer?: FrontierObserver) => openTestFrontier(dir, () => now, observer ? { observer } : {});

beforeEach(() => {
  dir = testFrontierDir("frontier");
  now = 1_000_000;
  frontier = open();
});
afterEach(() => closeTestFrontier(frontier, dir));

function spec(seeds: string[], extra: Partial<CrawlSpecInput> = {}): CrawlSpecInput {
  return {
    seeds,
    userAgent: ua,
    ...extra,
    politeness: { minDelayMs: 500, robotsRetryBaseMs: 1000, robotsMaxAttempts: 2, ...extra.politeness },
    fetch: { timeoutMs: 2000, retryBaseMs: 1000, retryMaxMs: 4000, maxAttempts: 2, ...extra.fetch },
  };
}

function result(lease: proto.Lease, fields: Partial<proto.FetchResult> = {}): proto.FetchResult {
  return proto.FetchResult.fromPartial({
    leaseId: lease.id,
    statusCode: 200,
    startedAtMs: now,
    finishedAtMs: now,
    ...fields,
  });
}

/** Reports as a worker does, through the wire form the gRPC service reads. */
async function report(results: proto.FetchResult[]): Promise<proto.ReportAck[]> {
  return (await frontier.report("w1", results.map(reportFromProto))).map(reportAnswerToProto);
}

async function take(capacity = 10): Promise<proto.Lease[]> {
  // As workers see them: the wire form the lease responder sends.
  return (await frontier.lease("w1", capacity)).leases.map((g) => leaseToProto(g));
}

async function one(): Promise<proto.Lease> {
  const leases = await take(1);
  expect(leases).toHaveLength(1);
  return leases[0] as proto.Lease;
}

const robotsOk = async (
  lease: proto.Lease | Promise<proto.Lease>,
  body = "User-agent: *\nDisallow: /private\n",
) => {
  const l = await lease;
  // Every test host lives at 10.1.2.3, as a worker would report after resolving it.
  return report([result(l, { robotsBody: body, remoteAddress: "10.1.2.3" })]);
};

describe("frontier", async () => {
  it("leases robots.txt first, then pages, one host at a time with its delay", async () => {
    frontier.createCrawl(spec(["http://a.example/", "http://a.example/2"]));
    const robots = await one();
    expect(robots.kind).toBe(proto.LeaseKind.LEASE_KIND_ROBOTS);
    expect(robots.url).toBe("http://a.example/robots.txt");
    expect(await take()).toEqual([]); // host busy with the robots fetch
    await robotsOk(robots);
    expect(await take()).toEqual([]); // the delay after the robots fetch
    now += 499;
    expect(await take()).toEqual([]);
    now += 1;
    const page = await one();
    expect(page.kind).toBe(proto.LeaseKind.LEASE_KIND_PAGE);
    expect(page.url).toBe("http://a.example/");
    expect(page.userAgent).toBe("HeedBot/0.1 (+mailto:ops@example.org)");
    expect(page.from).toBe("ops@example.org");
    expect(page.expiresAtMs).toBe(now + 2000 + 1000);
    expect(page.limits?.maxRedirects).toBe(0);
    expect(await take()).toEqual([]); // one in flight per host
  });

  it("hands out leases for many hosts in one batch", async () => {
    frontier.createCrawl(spec(["http://a.example/", "http://b.example/", "http://c.example/"]));
    const leases = await take(10);
    expect(leases.map((l) => l.hostKey).sort()).toEqual(["a.example", "b.example", "c.example"]);
    expect(new Set(leases.map((l) => l.id)).size).toBe(3);
    expect(leases.every((l) => l.id.length >= 24)).toBe(true);
  });

  it("skips disallowed URLs with the robots evidence and never leases them", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/private/x", "http://a.example/ok"]));
    await robotsOk(one());
    now += 500;
    const page = await one();
    expect(page.url).toBe("http://a.example/ok");
    const skipped = frontier.url(crawl.id, "http://a.example/private/x");
    expect(skipped?.state).toBe("skipped");
    expect(skipped?.reason).toBe("robots_disallowed");
    expect(skipped?.robots?.line).toBe(2);
    expect(skipped?.robots?.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("settles a long run of disallowed URLs in one scan and leases the first allowed one after them", async () => {
    const denied = Array.from({ length: 30 }, (_, i) => `http://a.example/private/${i}`);
    const crawl = frontier.createCrawl(spec([...denied, "http://a.example/ok", "http://a.example/ok2"]));
    await robotsOk(one());
    now += 500;
    expect((await one()).url).toBe("http://a.example/ok");
    for (const url of denied) expect(frontier.url(crawl.id, url)?.reason).toBe("robots_disallowed");
    expect(frontier.url(crawl.id, "http://a.example/ok2")?.state).toBe("queued");
  });

  it("gives every lease its own id, across many hosts", async () => {
    frontier.createCrawl(spec(Array.from({ length: 600 }, (_, i) => `http://h${i}.example/`)));
    const leases = await take(1000);
    expect(leases).toHaveLength(600);
    expect(new Set(leases.map((l) => l.id)).size).toBe(600);
  });

  it("queues outlinks in scope, deduped, within depth, in the same commit as the page", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/"], { maxDepth: 1 }));
    await robotsOk(one());
    now += 500;
    const page = await one();
    const acks = await report([
      result(page, {
        outlinks: [
          "http://a.example/x",
          "http://a.example/x",
          "http://A.example:80/x#f",
          "http://other.example/",
          "http://a.example/",
        ],
      }),
    ]);
    expect(acks[0]?.outcome).toBe(Outcome.REPORT_OUTCOME_ACCEPTED);
    const urls = [...frontier.urls(crawl.id)].map((u) => [u.url, u.state, u.depth]);
    expect(urls.sort()).toEqual([
      ["http://a.example/", "done", 0],
      ["http://a.example/x", "queued", 1],
    ]);
    now += 500;
    const next = await one();
    await report([result(next, { outlinks: ["http://a.example/deeper"] })]);
    expect(frontier.url(crawl.id, "http://a.example/deeper")).toBeUndefined(); // depth 2 > maxDepth 1
    expect(frontier.crawl(crawl.id)?.state).toBe("finished");
  });

  it("treats a second report of the same lease as harmless and says why", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/"]));
    await robotsOk(one());
    now += 500;
    const page = await one();
    await report([result(page, { outlinks: ["http://a.example/1"] })]);
    const before = frontier.crawl(crawl.id);
    const hostBefore = frontier.host("a.example");
    const again = await report([result(page, { statusCode: 500, outlinks: ["http://a.example/2"] })]);
    expect(again[0]?.outcome).toBe(Outcome.REPORT_OUTCOME_DUPLICATE);
    expect(frontier.crawl(crawl.id)).toEqual(before);
    expect(frontier.host("a.example")).toEqual(hostBefore);
    expect(frontier.url(crawl.id, "http://a.example/2")).toBeUndefined();
    expect((await report([proto.FetchResult.fromPartial({ leaseId: "nope" })]))[0]?.outcome).toBe(
      Outcome.REPORT_OUTCOME_UNKNOWN_LEASE,
    );
  });

  it("re-queues an expired lease with backoff, rejects its late report, and fails the URL after max attempts", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/"]));
    await robotsOk(one());
    now += 500;
    const first = await one();
    now = first.expiresAtMs + 1;
    expect(frontier.expire()).toBe(1);
    const rec = frontier.url(crawl.id, "http://a.example/");
    expect(rec?.state).toBe("queued");
    expect(rec?.notBeforeMs).toBeGreaterThan(now);
    expect((await report([result(first)]))[0]?.outcome).toBe(Outcome.REPORT_OUTCOME_EXPIRED);
    expect(await take()).toEqual([]); // backoff not over yet
    now = (rec?.notBeforeMs ?? 0) + 1;
    const second = await one();
    expect(second.attempt).toBe(2);
    now = second.expiresAtMs + 1;
    frontier.expire();
    const failed = frontier.url(crawl.id, "http://a.example/");
    expect(failed?.state).toBe("failed");
    expect(failed?.reason).toBe("lease_expired");
    expect(frontier.crawl(crawl.id)?.state).toBe("finished");
  });

  it("frees a host's slot when the request ends, and marks the URL done only with its capture", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/", "http://a.example/2"]));
    await robotsOk(one());
    now += 500;
    const first = await one();
    expect(await take()).toEqual([]); // one request in flight per host
    now += 40;
    const ended = await report([result(first, { requestEnded: true, startedAtMs: now - 40 })]);
    expect(ended[0]?.outcome).toBe(Outcome.REPORT_OUTCOME_ACCEPTED);
    // The request is over: the slot is free and the delay runs from now, but the URL waits for its capture.
    expect(frontier.host("a.example")?.inFlight).toBe(0);
    expect(frontier.host("a.example")?.nextAllowedAtMs).toBe(now + 500);
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("leased");
    expect((await report([result(first, { requestEnded: true })]))[0]?.outcome).toBe(
      Outcome.REPORT_OUTCOME_DUPLICATE,
    );
    now += 499;
    expect(await take()).toEqual([]);
    now += 1;
    const second = await one();
    expect(second.url).toBe("http://a.example/2");
    const capture = { file: "heed-c-w-1.warc.gz", offset: 1234, length: 567 };
    await report([result(first, { capture: proto.CaptureLocation.fromPartial(capture) })]);
    const done = frontier.url(crawl.id, "http://a.example/");
    expect(done?.state).toBe("done");
    expect(done?.result?.capture).toEqual(capture);
    // The full report of a request already over does not free the host's slot a second time.
    expect(frontier.host("a.example")?.inFlight).toBe(1);
  });

  it("spaces a host from its request's end: the report's arrival less the time the worker held it, never before the lease", async () => {
    frontier.createCrawl(spec(["http://a.example/", "http://a.example/2", "http://a.example/3"]));
    await robotsOk(one());
    now += 500;
    const first = await one();
    now += 100;
    // The worker kept the result 30 ms (batching its reports) before sending it.
    await report([result(first, { heldMs: 30 })]);
    expect(frontier.host("a.example")?.nextAllowedAtMs).toBe(now - 30 + 500);
    now += 469;
    expect(await take()).toEqual([]);
    now += 1;
    const second = await one();
    now += 10;
    // A held time longer than the lease has existed cannot move the end before the lease was issued.
    await report([result(second, { heldMs: 60_000 })]);
    expect(frontier.host("a.example")?.nextAllowedAtMs).toBe(second.issuedAtMs + 500);
    now = second.issuedAtMs + 499;
    expect(await take()).toEqual([]);
    now += 1;
    expect((await one()).url).toBe("http://a.example/3");
  });

  it("leases a host shortly before it is due (leaseAheadMs), saying when the fetch may start", async () => {
    await frontier.close();
    frontier = openTestFrontier(dir, () => now, { settings: { leaseAheadMs: 50 } });
    frontier.createCrawl(spec(["http://a.example/", "http://a.example/2"]));
    await robotsOk(one());
    const dueAt = now + 500;
    now = dueAt - 51;
    expect(await take()).toEqual([]);
    now = dueAt - 40;
    const early = await one();
    // Issued now, to start just after the host is due (a 5 ms margin): 45 ms after the worker has it.
    const startsAt = dueAt + 5;
    expect(early.issuedAtMs).toBe(now);
    expect(early.notBeforeMs).toBe(startsAt);
    expect(early.startAfterMs).toBe(45);
    // Its expiry runs from its start, and the host's next request is spaced from the fetch's end.
    expect(early.expiresAtMs).toBe(startsAt + 2000 + 1000);
    now = dueAt + 30;
    await report([result(early, { heldMs: 60_000 })]);
    // A worker's figure cannot put the request's end before the fetch could start.
    expect(frontier.host("a.example")?.nextAllowedAtMs).toBe(startsAt + 500);
  });

  it("re-queues a URL whose capture never came, without freeing the host's slot twice", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/", "http://a.example/2"]));
    await robotsOk(one());
    now += 500;
    const first = await one();
    await report([result(first, { requestEnded: true })]);
    now += 500;
    const second = await one();
    expect(frontier.host("a.example")?.inFlight).toBe(1);
    now = first.expiresAtMs + 1;
    expect(frontier.expire()).toBe(1);
    // The second request still holds the host's only slot.
    expect(frontier.host("a.example")?.inFlight).toBe(1);
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("queued");
    const late = await report([
      result(first, {
        capture: proto.CaptureLocation.fromPartial({ file: "f.warc.gz", offset: 0, length: 9 }),
      }),
    ]);
    expect(late[0]?.outcome).toBe(Outcome.REPORT_OUTCOME_EXPIRED);
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("queued");
    now = Math.max(now, frontier.url(crawl.id, "http://a.example/")?.notBeforeMs ?? 0) + 1;
    expect(await take()).toEqual([]); // no second request while the first one's slot is held
    await report([result(second)]);
    now += 500;
    expect((await one()).url).toBe("http://a.example/");
  });

  it("retries 503 after Retry-After and pushes the host back", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/"]));
    await robotsOk(one());
    now += 500;
    await report([result(await one(), { statusCode: 503, retryAfter: "30" })]);
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("queued");
    expect(frontier.host("a.example")?.nextAllowedAtMs).toBe(now + 30_000);
    expect(frontier.host("a.example")?.delaySource).toBe("retry_after");
    now += 29_999;
    expect(await take()).toEqual([]);
    now += 1;
    await report([result(await one())]);
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("done");
  });

  it("honours Crawl-delay longer than the minimum delay", async () => {
    frontier.createCrawl(spec(["http://a.example/", "http://a.example/2"]));
    await robotsOk(one(), "User-agent: *\nCrawl-delay: 2\n");
    now += 1999;
    expect(await take()).toEqual([]);
    now += 1;
    await report([result(await one())]);
    expect(frontier.host("a.example")?.delaySource).toBe("crawl_delay");
    now += 1999;
    expect(await take()).toEqual([]);
    now += 1;
    expect(await take()).toHaveLength(1);
  });

  it("keeps an unreachable robots.txt host closed, retries it, then gives its URLs up", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/"]));
    await report([result(await one(), { statusCode: 503 })]);
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("queued");
    now += 499;
    expect(await take()).toEqual([]); // robots retry backoff: 0.5 to 1 s (jittered)
    now += 1000;
    const retry = await one();
    expect(retry.kind).toBe(proto.LeaseKind.LEASE_KIND_ROBOTS);
    await report([
      result(retry, {
        error: { kind: proto.FetchErrorKind.FETCH_ERROR_KIND_CONNECT, code: "ECONNREFUSED", message: "" },
      }),
    ]);
    now += 500;
    expect(await take()).toEqual([]);
    const rec = frontier.url(crawl.id, "http://a.example/");
    expect(rec?.state).toBe("skipped");
    expect(rec?.reason).toBe("robots_unreachable");
    expect(frontier.crawl(crawl.id)?.state).toBe("finished");
  });

  it("keeps obeying the last good robots.txt when a refresh fails, within 24 hours", async () => {
    const c = frontier.createCrawl(
      spec(["http://a.example/", "http://a.example/private/x"], { politeness: { robotsCacheMs: 10_000 } }),
    );
    await robotsOk(one());
    now += 10_001; // the cached copy has expired: the next lease refreshes it
    const refresh = await one();
    expect(refresh.kind).toBe(proto.LeaseKind.LEASE_KIND_ROBOTS);
    await report([result(refresh, { statusCode: 503 })]);
    expect(frontier.robots("http://a.example")).toMatchObject({ status: "parsed", failures: 1 });
    now += 500;
    const page = await one();
    expect(page.url).toBe("http://a.example/");
    expect(frontier.url(c.id, "http://a.example/")?.robots?.digest).toBe(
      frontier.robots("http://a.example")?.digest,
    );
    await report([result(page)]);
    now += 500;
    // The retry of the refresh is due (0.5-1 s back-off): robots.txt again, never the disallowed page.
    expect((await take()).map((l) => l.url)).toEqual(["http://a.example/robots.txt"]);
  });

  it("never leases more pages than maxPages and says what it skipped", async () => {
    const crawl = frontier.createCrawl(
      spec(["http://a.example/", "http://b.example/", "http://c.example/"], { maxPages: 2 }),
    );
    for (const l of await take()) await robotsOk(l);
    now += 500;
    const pages = await take();
    expect(pages).toHaveLength(2);
    for (const p of pages) await report([result(p)]);
    const c = frontier.crawl(crawl.id);
    expect(c?.pagesLeased).toBe(2);
    expect(c?.counts.done).toBe(2);
    expect(c?.skipCounts.budget_max_pages).toBe(1);
    expect(c?.state).toBe("finished");
  });

  it("shares a host's politeness across crawls", async () => {
    frontier.createCrawl(spec(["http://a.example/one"], { politeness: { minDelayMs: 3000 } }));
    frontier.createCrawl(spec(["http://a.example/two"], { politeness: { minDelayMs: 100 } }));
    await robotsOk(one());
    now += 2999;
    expect(await take()).toEqual([]);
    now += 1;
    await report([result(await one())]);
    expect(await take()).toEqual([]);
    now += 3000;
    expect(await take()).toHaveLength(1);
  });

  it("counts each crawl's fetches of a shared host apart, across a restart and from older records", async () => {
    const a = frontier.createCrawl(spec(["http://a.example/1", "http://a.example/2"], { id: "fa" }));
    const b = frontier.createCrawl(spec(["http://a.example/3"], { id: "fb" }));
    // An older frontier kept every crawl's count in its crawl-host record: it still counts.
    const old = frontier.store.crawlHosts.get([b.id, "a.example"]);
    expect(old).toBeDefined();
    await frontier.store.crawlHosts.put([b.id, "a.example"], {
      ...(old as CrawlHostState),
      fetches: 5,
      fetchedBytes: 50,
    });
    await robotsOk(one());
    const bodies = [100, 10, 1];
    for (const bodyBytes of bodies) {
      now += 500;
      await report([result(await one(), { bodyBytes })]);
    }
    const listed = (crawlId: string) => {
      const [h] = listHosts(frontier, { crawlId, status: 0, limit: 10 }, now).hosts;
      return [Number(h?.fetches), Number(h?.bytes)];
    };
    // The robots.txt goes with the crawl whose URL is first in the host's queue, then the pages in order.
    expect(listed(a.id)).toEqual([3, 110]);
    expect(listed(b.id)).toEqual([6, 51]);
    expect(frontier.store.hosts.get("a.example")?.fetches).toBe(4);
    await frontier.close();
    frontier = open();
    expect(listed(a.id)).toEqual([3, 110]);
    expect(listed(b.id)).toEqual([6, 51]);
  });

  it("resumes after a restart with every URL, lease and delay intact", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/", "http://b.example/"]));
    const [ra, rb] = await take();
    await robotsOk(ra as proto.Lease);
    await robotsOk(rb as proto.Lease);
    now += 500;
    const [pa] = await take(1);
    await frontier.close();
    frontier = open();
    expect(frontier.activeLeaseCount()).toBe(1);
    expect(frontier.crawl(crawl.id)?.counts).toEqual({
      queued: 1,
      leased: 1,
      done: 0,
      failed: 0,
      skipped: 0,
    });
    const [pb] = await take();
    expect(pb?.hostKey).not.toBe(pa?.hostKey);
    expect((await report([result(pa as proto.Lease)]))[0]?.outcome).toBe(Outcome.REPORT_OUTCOME_ACCEPTED);
    await report([result(pb as proto.Lease)]);
    expect(frontier.crawl(crawl.id)?.state).toBe("finished");
  });

  it("renews a worker's own live lease up to its maximum, and refuses foreign or expired ones", async () => {
    await frontier.close();
    frontier = openFrontier({
      dataDir: dir,
      settings: { leaseMarginMs: 1000, leaseTtlMs: 3000, maxWaitHintMs: 250 },
      log: silentLogger(),
      clock: () => now,
    });
    frontier.createCrawl(spec(["http://a.example/"], { fetch: { timeoutMs: 10_000 } }));
    const robots = await one();
    expect(robots.expiresAtMs).toBe(now + 3000 + 1000);
    now += 2000;
    const [ok] = await frontier.renew("w1", [robots.id]);
    expect(ok).toMatchObject({ renewed: true, expiresAtMs: now + 4000 });
    expect((await frontier.renew("w2", [robots.id]))[0]).toMatchObject({
      renewed: false,
      reason: "lease belongs to another worker",
    });
    let capped: proto.RenewAck | undefined;
    for (let i = 0; i < 3; i++) {
      now += 2000;
      [capped] = await frontier.renew("w1", [robots.id]);
      expect(capped?.renewed).toBe(true);
    }
    expect(capped?.expiresAtMs).toBe(robots.issuedAtMs + 10_000 + 1000);
    now = (capped?.expiresAtMs ?? 0) + 1;
    expect((await frontier.renew("w1", [robots.id]))[0]).toMatchObject({
      renewed: false,
      reason: "lease is expired",
    });
    expect(frontier.expire()).toBe(1);
  });

  it("re-queues a lease handed back by a draining worker without counting the attempt", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/"]));
    await robotsOk(one());
    now += 500;
    const page = await one();
    await report([
      result(page, {
        error: {
          kind: proto.FetchErrorKind.FETCH_ERROR_KIND_RELEASED,
          code: "HEED_LEASE_RELEASED",
          message: "",
        },
      }),
    ]);
    const rec = frontier.url(crawl.id, "http://a.example/");
    expect(rec?.state).toBe("queued");
    expect(rec?.attempts).toBe(0);
    now += 500;
    expect((await one()).attempt).toBe(1);
  });

  it("settles a blocked domain's URLs as opt-outs without a request, for every crawl", async () => {
    const c1 = frontier.createCrawl(spec(["http://a.example.org/", "http://b.example/"]));
    const c2 = frontier.createCrawl(spec(["http://www.example.org/x"]));
    frontier.setHostPolicy({ pattern: "Example.ORG.", mode: "block", reason: "asked by e-mail" });
    const leases = await take();
    expect(leases.map((l) => l.hostKey)).toEqual(["b.example"]);
    expect(frontier.url(c1.id, "http://a.example.org/")).toMatchObject({
      state: "skipped",
      reason: "opt_out",
    });
    expect(frontier.url(c2.id, "http://www.example.org/x")).toMatchObject({
      state: "skipped",
      reason: "opt_out",
    });
    expect(frontier.crawl(c2.id)?.state).toBe("finished");
    expect(frontier.removeHostPolicy("example.org")).toBe(true);
    expect(frontier.hostPolicies()).toEqual([]);
    expect(() => frontier.setHostPolicy({ pattern: "not a host!", mode: "block", reason: "" })).toThrow(
      /pattern/,
    );
  });

  it("lets an operator slow a host down, never speed it up", async () => {
    frontier.createCrawl(spec(["http://a.example/", "http://a.example/2"]));
    frontier.setHostPolicy({ pattern: "a.example", mode: "slow", minDelayMs: 5000, reason: "site asked" });
    await robotsOk(one());
    now += 4999;
    expect(await take()).toEqual([]);
    now += 1;
    expect(await take()).toHaveLength(1);
    expect(() =>
      frontier.setHostPolicy({ pattern: "a.example", mode: "slow", minDelayMs: 0, reason: "" }),
    ).toThrow(/min_delay_ms/);
  });

  it("pauses, resumes and cancels a crawl", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/", "http://b.example/"]));
    frontier.changeCrawlState(crawl.id, "pause");
    expect(await take()).toEqual([]);
    expect(() => frontier.changeCrawlState(crawl.id, "pause")).toThrow(/not running/);
    frontier.changeCrawlState(crawl.id, "resume");
    now += 1000;
    const robots = await take();
    expect(robots).toHaveLength(2);
    for (const l of robots) await robotsOk(l);
    frontier.changeCrawlState(crawl.id, "cancel");
    now += 1000;
    expect(await take()).toEqual([]);
    const c = frontier.crawl(crawl.id);
    expect(c?.state).toBe("cancelled");
    expect(c?.skipCounts.crawl_cancelled).toBe(2);
    expect(() => frontier.changeCrawlState("nope", "pause")).toThrow(/no crawl/);
  });

  it("adds seeds to a crawl and widens its scope to their hosts", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/"], { maxPages: 10 }));
    expect(frontier.addSeeds(crawl.id, ["http://b.example/start", "http://a.example/"])).toEqual({
      added: 1,
    });
    const seeds = [...frontier.seeds(frontier.crawl(crawl.id) as CrawlRecord, 0)].map((s) => s.url);
    expect(seeds).toEqual(["http://a.example/", "http://b.example/start"]);
    const leases = await take();
    expect(leases.map((l) => l.hostKey).sort()).toEqual(["a.example", "b.example"]);
    expect(() => frontier.addSeeds(crawl.id, ["ftp://x/"])).toThrow(/seeds\[0\]/);
  });

  it("spaces all hosts of a registrable domain when a crawl asks for domain politeness", async () => {
    frontier.createCrawl(
      spec(["http://a.example.org/", "http://b.example.org/", "http://c.other.org/"], {
        politeness: { key: "domain" },
      }),
    );
    const first = await take();
    // One lease for example.org (either host), one for other.org.
    expect(first.map((l) => l.hostKey.split(".").slice(-2).join(".")).sort()).toEqual([
      "example.org",
      "other.org",
    ]);
    const ex = first.find((l) => l.hostKey.endsWith("example.org")) as proto.Lease;
    await robotsOk(ex);
    now += 499;
    expect((await take()).filter((l) => l.hostKey.endsWith("example.org"))).toEqual([]);
    now += 1;
    const next = (await take()).filter((l) => l.hostKey.endsWith("example.org"));
    expect(next).toHaveLength(1);
    expect(frontier.host("domain:example.org")?.inFlight).toBe(1);
  });

  it("spaces virtual hosts served from one address when a crawl asks for politeness by IP", async () => {
    frontier.createCrawl(
      spec(["http://a.example/", "http://b.example/", "http://10.1.2.3/"], {
        politeness: { key: "ip" },
        allowPrivateAddresses: true,
      }),
    );
    const robots = await take();
    expect(robots).toHaveLength(3); // addresses are learnt from the first fetches
    for (const l of robots) expect(l.kind).toBe(proto.LeaseKind.LEASE_KIND_ROBOTS);
    // robotsOk reports every host at 10.1.2.3, as workers would after resolving a.example and b.example.
    for (const l of robots) await robotsOk(l);
    now += 500;
    const first = await take();
    expect(first).toHaveLength(1);
    expect(frontier.host("ip:10.1.2.3")?.inFlight).toBe(1);
  });

  it("makes hosts of an operator's group share one budget, for every crawl", async () => {
    frontier.createCrawl(
      spec(["http://a.example/"], {
        politeness: { hostGroups: [{ name: "shared-box", hosts: ["a.example", "b.example"] }] },
      }),
    );
    frontier.createCrawl(spec(["http://b.example/"]));
    expect(await take()).toHaveLength(1);
    expect(frontier.host("group:shared-box")?.inFlight).toBe(1);
  });

  it("grows the delay with slow fetches (adaptive), bounded", async () => {
    frontier.createCrawl(
      spec(["http://a.example/", "http://a.example/2"], {
        politeness: { delayFactor: 3, maxAdaptiveDelayMs: 2000 },
      }),
    );
    await robotsOk(one());
    now += 500;
    const page = await one();
    await report([result(page, { startedAtMs: now - 1000, finishedAtMs: now })]);
    expect(frontier.host("a.example")).toMatchObject({ delayMs: 2000, delaySource: "adaptive" });
  });

  it("parks a host whose Retry-After passes the ceiling, and one that keeps failing", async () => {
    const c = frontier.createCrawl(
      spec(["http://a.example/", "http://a.example/2", "http://b.example/", "http://b.example/2"], {
        politeness: {
          retryAfterCeilingMs: 60_000,
          breakerThreshold: 2,
          errorBackoffBaseMs: 10,
          errorBackoffMaxMs: 20,
          parkMs: 3600_000,
        },
        fetch: { maxAttempts: 5 },
      }),
    );
    for (const l of await take()) await robotsOk(l);
    now += 500;
    for (const l of await take()) {
      const retryAfter = l.hostKey === "a.example" ? "7200" : "";
      await report([result(l, { statusCode: 503, retryAfter })]);
    }
    expect(frontier.host("a.example")?.parkedReason).toMatch(/^retry_after_above_ceiling/);
    now += 1000;
    const b = (await take()).find((l) => l.hostKey === "b.example") as proto.Lease;
    await report([
      result(b, {
        error: { kind: proto.FetchErrorKind.FETCH_ERROR_KIND_CONNECT, code: "ECONNRESET", message: "" },
      }),
    ]);
    expect(frontier.host("b.example")?.parkedReason).toMatch(/^circuit_breaker: 2 consecutive/);
    now += 10_000;
    expect(await take()).toEqual([]);
    expect(frontier.crawl(c.id)?.skipCounts.host_parked).toBe(4);
  });

  it("skips a host whose Crawl-delay is above the operator's maximum instead of crawling it faster", async () => {
    const c = frontier.createCrawl(spec(["http://a.example/"], { politeness: { maxCrawlDelayMs: 10_000 } }));
    await robotsOk(one(), "User-agent: *\nCrawl-delay: 60\n");
    now += 60_000;
    expect(await take()).toEqual([]);
    expect(frontier.url(c.id, "http://a.example/")).toMatchObject({
      state: "skipped",
      reason: "crawl_delay_too_long",
    });
  });

  it("keeps per-host page and window budgets: absolute ones skip, windows wait", async () => {
    const c = frontier.createCrawl(
      spec(
        [
          "http://a.example/1",
          "http://a.example/2",
          "http://a.example/3",
          "http://b.example/1",
          "http://b.example/2",
        ],
        {
          budgets: { maxPagesPerHost: 2, pagesPerWindow: 1, windowMs: 10_000 },
          politeness: { minDelayMs: 0, delayFactor: 0 },
        },
      ),
    );
    for (const l of await take()) await robotsOk(l);
    for (const l of await take()) await report([result(l)]);
    expect(await take()).toEqual([]); // one page per host per 10 s window
    now += 10_000;
    for (const l of await take()) await report([result(l)]);
    now += 10_000;
    expect(await take()).toEqual([]);
    const crawl = frontier.crawl(c.id);
    expect(crawl?.counts.done).toBe(4);
    expect(crawl?.skipCounts.budget_host_pages).toBe(1);
    expect(crawl?.state).toBe("finished");
    expect(frontier.url(c.id, "http://a.example/2")?.politeness?.keys).toEqual(["a.example"]);
  });

  it("refuses a second crawl with the same id and invalid specs without writing anything", async () => {
    frontier.createCrawl(spec(["http://a.example/"], { id: "c1" }));
    expect(() => frontier.createCrawl(spec(["http://b.example/"], { id: "c1" }))).toThrow(/exists already/);
    expect(() => frontier.createCrawl({ seeds: ["http://x.example/"] } as CrawlSpecInput)).toThrow(
      /userAgent/,
    );
    expect(frontier.crawls().map((c) => c.id)).toEqual(["c1"]);
  });
});

describe("a lease request asked again", () => {
  it("gets the same leases while they are active, also when both arrive together", async () => {
    frontier.createCrawl(spec(["http://a.example/", "http://b.example/"]));
    const ids = (r: { leases: { id: string }[] }) => r.leases.map((l) => l.id).sort();
    const [first, second] = await Promise.all([
      frontier.lease("w1", 10, "r1"),
      frontier.lease("w1", 10, "r1"),
    ]);
    expect(ids(first)).toHaveLength(2);
    expect(ids(second)).toEqual(ids(first));
    expect(frontier.activeLeaseCount()).toBe(2);
    expect(ids(await frontier.lease("w1", 10, "r1"))).toEqual(ids(first));
    // Another worker's request of the same id is its own: nothing is due for it.
    expect(ids(await frontier.lease("w2", 10, "r1"))).toEqual([]);
    // A lease reported is not sent again.
    const [done, open] = first.leases as [LeaseGrant, LeaseGrant];
    await robotsOk(leaseToProto(done));
    expect(ids(await frontier.lease("w1", 10, "r1"))).toEqual([open.id]);
  });
});

describe("a commit that fails", () => {
  /** An observer that throws once from inside the next lease's transaction, as a failed write would. */
  async function failingOnce(): Promise<{ fail(err: Error): void; commits: boolean[] }> {
    await frontier.close();
    let next: Error | undefined;
    const commits: boolean[] = [];
    frontier = open({
      ...NO_OBSERVER,
      leaseIssued() {
        const err = next;
        next = undefined;
        if (err !== undefined) throw err;
      },
      commit: (ok) => commits.push(ok),
    });
    return { fail: (err) => (next = err), commits };
  }

  it("leaves memory as LMDB has it: the host stays scheduled and no lease counts as active", async () => {
    const { fail } = await failingOnce();
    frontier.createCrawl(spec(["http://a.example/"]));
    fail(new Error("boom"));
    await expect(take()).rejects.toThrow("boom");
    expect(frontier.activeLeaseCount()).toBe(0);
    expect(frontier.host("a.example")?.inFlight ?? 0).toBe(0);
    // Nothing was committed, so the same host is due right away, as if the failed round never happened.
    const robots = await one();
    expect(robots.url).toBe("http://a.example/robots.txt");
    expect(frontier.activeLeaseCount()).toBe(1);
  });

  it("stores a record shape first met in the failed commit with the next one: it reads after a restart", async () => {
    const { fail } = await failingOnce();
    frontier.createCrawl(spec(["http://a.example/"]));
    // The first lease record of this frontier is written, then its commit fails.
    fail(new Error("boom"));
    await expect(take()).rejects.toThrow("boom");
    const robots = await one();
    await frontier.close();
    frontier = open();
    const [ack] = await robotsOk(robots);
    expect(ack?.outcome).toBe(Outcome.REPORT_OUTCOME_ACCEPTED);
    expect(frontier.activeLeaseCount()).toBe(0);
  });

  it("says the frontier cannot be written, refuses changes with HEED_FRONTIER_WRITE, and recovers", async () => {
    const { fail, commits } = await failingOnce();
    const crawl = frontier.createCrawl(spec(["http://a.example/"]));
    // LMDB's own errors carry a numeric code (an errno, or MDB_MAP_FULL).
    fail(Object.assign(new Error("MDB_MAP_FULL: Environment mapsize limit reached"), { code: -30792 }));
    await expect(take()).rejects.toMatchObject({ code: "HEED_FRONTIER_WRITE" });
    expect(frontier.health()).toMatchObject({
      writable: false,
      error: expect.stringContaining("MDB_MAP_FULL"),
    });
    expect(commits.at(-1)).toBe(false);
    // Commits go through again, but the frontier says so only once they have for a while.
    expect(frontier.probe().writable).toBe(false);
    expect(commits.at(-1)).toBe(true);
    now += 5000;
    expect(frontier.probe().writable).toBe(true);
    expect(commits.at(-1)).toBe(true);
    await robotsOk(one());
    expect(frontier.crawl(crawl.id)?.counts.queued).toBe(1);
  });
});

describe("crawls that stop share their hosts at once", () => {
  const N = 2000;
  const many = (prefix: string) =>
    Array.from({ length: N }, (_, i) => `https://shared.example/${prefix}/${i}`);

  it("cancel settles every queued URL now, and the other crawl on the host gets the next lease", async () => {
    frontier.createCrawl(spec(many("a"), { id: "a" }));
    await robotsOk(one());
    frontier.createCrawl(spec(["https://shared.example/b/0"], { id: "b" }));
    frontier.changeCrawlState("a", "cancel");
    const a = frontier.crawl("a");
    expect(a?.counts.queued).toBe(0);
    expect(a?.skipCounts.crawl_cancelled).toBe(N);
    now += 1000;
    // One lease request, not one per 256 cancelled URLs, reaches the other crawl.
    const next = await take(1);
    expect(next.map((l) => l.url)).toEqual(["https://shared.example/b/0"]);
  });

  it("a crawl out of its page budget settles its queued URLs at once", async () => {
    frontier.createCrawl(spec(many("a"), { id: "a", maxPages: 1 }));
    await robotsOk(one());
    now += 1000;
    const page = await one();
    frontier.createCrawl(spec(["https://shared.example/b/0"], { id: "b" }));
    await report([result(page)]);
    now += 1000;
    const next = await take(1);
    expect(next.map((l) => l.url)).toEqual(["https://shared.example/b/0"]);
    expect(frontier.crawl("a")?.counts.queued).toBe(0);
    expect(frontier.crawl("a")?.skipCounts.budget_max_pages).toBe(N - 1);
  });
});

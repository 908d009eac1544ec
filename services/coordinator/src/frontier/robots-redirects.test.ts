import { type CrawlSpecInput, proto } from "@heed/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { robotsToProto } from "../admin/wire.js";
import { reportFromProto } from "../grpc/report-wire.js";
import type { Frontier } from "./frontier.js";
import { NO_OBSERVER } from "./observer.js";
import type { LeaseGrant, RobotsRecord } from "./records.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

// A robots.txt redirect is followed one lease per hop, on the hop's host's
// politeness keys, while the origin's pages wait; the chain survives a restart.

let dir: string;
let now: number;
let frontier: Frontier;
/** Redirect hops the frontier told its observer (metrics) it followed. */
let hops: number;
const open = () =>
  openTestFrontier(dir, () => now, { observer: { ...NO_OBSERVER, robotsRedirectHop: () => hops++ } });

beforeEach(() => {
  dir = testFrontierDir("frontier-redirects");
  now = 1_000_000;
  hops = 0;
  frontier = open();
});
afterEach(() => closeTestFrontier(frontier, dir));

function spec(seeds: string[]): CrawlSpecInput {
  return {
    seeds,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 500, delayFactor: 0 },
  };
}

async function take(): Promise<LeaseGrant[]> {
  return (await frontier.lease("w1", 10)).leases;
}

async function answer(lease: LeaseGrant | undefined, fields: Partial<proto.FetchResult>): Promise<void> {
  expect(lease).toBeDefined();
  const r = proto.FetchResult.fromPartial({
    leaseId: lease?.id,
    statusCode: 200,
    startedAtMs: now,
    finishedAtMs: now,
    ...fields,
  });
  const [ack] = await frontier.report("w1", [reportFromProto(r)]);
  expect(ack?.outcome).toBe("accepted");
}

const redirect = (to: string) => ({ statusCode: 301, redirectLocation: to });

describe("robots.txt redirects", () => {
  it("leases each hop after its host's delay, on the other host's slot, holding the origin's pages", async () => {
    const crawl = frontier.createCrawl(
      spec(["http://a.example/p", "http://a.example/", "http://b.example/"]),
    );
    const first = await take();
    const robotsA = first.find((l) => l.hostKey === "a.example");
    expect(robotsA?.url).toBe("http://a.example/robots.txt");
    expect(robotsA?.limits.maxRedirects).toBe(0);
    await answer(
      first.find((l) => l.hostKey === "b.example"),
      { robotsBody: "User-agent: *\nAllow: /\n" },
    );
    await answer(robotsA, redirect("http://a.example/robots-2.txt"));
    // The admin API shows the state: following a redirect to the next hop.
    const robotsOf = () => robotsToProto(frontier.robots("http://a.example") as RobotsRecord);
    expect(robotsOf().following).toBe("http://a.example/robots-2.txt");

    // The chain is in LMDB: a restart goes on with the same hop.
    await frontier.close();
    frontier = open();
    now += 499;
    expect(await take()).toEqual([]);
    now += 1;
    const second = await take();
    const hop2 = second.find((l) => l.hostKey === "a.example");
    expect(hop2).toMatchObject({ kind: "robots", url: "http://a.example/robots-2.txt" });
    const pageB = second.find((l) => l.hostKey === "b.example");
    expect(pageB?.url).toBe("http://b.example/");

    // Into b.example, which is busy: the hop waits for its slot, then for its delay.
    await answer(hop2, redirect("http://b.example/robots.txt"));
    now += 500;
    expect(await take()).toEqual([]);
    await answer(pageB, {});
    expect(await take()).toEqual([]);
    now += 500;
    const [hop3, ...rest] = await take();
    expect(rest).toEqual([]);
    expect(hop3).toMatchObject({ kind: "robots", url: "http://b.example/robots.txt", hostKey: "b.example" });
    expect(frontier.url(crawl.id, "http://a.example/")?.state).toBe("queued");

    // The answer at the end of the chain applies to a.example.
    await answer(hop3, { robotsBody: "User-agent: *\nDisallow: /p\n" });
    expect(robotsOf()).toMatchObject({
      status: proto.RobotsStatus.ROBOTS_STATUS_PARSED,
      following: "",
      redirects: [
        "http://a.example/robots.txt",
        "http://a.example/robots-2.txt",
        "http://b.example/robots.txt",
      ],
    });
    const [page] = await take();
    expect(page?.url).toBe("http://a.example/");
    expect(frontier.url(crawl.id, "http://a.example/p")).toMatchObject({
      state: "skipped",
      reason: "robots_disallowed",
    });
  });

  it("follows five redirects, then reads robots.txt as unavailable (allow all)", async () => {
    const crawl = frontier.createCrawl(spec(["http://a.example/"]));
    const fetched: string[] = [];
    for (let i = 0; i < 6; i++) {
      const [lease, ...rest] = await take();
      expect(rest).toEqual([]);
      expect(lease?.kind).toBe("robots");
      fetched.push(lease?.url as string);
      await answer(lease, redirect(i % 2 === 0 ? "http://a.example/r" : "http://a.example/robots.txt"));
      now += 500;
    }
    expect(fetched).toEqual(
      Array.from({ length: 3 }, () => ["http://a.example/robots.txt", "http://a.example/r"]).flat(),
    );
    expect(frontier.robots("http://a.example")).toMatchObject({ status: "unavailable", httpStatus: 301 });
    expect(frontier.robots("http://a.example")?.redirects).toEqual(fetched);
    // Five hops followed; the sixth redirect ends the chain.
    expect(hops).toBe(5);
    const [page] = await take();
    expect(page?.url).toBe("http://a.example/");
    expect(frontier.url(crawl.id, "http://a.example/")?.robots?.verdict).toBe("robots_unavailable_allow_all");
  });

  it("asks the same hop again when its lease expires, and never follows into a blocked host", async () => {
    frontier.setHostPolicy({ pattern: "blocked.example", mode: "block", reason: "asked not to be crawled" });
    frontier.createCrawl(spec(["http://a.example/"]));
    const [first] = await take();
    await answer(first, redirect("http://a.example/robots-2.txt"));
    now += 500;
    const [hop] = await take();
    expect(hop?.url).toBe("http://a.example/robots-2.txt");
    now = (hop?.expiresAtMs as number) + 1;
    expect(frontier.expire()).toBe(1);
    // The lease may have reached the site: the host's delay counts from its expiry.
    now += 500;
    const [again] = await take();
    expect(again?.url).toBe("http://a.example/robots-2.txt");
    await answer(again, redirect("http://blocked.example/robots.txt"));
    expect(frontier.robots("http://a.example")).toMatchObject({ status: "unavailable", httpStatus: 301 });
    expect(frontier.robots("http://a.example")?.following).toBeUndefined();
    expect(hops).toBe(1);
  });
});

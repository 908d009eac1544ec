import { proto } from "@heed/shared";
import { afterEach, beforeEach, expect, it } from "vitest";
import { reportFromProto } from "../grpc/report-wire.js";
import type { Frontier } from "./frontier.js";
import type { LeaseGrant } from "./records.js";
import { closeTestFrontier, openTestFrontier, testFrontierDir } from "./testing/test-frontier.js";

// What the depth limit lets in must not depend on which path the fleet followed
// first: a page first found down a long path and later by a short one takes the
// short one's depth, whether it is still queued or was fetched already.

let dir: string;
let frontier: Frontier;
const now = 1_000_000;
const held = new Map<string, LeaseGrant>();

beforeEach(() => {
  dir = testFrontierDir("frontier-depth");
  held.clear();
  frontier = openTestFrontier(dir, () => now);
  frontier.createCrawl({
    id: "d",
    seeds: ["http://a.example/", "http://b.example/"],
    maxDepth: 2,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 0, delayFactor: 0 },
  });
});
afterEach(() => closeTestFrontier(frontier, dir));

/** The lease for a URL, taking whatever the frontier hands out until it comes. */
async function leaseOf(url: string): Promise<LeaseGrant> {
  for (let i = 0; i < 10 && !held.has(url); i++) {
    for (const l of (await frontier.lease("w1", 10)).leases) {
      if (l.kind === "robots") await fetched(l, [], "User-agent: *\nAllow: /\n");
      else held.set(l.url, l);
    }
  }
  const lease = held.get(url);
  if (lease === undefined) throw new Error(`no lease for ${url}`);
  held.delete(url);
  return lease;
}

async function fetched(lease: LeaseGrant, outlinks: string[], robotsBody?: string): Promise<void> {
  const r = proto.FetchResult.fromPartial({
    leaseId: lease.id,
    statusCode: 200,
    startedAtMs: now,
    finishedAtMs: now,
    outlinks,
    ...(robotsBody !== undefined ? { robotsBody } : {}),
  });
  await frontier.report("w1", [reportFromProto(r)]);
}

const A = "http://a.example/";
const X = "http://a.example/x";
const Y = "http://a.example/y";
const Z = "http://a.example/z";
const B = "http://b.example/";

it("a queued page found again by a shorter path takes the shorter depth, and its links get in", async () => {
  const seedB = await leaseOf(B);
  await fetched(await leaseOf(A), [X]);
  await fetched(await leaseOf(X), [Y]); // y at depth 2: its links would be past the limit
  await fetched(seedB, [Y]); // ...but b links to it directly: depth 1
  expect(frontier.url("d", Y)).toMatchObject({ state: "queued", depth: 1 });
  await fetched(await leaseOf(Y), [Z]);
  expect(frontier.url("d", Z)).toMatchObject({ state: "queued", depth: 2 });
});

it("a fetched page found again by a shorter path has the links the limit cut followed", async () => {
  const seedB = await leaseOf(B);
  await fetched(await leaseOf(A), [X]);
  await fetched(await leaseOf(X), [Y]);
  await fetched(await leaseOf(Y), [Z]); // z lies at depth 3, past the limit
  expect(frontier.url("d", Z)).toBeUndefined();
  await fetched(seedB, [Y]);
  expect(frontier.url("d", Y)).toMatchObject({ state: "done", depth: 1 });
  expect(frontier.url("d", Z)).toMatchObject({ state: "queued", depth: 2, via: Y });
  // A longer path found later changes nothing.
  await fetched(await leaseOf(Z), [Y, X]);
  expect(frontier.url("d", Y)?.depth).toBe(1);
  expect(frontier.url("d", X)?.depth).toBe(1);
});

it("keeps the links past the limit only of pages a shorter path could still reach: never a seed's", async () => {
  frontier.createCrawl({
    id: "s",
    seeds: ["http://c.example/"],
    maxDepth: 0,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 0, delayFactor: 0 },
  });
  const seed = await leaseOf("http://c.example/");
  await fetched(seed, ["http://c.example/next"]);
  expect(frontier.url("s", "http://c.example/")).toMatchObject({ state: "done", depth: 0 });
  expect([...frontier.store.pastDepth.getKeys({ start: ["s"], end: ["s\u0000"] })]).toEqual([]);
  // A page below the seeds keeps them: a shorter path to it may turn up.
  await fetched(await leaseOf(A), [X]);
  await fetched(await leaseOf(X), [Y]);
  await fetched(await leaseOf(Y), [Z]);
  expect([...frontier.store.pastDepth.getKeys({ start: ["d"], end: ["d\u0000"] })]).toHaveLength(1);
});

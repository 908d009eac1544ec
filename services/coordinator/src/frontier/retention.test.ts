import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { FrontierSettings } from "./context.js";
import type { Frontier } from "./frontier.js";
import type { FetchReport, LeaseGrant } from "./records.js";
import { fetchedReport, openTestFrontier } from "./testing/test-frontier.js";

let dir: string;
let now: number;
let frontier: Frontier | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "heed-retention-"));
  now = 1_000_000;
});
afterEach(async () => {
  expect(frontier?.check().problems).toEqual([]);
  await frontier?.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(retention: Partial<FrontierSettings>): Frontier {
  frontier = openTestFrontier(dir, () => now, { settings: retention });
  return frontier;
}

const ok = (g: LeaseGrant): FetchReport => fetchedReport(g, now, { remoteAddress: "10.1.2.3" });

/** Crawls `hosts` one-page hosts to the end, a second between reports; returns the leases in the order they ended. */
async function crawl(
  f: Frontier,
  prefix: string,
  hosts: number,
): Promise<{ id: string; leases: LeaseGrant[] }> {
  const c = f.createCrawl({
    seeds: Array.from({ length: hosts }, (_, i) => `http://${prefix}${i}.example/`),
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 0 },
  });
  const leases: LeaseGrant[] = [];
  for (let round = 0; round < 4 * hosts && (f.crawl(c.id)?.counts.done ?? 0) < hosts; round++) {
    const { leases: batch } = await f.lease("w1", 1);
    for (const g of batch) {
      expect((await f.report("w1", [ok(g)]))[0]?.outcome).toBe("accepted");
      leases.push(g);
      now += 1000;
    }
    if (batch.length === 0) now += 1000;
  }
  expect(f.crawl(c.id)?.counts.done).toBe(hosts);
  return { id: c.id, leases };
}

const kept = (f: Frontier, leases: LeaseGrant[]) => leases.map((g) => f.leaseRecord(g.id) !== undefined);

it("keeps every lease record by default", async () => {
  const f = open({});
  const { leases } = await crawl(f, "a", 3);
  expect(f.pruneLeaseRecords()).toBe(0);
  expect(kept(f, leases)).toEqual(leases.map(() => true));
});

it("keeps the newest N ended lease records of each crawl, and every URL's evidence", async () => {
  const f = open({ leaseRecordsKeep: 2 });
  const a = await crawl(f, "a", 3); // 6 leases: robots and page per host
  const b = await crawl(f, "b", 2); // 4 leases
  expect(kept(f, a.leases)).toEqual(a.leases.map(() => true));
  expect(f.pruneLeaseRecords()).toBe(4 + 2);
  expect(kept(f, a.leases)).toEqual([false, false, false, false, true, true]);
  expect(kept(f, b.leases)).toEqual([false, false, true, true]);
  expect(f.pruneLeaseRecords()).toBe(0);
  for (let i = 0; i < 3; i++) {
    const url = f.url(a.id, `http://a${i}.example/`);
    expect(url?.state).toBe("done");
    expect(url?.result?.status).toBe(200);
    expect(url?.robots?.verdict).toBeDefined();
  }
  // A late report of a forgotten lease changes nothing.
  const late = a.leases[1] as LeaseGrant;
  expect((await f.report("w1", [ok(late)]))[0]?.outcome).toBe("unknown_lease");
  expect(f.crawl(a.id)?.counts.done).toBe(3);
});

it("deletes ended lease records older than the maximum age, never active ones", async () => {
  const f = open({ leaseRecordsMaxAgeMs: 3500 });
  const { leases } = await crawl(f, "a", 4);
  const _c = f.createCrawl({
    seeds: ["http://busy.example/"],
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    politeness: { minDelayMs: 0 },
  });
  const active = (await f.lease("w1", 1)).leases[0] as LeaseGrant;
  now += 10_000;
  const endedAt = leases.map((g) => f.leaseRecord(g.id)?.endedAtMs as number);
  const cutoff = now - 10_000 - 3500;
  now -= 10_000;
  const expected = endedAt.map((t) => t >= cutoff);
  expect(expected).toContain(false);
  expect(expected).toContain(true);
  expect(f.pruneLeaseRecords()).toBe(expected.filter((k) => !k).length);
  expect(kept(f, leases)).toEqual(expected);
  now += 60_000;
  f.pruneLeaseRecords();
  expect(kept(f, leases)).toEqual(leases.map(() => false));
  expect(f.leaseRecord(active.id)?.state).toBe("active");
});

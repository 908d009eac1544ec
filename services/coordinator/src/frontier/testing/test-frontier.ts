import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { proto, silentLogger } from "@heed/shared";
import { expect } from "vitest";
import { reportFromProto } from "../../grpc/report-wire.js";
import type { FrontierSettings } from "../context.js";
import { type Frontier, openFrontier } from "../frontier.js";
import type { FrontierObserver } from "../observer.js";
import type { FetchReport } from "../records.js";

// How the frontier's unit tests open and close one: each its own LMDB in a
// temporary directory, lease margins short enough to expire in a test, and a
// clock the test moves by hand.

/** A fresh temporary directory for a test frontier. */
export function testFrontierDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `heed-${name}-`));
}

export function openTestFrontier(
  dir: string,
  clock: () => number,
  extra: { observer?: FrontierObserver; settings?: Partial<FrontierSettings> } = {},
): Frontier {
  return openFrontier({
    dataDir: dir,
    settings: { leaseMarginMs: 1000, leaseTtlMs: 60_000, maxWaitHintMs: 250, ...extra.settings },
    log: silentLogger(),
    clock,
    ...(extra.observer !== undefined ? { observer: extra.observer } : {}),
  });
}

/** Every scenario must leave the frontier consistent; then it is closed and its directory removed. */
export async function closeTestFrontier(frontier: Frontier, dir: string): Promise<void> {
  expect(frontier.check().problems).toEqual([]);
  await frontier.close();
  rmSync(dir, { recursive: true, force: true });
}

/** A worker's result for a lease, as the gRPC service hands it to the frontier (fields not given are the wire's empty values). */
export function testReport(leaseId: string, fields: Partial<proto.FetchResult> = {}): FetchReport {
  return reportFromProto(proto.FetchResult.fromPartial({ leaseId, ...fields }));
}

/** An ordinary fetch of a leased URL at `atMs`: 200 (404 for robots.txt), a small HTML body. */
export function fetchedReport(
  lease: { id: string; kind: string },
  atMs: number,
  fields: Partial<proto.FetchResult> = {},
): FetchReport {
  return testReport(lease.id, {
    startedAtMs: atMs,
    finishedAtMs: atMs,
    statusCode: lease.kind === "robots" ? 404 : 200,
    contentType: "text/html",
    bodyBytes: 10,
    digestSha256: "0".repeat(64),
    ...fields,
  });
}

import { Metadata, status } from "@grpc/grpc-js";
import { coordinatorConfigSchema, parseConfig } from "@heed/shared";
import { describe, expect, it } from "vitest";
import { checkExposure, createAuth, isLoopbackListen, loadTokens } from "./auth.js";

const OPERATOR = "operator-token-0123456789";
const READER = "read-only-token-0123456789";
const WORKER = "worker-token-0123456789";

function md(authorization?: string): Metadata {
  const m = new Metadata();
  if (authorization !== undefined) m.set("authorization", authorization);
  return m;
}

describe("admin and worker tokens", () => {
  const auth = createAuth({ operator: OPERATOR, readOnly: READER, worker: WORKER });

  it("lets the operator token do everything and the read-only token only read", () => {
    expect(auth.admin(md(`Bearer ${OPERATOR}`), "operate")).toBeUndefined();
    expect(auth.admin(md(`bearer ${READER}`), "read")).toBeUndefined();
    expect(auth.admin(md(`Bearer ${READER}`), "operate")?.code).toBe(status.PERMISSION_DENIED);
  });

  it("refuses a missing, malformed or unknown token as UNAUTHENTICATED, and the worker token on admin calls", () => {
    for (const header of [undefined, OPERATOR, `Basic ${OPERATOR}`, "Bearer nope", `Bearer ${WORKER}`]) {
      expect(auth.admin(md(header), "read")?.code, String(header)).toBe(status.UNAUTHENTICATED);
    }
  });

  it("asks workers for the worker token only", () => {
    expect(auth.worker(md(`Bearer ${WORKER}`))).toBeUndefined();
    expect(auth.worker(md(`Bearer ${OPERATOR}`))?.code).toBe(status.UNAUTHENTICATED);
    expect(auth.worker(md())?.code).toBe(status.UNAUTHENTICATED);
  });

  it("asks for nothing when no token is configured (loopback development)", () => {
    const open = createAuth({});
    expect(open.admin(md(), "operate")).toBeUndefined();
    expect(open.worker(md())).toBeUndefined();
  });
});

describe("loading tokens and exposure", () => {
  const config = (over: Record<string, unknown> = {}) => parseConfig(coordinatorConfigSchema, over);

  it("reads tokens from the environment and refuses short or shared ones", () => {
    expect(loadTokens(config(), { HEED_ADMIN_TOKEN: OPERATOR, HEED_WORKER_TOKEN: WORKER })).toEqual({
      operator: OPERATOR,
      worker: WORKER,
    });
    expect(() => loadTokens(config(), { HEED_ADMIN_TOKEN: "short" })).toThrow(/^adminTokenFile: .*16/);
    expect(() => loadTokens(config(), { HEED_ADMIN_TOKEN: OPERATOR, HEED_WORKER_TOKEN: OPERATOR })).toThrow(
      /must differ/,
    );
  });

  it("knows loopback listen addresses", () => {
    for (const a of ["127.0.0.1:7400", "127.1.2.3:0", "[::1]:7400", "localhost:7400"])
      expect(isLoopbackListen(a), a).toBe(true);
    for (const a of ["0.0.0.0:7400", "[::]:7400", "10.0.0.5:7400", "coordinator:7400"])
      expect(isLoopbackListen(a), a).toBe(false);
  });

  it("refuses a non-loopback listen address without tokens unless insecure", () => {
    expect(() => checkExposure(config({ grpcListen: "0.0.0.0:7400" }), {})).toThrow(
      /^grpcListen: .*adminTokenFile, workerTokenFile.*--insecure/,
    );
    expect(() => checkExposure(config({ grpcListen: "0.0.0.0:7400" }), { operator: OPERATOR })).toThrow(
      /workerTokenFile/,
    );
    checkExposure(config({ grpcListen: "0.0.0.0:7400" }), { readOnly: READER, worker: WORKER });
    checkExposure(config({ grpcListen: "0.0.0.0:7400", insecure: true }), {});
    checkExposure(config(), {});
  });
});

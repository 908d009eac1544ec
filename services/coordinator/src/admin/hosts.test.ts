import { proto } from "@heed/shared";
import { describe, expect, it } from "vitest";
import { newHostState } from "../frontier/txn.js";
import { statusesOf } from "./hosts.js";

const S = proto.HostStatus;

describe("host statuses", () => {
  it("shows a parked host as parked while it is, and only then", () => {
    const h = {
      ...newHostState("a.example"),
      parkedUntilMs: 2000,
      parkedReason: "circuit_breaker: 10 consecutive failures",
    };
    expect(statusesOf(h, [], undefined, 1000)).toEqual([S.HOST_STATUS_IDLE, S.HOST_STATUS_PARKED]);
    expect(statusesOf(h, [], undefined, 2000)).toEqual([S.HOST_STATUS_IDLE]);
  });

  it("combines what it is doing with why it is held back", () => {
    const h = { ...newHostState("a.example"), inFlight: 1, nextAllowedAtMs: 5000 };
    const policy = {
      pattern: "example",
      mode: "slow" as const,
      minDelayMs: 5000,
      reason: "asked",
      createdAtMs: 0,
    };
    expect(statusesOf(h, [], policy, 1000)).toEqual([S.HOST_STATUS_BUSY, S.HOST_STATUS_SLOW]);
  });
});

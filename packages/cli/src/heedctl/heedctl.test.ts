import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { ConfigError, proto } from "@heed/shared";
import { afterAll, describe, expect, it } from "vitest";
import { RpcError } from "./client.js";
import { progressText, stallText } from "./commands/watch.js";
import { exitCodeOf } from "./main.js";
import { enumText, relative, table } from "./output.js";
import { loadCtlSettings } from "./settings.js";

const dir = mkdtempSync(join(tmpdir(), "heedctl-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rpcError = (code: status) =>
  new RpcError(
    Object.assign(new Error("x"), { code, details: "d", metadata: new Metadata() }) as ServiceError,
    "s:1",
  );

describe("heedctl settings", () => {
  it("take flags over env over the config file; the token from a flag's file, else HEED_TOKEN, else the file's", () => {
    const tokenA = join(dir, "a");
    const tokenB = join(dir, "b");
    writeFileSync(tokenA, "token-from-flag\n");
    writeFileSync(tokenB, "token-from-config\n");
    const config = join(dir, "heedctl.json");
    writeFileSync(config, JSON.stringify({ server: "file:1", tokenFile: tokenB, caFile: "/ca.pem" }));
    const env = { HEEDCTL_CONFIG: config, XDG_CONFIG_HOME: dir };
    expect(loadCtlSettings({}, env)).toMatchObject({
      server: "file:1",
      token: "token-from-config",
      caFile: "/ca.pem",
    });
    expect(loadCtlSettings({}, { ...env, HEED_SERVER: "env:2", HEED_TOKEN: "t-env" })).toMatchObject({
      server: "env:2",
      token: "t-env",
    });
    expect(
      loadCtlSettings(
        { server: "flag:3", tokenFile: tokenA },
        { ...env, HEED_SERVER: "env:2", HEED_TOKEN: "t" },
      ),
    ).toMatchObject({ server: "flag:3", token: "token-from-flag" });
    expect(loadCtlSettings({}, { XDG_CONFIG_HOME: dir })).toMatchObject({ server: "127.0.0.1:7400" });
    expect(loadCtlSettings({}, { XDG_CONFIG_HOME: dir }).token).toBeUndefined();
  });

  it("refuse unknown keys and bad addresses, naming them", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ sever: "typo:1" }));
    expect(() => loadCtlSettings({ config: bad }, {})).toThrow(ConfigError);
    expect(() => loadCtlSettings({ server: "no-port" }, {})).toThrow(/^server: host:port/);
  });
});

describe("heedctl exit codes", () => {
  it("say what to do next: fix the input (2), check the connection or token (3), else 1", () => {
    expect(exitCodeOf(rpcError(status.INVALID_ARGUMENT))).toBe(2);
    expect(exitCodeOf(rpcError(status.NOT_FOUND))).toBe(2);
    expect(exitCodeOf(rpcError(status.UNAVAILABLE))).toBe(3);
    expect(exitCodeOf(rpcError(status.UNAUTHENTICATED))).toBe(3);
    expect(exitCodeOf(rpcError(status.PERMISSION_DENIED))).toBe(3);
    expect(exitCodeOf(rpcError(status.FAILED_PRECONDITION))).toBe(1);
    expect(exitCodeOf(new ConfigError("--state", "bad"))).toBe(2);
    expect(exitCodeOf(new Error("boom"))).toBe(1);
  });
});

describe("heedctl output", () => {
  it("aligns tables, numbers to the right (but not IP addresses)", () => {
    expect(
      table(
        ["HOST", "N"],
        [
          ["127.0.0.2", 5],
          ["example.org", 12],
        ],
      ).split("\n"),
    ).toEqual(["HOST          N", "127.0.0.2     5", "example.org  12"]);
    expect(table(["A"], [])).toBe("(none)");
  });

  it("writes times relative to now and enum values in plain words", () => {
    expect(relative(0, 1000)).toBe("-");
    expect(relative(3000, 1000)).toBe("in 2.0 s");
    expect(relative(1000, 121_000)).toBe("2 min ago");
    expect(enumText("HOST_STATUS_ROBOTS_UNREACHABLE", "HOST_STATUS_")).toBe("robots-unreachable");
  });

  it("shows progress as settled of known counts, the recent rate, and an ETA or why there is none", () => {
    const s = proto.CrawlStats.fromPartial({
      counts: { done: 6, failed: 1, skipped: 1, queued: 1, leased: 1 },
      pagesPerSecond: 2.5,
      bytes: 2048,
      elapsedMs: 3000,
      noEtaReason: "too few samples",
    });
    expect(progressText(s)).toBe(
      "settled 8 of 10 known  done 6  queued 1  in flight 1  failed 1  skipped 1  2.5 pages/s (1 min)  no ETA (too few samples)  2.0 KiB  3.0 s",
    );
    expect(progressText({ ...s, etaMs: 150_000, noEtaReason: "" })).toContain(
      "2.5 pages/s (1 min)  ETA 3 min  ",
    );
    expect(progressText({ ...s, noEtaReason: "ended" })).not.toContain("ETA");
  });

  it("says why a crawl is stalled, with the time it waits for relative to now", () => {
    const s = proto.CrawlStats.fromPartial({
      stall: {
        reason: proto.StallReason.STALL_REASON_ALL_HOSTS_WAITING,
        untilMs: 121_000,
        detail: "all 1 host(s) waiting until 1970-01-01T00:02:01.000Z",
      },
    });
    expect(stallText(s, 1000)).toBe(
      "STALLED: all 1 host(s) waiting until 1970-01-01T00:02:01.000Z (in 2 min)",
    );
    expect(stallText(proto.CrawlStats.fromPartial({}), 1000)).toBe("");
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { coordinatorConfigSchema, parseConfig } from "./config.js";
import { natsConnectOptions } from "./nats-connect.js";
import { readSecret, redactUrl } from "./secrets.js";

const dir = mkdtempSync(join(tmpdir(), "heed-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const natsSettings = (over: Record<string, unknown>) =>
  parseConfig(coordinatorConfigSchema, { natsUrl: "nats://127.0.0.1:4222", ...over });

describe("readSecret", () => {
  it("reads a file without its trailing newline, or the environment", () => {
    expect(readSecret(file("t1", "s3cret\n"), "adminTokenFile", "HEED_ADMIN_TOKEN", {})).toBe("s3cret");
    expect(readSecret("", "adminTokenFile", "HEED_ADMIN_TOKEN", { HEED_ADMIN_TOKEN: "e" })).toBe("e");
    expect(readSecret("", "adminTokenFile", "HEED_ADMIN_TOKEN", {})).toBeUndefined();
  });

  it("names the setting when the file is missing or empty, or both sources are set", () => {
    expect(() => readSecret(join(dir, "nope"), "adminTokenFile", "X", {})).toThrow(
      /^adminTokenFile: cannot read/,
    );
    expect(() => readSecret(file("empty", "\n"), "adminTokenFile", "X", {})).toThrow(
      /adminTokenFile: .* empty/,
    );
    expect(() => readSecret(file("t2", "a"), "adminTokenFile", "X", { X: "b" })).toThrow(/either/);
  });
});

describe("redactUrl", () => {
  it("masks tokens and passwords in URLs and server lists", () => {
    expect(redactUrl("nats://s3cret@nats:4222")).toBe("nats://[redacted]@nats:4222");
    expect(redactUrl("nats://u:p@a:1,nats://u:p@b:2")).toBe("nats://[redacted]@a:1,nats://[redacted]@b:2");
    expect(redactUrl("nats://127.0.0.1:4222")).toBe("nats://127.0.0.1:4222");
    expect(redactUrl("tok@host:4222")).toBe("[redacted]@host:4222");
  });
});

describe("natsConnectOptions", () => {
  it("takes a token or user:password out of the URL, which nats.js would ignore", () => {
    const t = natsConnectOptions(natsSettings({ natsUrl: "nats://s3cret@127.0.0.1:4222" }), "x", {});
    expect(t.options.servers).toEqual(["nats://127.0.0.1:4222"]);
    expect(t.options.token).toBe("s3cret");
    expect(t.display).not.toContain("s3cret");
    const u = natsConnectOptions(
      natsSettings({ natsUrl: "nats://ann:p%40ss@h:1,nats://ann:p%40ss@k:2" }),
      "x",
      {},
    );
    expect(u.options).toMatchObject({ servers: ["nats://h:1", "nats://k:2"], user: "ann", pass: "p@ss" });
  });

  it("reads token, password and TLS files, and turns TLS on for tls:// URLs", () => {
    const ca = file("ca.pem", "CA");
    const t = natsConnectOptions(
      natsSettings({ natsTokenFile: file("nt", "tok\n"), natsCaFile: ca }),
      "x",
      {},
    );
    expect(t.options).toMatchObject({ token: "tok", tls: { ca: "CA" } });
    const p = natsConnectOptions(natsSettings({ natsUser: "ann" }), "x", { HEED_NATS_PASSWORD: "pw" });
    expect(p.options).toMatchObject({ user: "ann", pass: "pw" });
    expect(natsConnectOptions(natsSettings({ natsUrl: "tls://h:1" }), "x", {}).options.tls).toEqual({});
    expect(natsConnectOptions(natsSettings({}), "x", {}).options.tls).toBeUndefined();
  });

  it("refuses credentials set twice, half a pair, and other schemes, naming the setting", () => {
    expect(() =>
      natsConnectOptions(natsSettings({ natsUrl: "nats://t@h:1" }), "x", { HEED_NATS_TOKEN: "u" }),
    ).toThrow(/natsTokenFile: NATS credentials are set twice/);
    expect(() => natsConnectOptions(natsSettings({ natsUser: "ann" }), "x", {})).toThrow(/^natsPasswordFile/);
    expect(() => natsConnectOptions(natsSettings({ natsCertFile: file("c", "C") }), "x", {})).toThrow(
      /^natsKeyFile: needed with natsCertFile/,
    );
    expect(() => natsConnectOptions(natsSettings({ natsUrl: "http://h:1" }), "x", {})).toThrow(/^natsUrl/);
  });
});

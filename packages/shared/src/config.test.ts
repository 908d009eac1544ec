import { describe, expect, it } from "vitest";
import {
  coordinatorConfigSchema,
  envLayer,
  envNameOf,
  mergeLayers,
  parseConfig,
  workerConfigSchema,
} from "./config.js";
import { crawlSpecSchema } from "./crawl-spec.js";
import { ConfigError } from "./errors.js";
import { userAgentHeader } from "./user-agent.js";

const ua = { product: "HeedBot", contact: "ops@example.org" };

describe("configuration", () => {
  it("fills defaults and canonicalizes seeds", () => {
    const spec = parseConfig(crawlSpecSchema, { seeds: ["HTTP://Example.com"], userAgent: ua });
    expect(spec.seeds).toEqual(["http://example.com/"]);
    expect(spec.politeness.minDelayMs).toBe(1000);
    expect(spec.allowPrivateAddresses).toBe(false);
  });

  it.each([
    [{ seeds: [], userAgent: ua }, "seeds"],
    [{ seeds: ["ftp://x.org/"], userAgent: ua }, "seeds.0"],
    [
      { seeds: ["http://x.org/"], userAgent: { product: "Heed Bot", contact: "ops@example.org" } },
      "userAgent.product",
    ],
    [{ seeds: ["http://x.org/"], userAgent: { product: "HeedBot" } }, "userAgent.contact"],
    [{ seeds: ["http://x.org/"], userAgent: { product: "HeedBot", contact: "nobody" } }, "userAgent.contact"],
    [{ seeds: ["http://x.org/"], userAgent: ua, politeness: { minDelayMs: -1 } }, "politeness.minDelayMs"],
  ])("names the bad key: %j", (input, key) => {
    let caught: unknown;
    try {
      parseConfig(crawlSpecSchema, input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).key).toBe(key);
    expect((caught as ConfigError).message.split("\n")).toHaveLength(1);
  });

  it("layers defaults < file < env < flags", () => {
    const env = envLayer(workerConfigSchema, {
      HEED_CONCURRENCY: "3",
      HEED_NATS_URL: "nats://env:4222",
      HEED_ALLOW_PRIVATE_ADDRESSES: "yes",
    });
    const merged = mergeLayers({ concurrency: 9, natsUrl: "nats://file:4222", coordinator: "file:1" }, env, {
      concurrency: "5",
    });
    const config = parseConfig(workerConfigSchema, merged);
    expect(config.concurrency).toBe(5);
    expect(config.natsUrl).toBe("nats://env:4222");
    expect(config.coordinator).toBe("file:1");
    expect(config.allowPrivateAddresses).toBe(true);
    expect(config.reportBatchMax).toBe(64);
  });

  it("names each setting's environment variable by its words, a unit such as MiB being one", () => {
    expect(envNameOf("leaseTtlMs")).toBe("HEED_LEASE_TTL_MS");
    expect(envNameOf("robotsParsedMiB")).toBe("HEED_ROBOTS_PARSED_MIB");
    const env = envLayer(coordinatorConfigSchema, { HEED_ROBOTS_PARSED_MIB: "512" });
    expect(parseConfig(coordinatorConfigSchema, env).robotsParsedMiB).toBe(512);
  });

  it("rejects a boolean it cannot read instead of guessing", () => {
    expect(() => parseConfig(workerConfigSchema, { allowPrivateAddresses: "perhaps" })).toThrow(ConfigError);
  });

  it("builds an honest User-Agent with a contact", () => {
    expect(userAgentHeader({ product: "HeedBot", version: "1.2", contact: "ops@example.org" })).toBe(
      "HeedBot/1.2 (+mailto:ops@example.org)",
    );
    expect(userAgentHeader({ product: "HeedBot", version: "1.2", contact: "https://example.org/bot" })).toBe(
      "HeedBot/1.2 (+https://example.org/bot)",
    );
  });
});

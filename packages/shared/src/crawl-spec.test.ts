import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkedCrawlSpec, crawlFields, crawlSpecInput, parseCrawlSpec } from "./crawl-spec.js";
import { ConfigError } from "./errors.js";

const dir = mkdtempSync(join(tmpdir(), "heed-crawl-spec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function crawlFile(definition: unknown): string {
  const path = join(dir, `crawl-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(definition));
  return path;
}

describe("the crawl definition's fields", () => {
  it("each have one flag and a line of help, and no two share a flag or an environment variable", () => {
    const fields = crawlFields();
    expect(fields.length).toBeGreaterThan(30);
    for (const f of fields) {
      expect(f.doc, f.path).toBeDefined();
      expect(f.doc?.help.length, f.path).toBeGreaterThan(5);
    }
    const flags = fields.map((f) => f.doc?.flag.split(" ")[0]);
    expect(new Set(flags).size).toBe(flags.length);
    const envs = fields.flatMap((f) => f.doc?.env ?? []);
    expect(new Set(envs).size).toBe(envs.length);
    expect(fields.find((f) => f.path === "politeness.minDelayMs")?.default).toBe(1000);
  });
});

describe("the one merge of defaults, file, environment and flags", () => {
  const file = crawlFile({
    seeds: ["https://file.example/"],
    userAgent: { product: "FileBot", contact: "file@example.org" },
    politeness: { minDelayMs: 5000, maxConcurrencyPerHost: 2 },
    sitemaps: { enabled: true },
  });

  it("takes the file, then the operator's identity from the environment, then flags, then seeds", () => {
    const spec = parseCrawlSpec(
      crawlSpecInput({
        preset: { politeness: { minDelayMs: 1, robotsMaxAttempts: 3 } },
        file,
        env: { HEED_CONTACT: "env@example.org", HEED_MAX_PAGES: "7" },
        flags: {
          "politeness.minDelayMs": "250",
          "scope.domains": ["example.net"],
          "politeness.hostGroups": ["box=a.example.org,b.example.org"],
          "sitemaps.enabled": false,
        },
        seeds: ["https://flag.example/"],
      }),
    );
    expect(spec.seeds).toEqual(["https://flag.example/"]);
    expect(spec.userAgent).toEqual({ product: "FileBot", version: "0.1", contact: "env@example.org" });
    expect(spec.politeness).toMatchObject({
      minDelayMs: 250,
      maxConcurrencyPerHost: 2,
      robotsMaxAttempts: 3,
      hostGroups: [{ name: "box", hosts: ["a.example.org", "b.example.org"] }],
    });
    expect(spec.scope.domains).toEqual(["example.net"]);
    expect(spec.sitemaps.enabled).toBe(false);
    // Limits are the crawl's, not the environment's.
    expect(spec.maxPages).toBe(10_000);
  });

  it("fills the product token the command line offers, and keeps the file's seeds when none are given", () => {
    const spec = parseCrawlSpec(
      crawlSpecInput({
        file: crawlFile({ seeds: ["https://a.example/"] }),
        env: { HEED_CONTACT: "x@example.org" },
      }),
    );
    expect(spec.userAgent.product).toBe("HeedBot");
    expect(spec.seeds).toEqual(["https://a.example/"]);
  });

  it("names the field of the first bad value, from whichever layer it came", () => {
    const key = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        if (err instanceof ConfigError) return err.key;
        throw err;
      }
      return undefined;
    };
    expect(key(() => parseCrawlSpec(crawlSpecInput({ env: {}, seeds: ["https://a.example/"] })))).toBe(
      "userAgent.contact",
    );
    expect(
      key(() =>
        parseCrawlSpec(
          crawlSpecInput({ file, env: {}, flags: { "politeness.hostGroups": ["no-equals-sign"] } }),
        ),
      ),
    ).toBe("politeness.hostGroups.0");
    expect(
      key(() => parseCrawlSpec(crawlSpecInput({ env: {}, flags: { "userAgent.contact": "a@b.org" } }))),
    ).toBe("seeds");
  });
});

describe("checking a definition once", () => {
  it("lets a definition checked at the edge pass as it is, and checks anything else", () => {
    const spec = parseCrawlSpec({
      seeds: ["https://a.example/"],
      userAgent: { product: "A", contact: "a@b.org" },
    });
    expect(checkedCrawlSpec(spec)).toBe(spec);
    const copy = { ...spec, maxPages: 0 };
    expect(() => checkedCrawlSpec(copy)).toThrow(ConfigError);
  });
});

describe("validation at the door", () => {
  const ua = { product: "HeedBot", contact: "ops@example.org" };
  const refusal = (input: unknown) => {
    try {
      parseCrawlSpec(input);
      return undefined;
    } catch (err) {
      return err instanceof ConfigError ? err.message : String(err);
    }
  };

  it("refuses seeds that are private, loopback, link-local or metadata address literals in any spelling", () => {
    for (const seed of [
      "http://169.254.169.254/latest/meta-data/",
      "http://[::ffff:127.0.0.1]/",
      "http://0x7f.1/",
      "http://2130706433/",
      "http://10.0.0.1:8080/",
      "http://[fe80::1]/",
    ]) {
      expect(refusal({ seeds: ["https://example.org/", seed], userAgent: ua }), seed).toMatch(
        /^seeds\.1: .*allowPrivateAddresses/,
      );
    }
    expect(
      refusal({ seeds: ["http://0x7f.1/"], userAgent: ua, allowPrivateAddresses: true }),
    ).toBeUndefined();
    expect(
      refusal({ seeds: ["http://93.184.215.14/", "https://example.org/"], userAgent: ua }),
    ).toBeUndefined();
  });

  it("reads whole numbers in decimal only: hex, exponents and fractions are refused", () => {
    for (const bad of ["0x10", "1e3", "16.5", "12abc", ""]) {
      expect(refusal({ seeds: ["https://example.org/"], userAgent: ua, maxPages: bad }), bad).toMatch(
        /^maxPages: a whole number in decimal digits/,
      );
    }
    expect(parseCrawlSpec({ seeds: ["https://example.org/"], userAgent: ua, maxPages: "16" }).maxPages).toBe(
      16,
    );
  });
});

describe("the crawl's scope", () => {
  const base = {
    seeds: ["https://example.org/"],
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
  };
  const refusal = (scope: unknown): string | undefined => {
    try {
      parseCrawlSpec({ ...base, scope });
      return undefined;
    } catch (err) {
      return err instanceof ConfigError ? `${err.key} | ${err.message}` : String(err);
    }
  };

  it("refuses wildcards, public suffixes and non-domains, naming the field", () => {
    expect(refusal({ domains: ["*"] })).toMatch(/^scope\.domains\.0 \| .*.*not a domain name/);
    expect(refusal({ domains: ["*.example.org"] })).toMatch(/^scope\.domains\.0 \| .*.*no wildcards/);
    expect(refusal({ domains: ["example.org", "com"] })).toMatch(
      /^scope\.domains\.1 \| .*com is a public suffix/,
    );
    expect(refusal({ domains: ["co.uk"] })).toMatch(/public suffix/);
    expect(refusal({ domains: ["a b"] })).toMatch(/not a domain name/);
  });

  it("refuses prefixes that are not http(s) URLs with a host", () => {
    expect(refusal({ prefixes: ["file:///"] })).toMatch(
      /^scope\.prefixes\.0 \| .*an http:\/\/ or https:\/\/ prefix/,
    );
    expect(refusal({ prefixes: ["ftp://example.org/"] })).toMatch(/not ftp:/);
    expect(refusal({ prefixes: ["javascript:alert(1)"] })).toMatch(/http/);
    expect(refusal({ prefixes: ["example.org/docs"] })).toMatch(/not a URL/);
    expect(refusal({ prefixes: [`https://example.org/${"a".repeat(2100)}`] })).toMatch(/at most 2048/);
  });

  it("bounds how many entries a scope lists", () => {
    const many = Array.from({ length: 1001 }, (_, i) => `d${i}.example.org`);
    expect(refusal({ domains: many })).toMatch(/^scope\.domains \| .*/);
    expect(refusal({ prefixes: many.map((d) => `https://${d}/`) })).toMatch(/^scope\.prefixes \| .*/);
  });

  it("keeps domains (trimmed, lower-cased) and http(s) prefixes", () => {
    const spec = parseCrawlSpec({
      ...base,
      scope: {
        domains: [" Example.NET. ", "github.io.example.org"],
        prefixes: ["https://example.com/docs/"],
      },
    });
    expect(spec.scope).toEqual({
      domains: ["example.net", "github.io.example.org"],
      prefixes: ["https://example.com/docs/"],
    });
  });
});

describe("numbers out of bounds", () => {
  it("say which bound, not that they are not numbers", () => {
    const base = {
      seeds: ["https://example.org/"],
      userAgent: { product: "HeedBot", contact: "ops@example.org" },
    };
    const message = (fetch: unknown) => {
      try {
        parseCrawlSpec({ ...base, fetch });
        return "accepted";
      } catch (err) {
        return err instanceof ConfigError ? err.message : String(err);
      }
    };
    expect(message({ maxBytes: "2000000000" })).toMatch(/fetch\.maxBytes: at most 1073741824/);
    expect(message({ maxBytes: 100 })).toMatch(/fetch\.maxBytes: at least 1024/);
    expect(message({ maxBytes: "0x10" })).toMatch(/a whole number in decimal digits/);
  });
});

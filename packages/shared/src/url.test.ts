import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidUrlError } from "./errors.js";
import { canonicalizeUrl, hostKeyOf, MAX_URL_LENGTH, originOf, tryCanonicalizeUrl } from "./url.js";

describe("canonicalizeUrl", () => {
  it.each([
    ["HTTP://Example.COM/", "http://example.com/"],
    ["http://example.com:80/a", "http://example.com/a"],
    ["https://example.com:443/a", "https://example.com/a"],
    ["https://example.com:8443/a", "https://example.com:8443/a"],
    ["http://example.com", "http://example.com/"],
    ["http://example.com./x", "http://example.com/x"],
    ["http://example.com/a/./b/../c", "http://example.com/a/c"],
    ["http://example.com/a#frag", "http://example.com/a"],
    ["http://example.com/%7euser/%41", "http://example.com/~user/A"],
    ["http://example.com/a%2fb?q=%3d%2a", "http://example.com/a%2Fb?q=%3D%2A"],
    ["http://bücher.example/", "http://xn--bcher-kva.example/"],
    ["  http://example.com/ws  ", "http://example.com/ws"],
    ["http://example.com/?b=2&a=1", "http://example.com/?b=2&a=1"],
  ])("%s -> %s", (input, expected) => {
    expect(canonicalizeUrl(input)).toBe(expected);
  });

  it("resolves relative references against a base", () => {
    expect(canonicalizeUrl("../x?y#z", "http://example.com/a/b/c")).toBe("http://example.com/a/x?y");
    // A colon after the first slash is part of the path, not a scheme.
    expect(canonicalizeUrl("./a:b/c", "http://example.com/d/")).toBe("http://example.com/d/a:b/c");
    expect(canonicalizeUrl("HTTPS://Example.com/%7euser", "http://example.org/")).toBe(
      "https://example.com/~user",
    );
  });

  it.each([
    ["", "HEED_URL_EMPTY"],
    ["not a url", "HEED_URL_SYNTAX"],
    ["ftp://example.com/", "HEED_URL_SCHEME"],
    ["javascript:alert(1)", "HEED_URL_SCHEME"],
    ["mailto:a@example.com", "HEED_URL_SCHEME"],
    [" JavaScript:void(0)", "HEED_URL_SCHEME"],
    ["tel:+1-555-0100", "HEED_URL_SCHEME"],
    ["http://user:pw@example.com/", "HEED_URL_CREDENTIALS"],
    [`http://example.com/${"a".repeat(MAX_URL_LENGTH)}`, "HEED_URL_TOO_LONG"],
  ])("refuses %j with %s", (input, code) => {
    const r = tryCanonicalizeUrl(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  it("derives the politeness key and the robots origin", () => {
    expect(hostKeyOf("http://example.com:8080/a")).toBe("example.com");
    expect(originOf("http://example.com:8080/a")).toBe("http://example.com:8080");
  });

  it("is idempotent, never throws anything but InvalidUrlError, and always yields a parseable http(s) URL", () => {
    const inputs = fc.oneof(
      fc.string(),
      fc.webUrl({ withFragments: true, withQueryParameters: true }),
      fc
        .tuple(fc.constantFrom("http://", "HTTPS://", "http://a.b/"), fc.string({ unit: "binary" }))
        .map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(inputs, (input) => {
        let out: string;
        try {
          out = canonicalizeUrl(input);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidUrlError);
          return;
        }
        expect(canonicalizeUrl(out)).toBe(out);
        const parsed = new URL(out);
        expect(["http:", "https:"]).toContain(parsed.protocol);
        expect(parsed.hash).toBe("");
      }),
      { numRuns: 3000 },
    );
  });
});

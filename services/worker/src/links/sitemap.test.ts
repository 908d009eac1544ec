import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseSitemap } from "./sitemap.js";

const urlset = (locs: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${locs
    .map((l) => `<url><loc>${l}</loc><lastmod>2026-01-01</lastmod></url>`)
    .join("")}</urlset>`;

describe("parseSitemap", () => {
  it("reads the locs of a urlset, canonicalized, deduped, entities decoded", () => {
    const xml = urlset([
      "http://A.example/a?x=1&amp;y=2",
      " http://a.example/b ",
      "http://a.example/b",
      "ftp://nope/",
      "not a url",
    ]);
    expect(parseSitemap(Buffer.from(xml), 100, 1e6)).toEqual({
      locs: ["http://a.example/a?x=1&y=2", "http://a.example/b"],
      isIndex: false,
      capped: false,
    });
  });

  it("recognises a sitemap index, with or without a namespace prefix", () => {
    const xml = `<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:sitemap><sm:loc>http://a.example/s1.xml.gz</sm:loc></sm:sitemap></sm:sitemapindex>`;
    expect(parseSitemap(Buffer.from(xml), 100, 1e6)).toMatchObject({
      locs: ["http://a.example/s1.xml.gz"],
      isIndex: true,
    });
  });

  it("inflates gzipped sitemaps, but never past the byte cap", () => {
    const gz = gzipSync(urlset(["http://a.example/1", "http://a.example/2"]));
    expect(parseSitemap(gz, 100, 1e6).locs).toHaveLength(2);
    const bomb = gzipSync(Buffer.alloc(5_000_000, 32));
    expect(() => parseSitemap(bomb, 100, 1_000_000)).toThrow(RangeError);
  });

  it("caps the number of locs and says so", () => {
    const xml = urlset(Array.from({ length: 30 }, (_, i) => `http://a.example/${i}`));
    const r = parseSitemap(Buffer.from(xml), 10, 1e6);
    expect(r.locs).toHaveLength(10);
    expect(r.capped).toBe(true);
  });

  it("survives broken XML", () => {
    expect(
      parseSitemap(Buffer.from("<urlset><url><loc>http://a.example/x</loc><url><loc>"), 10, 1e6).locs,
    ).toEqual(["http://a.example/x"]);
  });
});

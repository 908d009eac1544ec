import { describe, expect, it } from "vitest";
import { directivesFromHeader } from "./directives.js";
import { decodeText, extractLinks } from "./extract.js";

describe("extractLinks", () => {
  const page = "http://a.example/dir/page.html";

  it("resolves relative links, drops non-http schemes and fragments, dedupes", () => {
    const html = `<a href="x">1</a><a href="/y#f">2</a><a href="x">dup</a><a href="mailto:a@b.c">m</a>
      <a href="javascript:void(0)">j</a><area href="http://b.example/z"><iframe src="https://c.example/f"></iframe><a>no href</a>`;
    expect(extractLinks(html, page, "HeedBot", 100).links).toEqual([
      "http://a.example/dir/x",
      "http://a.example/y",
      "http://b.example/z",
      "https://c.example/f",
    ]);
  });

  it("honours the first <base href>", () => {
    const html = `<head><base href="http://cdn.example/base/"><base href="http://ignored.example/"></head><a href="p">p</a>`;
    expect(extractLinks(html, page, "HeedBot", 100).links).toEqual(["http://cdn.example/base/p"]);
  });

  it("follows nothing from a nofollow page and records noindex", () => {
    const html = `<meta name="robots" content="noindex, nofollow"><a href="/secret">s</a>`;
    const r = extractLinks(html, page, "HeedBot", 100);
    expect(r.links).toEqual([]);
    expect(r.directives).toEqual({ nofollow: true, noindex: true, noarchive: false });
  });

  it("honours meta directives addressed to its own product token only", () => {
    expect(
      extractLinks(`<meta name="heedbot" content="nofollow"><a href="/x">x</a>`, page, "HeedBot", 100).links,
    ).toEqual([]);
    expect(
      extractLinks(`<meta name="otherbot" content="nofollow"><a href="/x">x</a>`, page, "HeedBot", 100).links,
    ).toHaveLength(1);
  });

  it("skips rel=nofollow links", () => {
    expect(
      extractLinks(`<a rel="external nofollow" href="/x">x</a><a href="/y">y</a>`, page, "HeedBot", 100)
        .links,
    ).toEqual(["http://a.example/y"]);
  });

  it("caps the number of links and says so", () => {
    const html = Array.from({ length: 50 }, (_, i) => `<a href="/p${i}">${i}</a>`).join("");
    const r = extractLinks(html, page, "HeedBot", 10);
    expect(r.links).toHaveLength(10);
    expect(r.capped).toBe(true);
  });

  it("survives malformed HTML", () => {
    const html = `<a href="/ok"<<div><a href='/two'>unclosed <script>var a = "<a href='/in-script'>";</script><a href="/three">`;
    const links = extractLinks(html, page, "HeedBot", 100).links;
    expect(links).toContain("http://a.example/three");
    expect(links).not.toContain("http://a.example/in-script");
  });

  it("decodes by the declared charset, and invalid UTF-8 without throwing", () => {
    expect(decodeText(Buffer.from([0xe9]), "text/html; charset=iso-8859-1")).toBe("é");
    expect(decodeText(Buffer.from([0xff, 0x41]), "text/html")).toBe("\ufffdA");
  });
});

describe("X-Robots-Tag", () => {
  it("applies general directives and those addressed to this crawler only", () => {
    expect(directivesFromHeader(["noindex"], "HeedBot").noindex).toBe(true);
    expect(directivesFromHeader(["otherbot: nofollow"], "HeedBot").nofollow).toBe(false);
    expect(directivesFromHeader(["HeedBot: none"], "HeedBot")).toEqual({
      nofollow: true,
      noindex: true,
      noarchive: false,
    });
  });
});

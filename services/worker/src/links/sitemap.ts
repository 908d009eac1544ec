import { gunzipSync } from "node:zlib";
import { tryCanonicalizeUrl } from "@heed/shared";
import { Parser } from "htmlparser2";

export interface SitemapLocs {
  locs: string[];
  /** A <sitemapindex>: its locs are further sitemaps. */
  isIndex: boolean;
  capped: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Reads an XML sitemap or sitemap index (sitemaps.org 0.9), gzipped or not:
 * the <loc> of each <url> or <sitemap>, canonicalized and deduped, at most
 * `maxLocs`, and never more than `maxBytes` of XML after decompression.
 */
export function parseSitemap(body: Buffer, maxLocs: number, maxBytes: number): SitemapLocs {
  let xml = body;
  if (body[0] === GZIP_MAGIC[0] && body[1] === GZIP_MAGIC[1]) {
    // A .xml.gz sitemap is gzip as content, not as transfer encoding; cap what it may inflate to.
    xml = gunzipSync(body, { maxOutputLength: maxBytes });
  }
  const locs: string[] = [];
  const seen = new Set<string>();
  let isIndex = false;
  let inLoc = false;
  let text = "";
  let capped = false;
  const parser = new Parser(
    {
      onopentag(name) {
        const local = name.replace(/^.*:/, "");
        if (local === "sitemapindex") isIndex = true;
        if (local === "loc") {
          inLoc = true;
          text = "";
        }
      },
      ontext(t) {
        if (inLoc) text += t;
      },
      onclosetag(name) {
        if (name.replace(/^.*:/, "") !== "loc" || !inLoc) return;
        inLoc = false;
        const canon = tryCanonicalizeUrl(text.trim());
        if (!canon.ok || seen.has(canon.url)) return;
        if (locs.length >= maxLocs) {
          capped = true;
          return;
        }
        seen.add(canon.url);
        locs.push(canon.url);
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  parser.write(xml.toString("utf8"));
  parser.end();
  return { locs, isIndex, capped };
}

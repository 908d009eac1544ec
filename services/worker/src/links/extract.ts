import { TextDecoder } from "node:util";
import { tryCanonicalizeUrl } from "@heed/shared";
import { Parser } from "htmlparser2";
import { applyDirectiveList, type Directives, NO_DIRECTIVES } from "./directives.js";

export interface PageLinks {
  links: string[];
  directives: Directives;
  /** More links were found than the cap allowed. */
  capped: boolean;
  /** `<meta name="tdm-reservation" content="1">` (W3C TDMRep). */
  tdmReserved: boolean;
}

const LINK_ATTR: Record<string, string> = { a: "href", area: "href", iframe: "src", frame: "src" };

/**
 * Extracts the crawlable links of an HTML page with a real, forgiving HTML
 * parser: resolves against the first `<base href>`, drops what is not http(s),
 * dedupes, honours `<meta name="robots">` and `<meta name="{product}">`, and
 * stops at `maxLinks`.
 */
export function extractLinks(
  html: string,
  pageUrl: string,
  productToken: string,
  maxLinks: number,
): PageLinks {
  let base = pageUrl;
  let baseSeen = false;
  const seen = new Set<string>();
  const links: string[] = [];
  let capped = false;
  let tdmReserved = false;
  const directives = { ...NO_DIRECTIVES };
  const me = productToken.toLowerCase();
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === "base" && !baseSeen && attrs.href !== undefined) {
          baseSeen = true;
          try {
            base = new URL(attrs.href, pageUrl).href;
          } catch {
            // An unusable <base> is ignored, as browsers do.
          }
          return;
        }
        if (name === "meta") {
          const metaName = attrs.name?.toLowerCase();
          if ((metaName === "robots" || metaName === me) && attrs.content !== undefined) {
            applyDirectiveList(directives, attrs.content);
          }
          if (metaName === "tdm-reservation" && attrs.content?.trim() === "1") tdmReserved = true;
          return;
        }
        const attr = LINK_ATTR[name];
        if (attr === undefined) return;
        const href = attrs[attr];
        if (href === undefined || href === "") return;
        if (name === "a" && /(^|\s)nofollow(\s|$)/i.test(attrs.rel ?? "")) return;
        const canon = tryCanonicalizeUrl(href, base);
        if (!canon.ok || seen.has(canon.url)) return;
        if (links.length >= maxLinks) {
          capped = true;
          return;
        }
        seen.add(canon.url);
        links.push(canon.url);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return { links: directives.nofollow ? [] : links, directives, capped, tdmReserved };
}

/** The charset named in a Content-Type header, if any. */
export function charsetOf(contentType: string): string | undefined {
  const m = /charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return m?.[1];
}

// One decoder per charset, reused: decode() without `stream` keeps no state between calls, and a
// new TextDecoder per page cost as much as decoding a small page. Bounded: charsets come from servers.
const decoders = new Map<string, TextDecoder>();
const DECODERS_MAX = 64;

function decoderFor(charset: string): TextDecoder {
  const key = charset.toLowerCase();
  let decoder = decoders.get(key);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(key);
    } catch {
      // An unknown charset is read as UTF-8.
      decoder = key === "utf-8" ? new TextDecoder("utf-8") : decoderFor("utf-8");
    }
    if (decoders.size >= DECODERS_MAX) decoders.clear();
    decoders.set(key, decoder);
  }
  return decoder;
}

export function decodeText(bytes: Uint8Array, contentType: string): string {
  return decoderFor(charsetOf(contentType) ?? "utf-8").decode(bytes);
}

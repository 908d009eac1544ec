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

export function decodeText(bytes: Uint8Array, contentType: string): string {
  const charset = charsetOf(contentType) ?? "utf-8";
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder("utf-8").decode(bytes);
  }
}

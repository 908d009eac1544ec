/**
 * The Signature Agent Card (draft-meunier-webbotauth-registry-04) published
 * beside the key directory: who operates this Heed deployment, how to reach
 * them, what the crawls are for, and the request rates Heed's politeness
 * actually enforces, taken from the crawl definitions rather than promised by hand.
 */
import type { CrawlSpec } from "../crawl-spec.js";
import { userAgentHeader } from "../user-agent.js";

export const AGENT_CARD_PATH = "/.well-known/signature-agent-card";

export interface SignatureAgentCard {
  client_id: string;
  client_name: string;
  client_uri?: string;
  contacts: string[];
  jwks_uri: string;
  web_bot_auth: {
    "expected-user-agent": string[];
    "rfc9309-product-token": string;
    "rfc9309-compliance": true;
    trigger: "crawler";
    purpose: string;
    "rate-control": string;
    "rate-expectation": string;
    "known-urls": string[];
  };
}

type CardCrawl = Pick<CrawlSpec, "userAgent" | "politeness" | "purposes">;

function contactUri(contact: string): string {
  return /^https?:\/\//.test(contact) ? contact : `mailto:${contact}`;
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];

/**
 * @param directoryUrl where the key directory is published (the Signature-Agent value)
 * @param crawls the crawls that sign; the card describes the least strict of them
 */
export function signatureAgentCard(directoryUrl: string, crawls: CardCrawl[]): SignatureAgentCard {
  const products = unique(crawls.map((c) => c.userAgent.product));
  const contacts = unique(crawls.map((c) => contactUri(c.userAgent.contact)));
  const websites = contacts.filter((c) => c.startsWith("http"));
  const concurrency = Math.max(1, ...crawls.map((c) => c.politeness.maxConcurrencyPerHost));
  const minDelayMs = crawls.length > 0 ? Math.min(...crawls.map((c) => c.politeness.minDelayMs)) : 1000;
  const purposes = unique(crawls.flatMap((c) => c.purposes));
  return {
    client_id: new URL(AGENT_CARD_PATH, directoryUrl).href,
    client_name: products.length > 0 ? products.join(", ") : "Heed",
    ...(websites[0] !== undefined ? { client_uri: websites[0] } : {}),
    contacts,
    jwks_uri: directoryUrl,
    web_bot_auth: {
      "expected-user-agent": unique(crawls.map((c) => userAgentHeader(c.userAgent).replace(/ \(.*$/, ""))),
      "rfc9309-product-token": products[0] ?? "",
      "rfc9309-compliance": true,
      trigger: "crawler",
      purpose: purposes.length > 0 ? purposes.join(", ") : "archive",
      "rate-control":
        "robots.txt (RFC 9309) including Crawl-delay; Retry-After on 429 and 503; exponential back-off on 5xx and errors; hosts that keep failing are paused",
      "rate-expectation": `per host: at most ${concurrency} request${concurrency === 1 ? "" : "s"} at a time, at least ${minDelayMs} ms between one response and the next request, longer when the site is slow or asks`,
      "known-urls": ["/robots.txt", "/.well-known/tdmrep.json"],
    },
  };
}

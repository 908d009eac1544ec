import { type CrawlSpec, type CrawlSpecInput, type ParsedCrawlSpec, parseCrawlSpec } from "./crawl-spec.js";
import { ConfigError } from "./errors.js";
import * as proto from "./proto.js";

/**
 * The crawl definition on the admin API, both ways: what heedctl sends and
 * what the coordinator reads back (crawl-wire.test.ts fails when the schema
 * grows a field these miss).
 */

type PolitenessKey = CrawlSpec["politeness"]["key"];

const POLITENESS_KEYS: Record<PolitenessKey, proto.PolitenessKey> = {
  host: proto.PolitenessKey.POLITENESS_KEY_HOST,
  domain: proto.PolitenessKey.POLITENESS_KEY_DOMAIN,
  ip: proto.PolitenessKey.POLITENESS_KEY_IP,
};

export function politenessKeyFromProto(key: proto.PolitenessKey): PolitenessKey | undefined {
  return (Object.keys(POLITENESS_KEYS) as PolitenessKey[]).find((k) => POLITENESS_KEYS[k] === key);
}

/** `userAgent.contact` -> `user_agent.contact`, `seeds.0` -> `seeds[0]`. */
export function protoFieldPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else {
      const snake = String(part)
        .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
        .toLowerCase();
      out += out === "" ? snake : `.${snake}`;
    }
  }
  return out;
}

/** A checked definition, field for field, with every default filled in. */
export function crawlSpecToProto(spec: ParsedCrawlSpec): proto.CrawlDefinition {
  const p = spec.politeness;
  const f = spec.fetch;
  const b = spec.budgets;
  const m = spec.sitemaps;
  return {
    id: spec.id ?? "",
    seeds: spec.seeds,
    scope: { domains: spec.scope.domains, prefixes: spec.scope.prefixes },
    maxDepth: spec.maxDepth,
    maxPages: spec.maxPages,
    userAgent: { ...spec.userAgent },
    politeness: {
      minDelayMs: p.minDelayMs,
      maxConcurrencyPerHost: p.maxConcurrencyPerHost,
      key: POLITENESS_KEYS[p.key],
      hostGroups: p.hostGroups.map((g) => ({ name: g.name, hosts: g.hosts })),
      delayFactor: p.delayFactor,
      maxAdaptiveDelayMs: p.maxAdaptiveDelayMs,
      maxCrawlDelayMs: p.maxCrawlDelayMs,
      retryAfterCeilingMs: p.retryAfterCeilingMs,
      errorBackoffBaseMs: p.errorBackoffBaseMs,
      errorBackoffMaxMs: p.errorBackoffMaxMs,
      breakerThreshold: p.breakerThreshold,
      parkMs: p.parkMs,
      robotsCacheMs: p.robotsCacheMs,
      robotsRetryBaseMs: p.robotsRetryBaseMs,
      robotsRetryMaxMs: p.robotsRetryMaxMs,
      robotsMaxAttempts: p.robotsMaxAttempts,
      robotsReadings: [...p.robotsReadings],
    },
    budgets: {
      maxBytes: b.maxBytes,
      maxPagesPerHost: b.maxPagesPerHost,
      maxBytesPerHost: b.maxBytesPerHost,
      pagesPerWindow: b.pagesPerWindow,
      windowMs: b.windowMs,
    },
    sitemaps: {
      enabled: m.enabled,
      maxPerHost: m.maxPerHost,
      maxUrlsPerSitemap: m.maxUrlsPerSitemap,
      maxBytes: m.maxBytes,
    },
    fetch: {
      timeoutMs: f.timeoutMs,
      maxBytes: f.maxBytes,
      maxOutlinks: f.maxOutlinks,
      maxAttempts: f.maxAttempts,
      retryBaseMs: f.retryBaseMs,
      retryMaxMs: f.retryMaxMs,
    },
    honourTdmReservation: spec.honourTdmReservation,
    // Definitions stored before these fields existed lack them.
    purposes: spec.purposes ?? ["archive"],
    signRequests: spec.signRequests ?? false,
    dedup: {
      withinCrawl: spec.dedup?.withinCrawl ?? true,
      fromCrawls: spec.dedup?.fromCrawls ?? [],
    },
    allowPrivateAddresses: spec.allowPrivateAddresses,
    recrawl: {
      of: spec.recrawl?.of ?? "",
      ...(spec.recrawl?.everyDays !== undefined ? { everyDays: spec.recrawl.everyDays } : {}),
    },
  };
}

/**
 * A definition from the wire as the schema's input, unchecked. Unset fields
 * stay undefined so the schema's defaults apply.
 */
export function crawlInputFromProto(def: proto.CrawlDefinition | undefined): CrawlSpecInput {
  if (def === undefined) throw new ConfigError("definition", "required");
  const p = def.politeness;
  const f = def.fetch;
  const b = def.budgets;
  const m = def.sitemaps;
  return {
    ...(def.id !== "" ? { id: def.id } : {}),
    seeds: def.seeds,
    scope: { domains: def.scope?.domains ?? [], prefixes: def.scope?.prefixes ?? [] },
    maxDepth: def.maxDepth,
    maxPages: def.maxPages,
    userAgent: {
      product: def.userAgent?.product ?? "",
      // Unset (empty) takes the default version.
      version: def.userAgent?.version || undefined,
      contact: def.userAgent?.contact ?? "",
    },
    politeness: {
      minDelayMs: p?.minDelayMs,
      maxConcurrencyPerHost: p?.maxConcurrencyPerHost,
      key: p !== undefined ? politenessKeyFromProto(p.key) : undefined,
      hostGroups: p?.hostGroups.map((g) => ({ name: g.name, hosts: g.hosts })),
      delayFactor: p?.delayFactor,
      maxAdaptiveDelayMs: p?.maxAdaptiveDelayMs,
      maxCrawlDelayMs: p?.maxCrawlDelayMs,
      retryAfterCeilingMs: p?.retryAfterCeilingMs,
      errorBackoffBaseMs: p?.errorBackoffBaseMs,
      errorBackoffMaxMs: p?.errorBackoffMaxMs,
      breakerThreshold: p?.breakerThreshold,
      parkMs: p?.parkMs,
      robotsCacheMs: p?.robotsCacheMs,
      robotsRetryBaseMs: p?.robotsRetryBaseMs,
      robotsRetryMaxMs: p?.robotsRetryMaxMs,
      robotsMaxAttempts: p?.robotsMaxAttempts,
      // Empty on the wire: every reading (the schema's default); the schema checks each name.
      robotsReadings: p !== undefined && p.robotsReadings.length > 0 ? p.robotsReadings : undefined,
    },
    budgets: {
      maxBytes: b?.maxBytes,
      maxPagesPerHost: b?.maxPagesPerHost,
      maxBytesPerHost: b?.maxBytesPerHost,
      pagesPerWindow: b?.pagesPerWindow,
      windowMs: b?.windowMs,
    },
    sitemaps: {
      enabled: m?.enabled,
      maxPerHost: m?.maxPerHost,
      maxUrlsPerSitemap: m?.maxUrlsPerSitemap,
      maxBytes: m?.maxBytes,
    },
    fetch: {
      timeoutMs: f?.timeoutMs,
      maxBytes: f?.maxBytes,
      maxOutlinks: f?.maxOutlinks,
      maxAttempts: f?.maxAttempts,
      retryBaseMs: f?.retryBaseMs,
      retryMaxMs: f?.retryMaxMs,
    },
    honourTdmReservation: def.honourTdmReservation,
    ...(def.purposes.length > 0 ? { purposes: def.purposes } : {}),
    signRequests: def.signRequests,
    dedup: { withinCrawl: def.dedup?.withinCrawl, fromCrawls: def.dedup?.fromCrawls ?? [] },
    allowPrivateAddresses: def.allowPrivateAddresses,
    recrawl: {
      of: def.recrawl?.of || undefined,
      everyDays: def.recrawl?.everyDays,
    },
  };
}

/**
 * A definition from the wire, checked once: every problem is a ConfigError
 * keyed by the request field in proto spelling (`definition.user_agent.contact`).
 */
export function crawlSpecFromProto(def: proto.CrawlDefinition | undefined): ParsedCrawlSpec {
  return parseCrawlSpec(crawlInputFromProto(def), (path) => protoFieldPath(path, "definition"));
}

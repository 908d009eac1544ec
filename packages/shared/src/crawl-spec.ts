import { z } from "zod";
import { bool, int, jsonFileLayer, listOf } from "./config.js";
import { ConfigError, errorMessage } from "./errors.js";
import { blockedLiteralHost } from "./ip-guard.js";
import { ROBOTS_READINGS } from "./robots.js";
import { canonicalizeUrl, isPublicSuffix } from "./url.js";
import { isContact, PRODUCT_TOKEN } from "./user-agent.js";

/**
 * The crawl definition: its schema, the documentation and command-line flag
 * of every field, and the one merge of defaults, file, environment and flags
 * that `heed crawl` and `heedctl crawl create` share.
 */

/** How a field is set from the command line and how it is documented. */
export interface CrawlFieldDoc {
  /** As commander spells it: `--min-delay-ms <ms>`; `[seeds...]` for the command's arguments. */
  flag: string;
  /** One line, for --help and docs/configuration.md. */
  help: string;
  /** Also read from this environment variable: the operator's identity, not per-crawl limits. */
  env?: string;
  /** Filled in by the command line when nothing else sets it. */
  cliDefault?: string;
  /** A flag value that is not the field's own shape (`name=host,host` for a host group). */
  fromFlag?: (value: string) => unknown;
}

const fields = z.registry<CrawlFieldDoc>();
function doc<T extends z.ZodType>(schema: T, meta: CrawlFieldDoc): T {
  fields.add(schema as z.ZodType, meta);
  return schema;
}

const canonicalSeed = z.string().transform((s, ctx) => {
  try {
    return canonicalizeUrl(s);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: errorMessage(err) });
    return z.NEVER;
  }
});

/** Purposes a crawl may declare; see aipref/purposes.ts for how each maps onto the AI Preferences vocabulary. */
export const CRAWL_PURPOSES = ["archive", "search", "ai-training", "ai-use"] as const;
export type CrawlPurpose = (typeof CRAWL_PURPOSES)[number];

const hostGroupSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "lower-case letters, digits, '.', '_', '-'"),
  hosts: z.array(z.string().min(1)).min(1),
});

/** `box=a.example.org,b.example.org` -> a host group; anything else is left for the schema to refuse. */
function hostGroupFromFlag(value: string): unknown {
  const eq = value.indexOf("=");
  if (eq < 0) return value;
  return {
    name: value.slice(0, eq),
    hosts: value
      .slice(eq + 1)
      .split(",")
      .filter((h) => h !== ""),
  };
}

export const userAgentSchema = z.object({
  product: doc(z.string().regex(PRODUCT_TOKEN, "a product token of letters, '_' and '-' (RFC 9309)"), {
    flag: "--product <token>",
    help: "product token in the User-Agent, matched against robots.txt groups",
    env: "HEED_PRODUCT",
    cliDefault: "HeedBot",
  }),
  version: doc(
    z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_', '-'")
      .default("0.1"),
    { flag: "--ua-version <version>", help: "version in the User-Agent", env: "HEED_UA_VERSION" },
  ),
  contact: doc(
    z.string().refine(isContact, "an e-mail address or an http(s) URL where site owners can reach you"),
    {
      flag: "--contact <email-or-url>",
      help: "how site owners reach you (required; an e-mail address is also sent as From)",
      env: "HEED_CONTACT",
    },
  ),
});

/** Most domains and prefixes one crawl's scope lists: each URL discovered is checked against all of them. */
export const MAX_SCOPE_ENTRIES = 1000;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A domain to add to the scope: a DNS name (IDNs as xn--), never a wildcard or a public suffix. */
const scopeDomain = z
  .string()
  .transform((d) =>
    d
      .trim()
      .toLowerCase()
      .replace(/^\.+|\.+$/g, ""),
  )
  .superRefine((d, ctx) => {
    if (!DNS_NAME.test(d)) {
      ctx.addIssue({
        code: "custom",
        message: `not a domain name: ${JSON.stringify(d)} (letters, digits, '-' and '.'; no wildcards; IDNs as xn--)`,
      });
      return;
    }
    if (isPublicSuffix(d))
      ctx.addIssue({
        code: "custom",
        message: `${d} is a public suffix: it would put every site under it in scope`,
      });
  });

/** A URL prefix to add to the scope: http(s) with a host, as crawled URLs are. */
const scopePrefix = z
  .string()
  .max(2048, "at most 2048 characters")
  .superRefine((p, ctx) => {
    let url: URL;
    try {
      url = new URL(p);
    } catch {
      ctx.addIssue({ code: "custom", message: `not a URL: ${JSON.stringify(p)}` });
      return;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      ctx.addIssue({ code: "custom", message: `an http:// or https:// prefix, not ${url.protocol}//` });
    else if (url.hostname === "")
      ctx.addIssue({ code: "custom", message: "a prefix with a host (https://example.org/path)" });
  });

// `.prefault({})` runs an absent section through its schema, so each default is written once.
export const scopeSchema = z
  .object({
    domains: doc(listOf(scopeDomain).pipe(z.array(z.string()).max(MAX_SCOPE_ENTRIES)).default([]), {
      flag: "--scope-domain <domain...>",
      help: `also crawl these domains and their subdomains (the seeds' hosts always are; at most ${MAX_SCOPE_ENTRIES}, no public suffixes)`,
    }),
    prefixes: doc(listOf(scopePrefix).pipe(z.array(z.string()).max(MAX_SCOPE_ENTRIES)).default([]), {
      flag: "--scope-prefix <prefix...>",
      help: `also crawl URLs starting with these http(s) prefixes (at most ${MAX_SCOPE_ENTRIES})`,
    }),
  })
  .prefault({});

export const politenessSchema = z
  .object({
    minDelayMs: doc(int(0).default(1000), {
      flag: "--min-delay-ms <ms>",
      help: "gap between the end of one fetch and the start of the next on a host (robots.txt can only lengthen it)",
    }),
    maxConcurrencyPerHost: doc(int(1, 64).default(1), {
      flag: "--max-concurrency-per-host <n>",
      help: "fetches in flight per host",
    }),
    key: doc(z.enum(["host", "domain", "ip"]).default("host"), {
      flag: "--politeness-key <key>",
      help:
        "host; domain: also space all hosts of one registrable domain; ip: all hosts served from one address " +
        "(a request counts against every key it falls under)",
    }),
    hostGroups: doc(z.array(hostGroupSchema).default([]), {
      flag: "--host-group <name=host,host...>",
      help: "hosts known to share one server: they share one delay and concurrency budget, fleet-wide",
      fromFlag: hostGroupFromFlag,
    }),
    delayFactor: doc(z.coerce.number().min(0).max(100).default(2), {
      flag: "--delay-factor <x>",
      help: "adaptive delay: this many times the last fetch's duration (0: off)",
    }),
    maxAdaptiveDelayMs: doc(int(0).default(30_000), {
      flag: "--max-adaptive-delay-ms <ms>",
      help: "longest adaptive delay",
    }),
    maxCrawlDelayMs: doc(int(0).default(120_000), {
      flag: "--max-crawl-delay-ms <ms>",
      help: "a robots.txt Crawl-delay above this is not crawled faster: the host is skipped and reported",
    }),
    retryAfterCeilingMs: doc(int(0).default(24 * 3600_000), {
      flag: "--retry-after-ceiling-ms <ms>",
      help: "Retry-After is honoured up to this; beyond it the host is parked and reported",
    }),
    errorBackoffBaseMs: doc(int(0).default(60_000), {
      flag: "--error-backoff-base-ms <ms>",
      help: "back-off after 429/5xx/network errors without Retry-After; doubles per error, with jitter",
    }),
    errorBackoffMaxMs: doc(int(0).default(24 * 3600_000), {
      flag: "--error-backoff-max-ms <ms>",
      help: "longest error back-off",
    }),
    breakerThreshold: doc(int(1, 1000).default(10), {
      flag: "--breaker-threshold <n>",
      help: "consecutive failures that park a host (circuit breaker)",
    }),
    parkMs: doc(int(1000).default(24 * 3600_000), {
      flag: "--park-ms <ms>",
      help: "how long a host stays parked",
    }),
    robotsCacheMs: doc(int(1000, 24 * 3600_000).default(24 * 3600_000), {
      flag: "--robots-cache-ms <ms>",
      help: "how long a robots.txt is used before it is fetched again",
    }),
    robotsRetryBaseMs: doc(int(10).default(60_000), {
      flag: "--robots-retry-base-ms <ms>",
      help: "first wait before asking an unreachable robots.txt again; doubles per attempt",
    }),
    robotsRetryMaxMs: doc(int(10).default(3600_000), {
      flag: "--robots-retry-max-ms <ms>",
      help: "longest wait between robots.txt attempts",
    }),
    robotsMaxAttempts: doc(int(1, 100).default(5), {
      flag: "--robots-max-attempts <n>",
      help: "unreachable robots.txt answers before the host's queued URLs are given up",
    }),
    // Leaving a reading out is the operator's explicit choice, kept with the crawl.
    robotsReadings: doc(
      listOf(z.enum(ROBOTS_READINGS))
        .pipe(
          z
            .array(z.enum(ROBOTS_READINGS))
            .min(1)
            .refine((r) => new Set(r).size === r.length, "each reading once"),
        )
        .default([...ROBOTS_READINGS]),
      {
        flag: "--robots-reading <reading...>",
        help:
          `how robots.txt is read (${ROBOTS_READINGS.join(", ")}): a URL is fetched only if every reading ` +
          "allows it, and the longest Crawl-delay any of them finds is kept",
      },
    ),
  })
  .prefault({});

export const budgetSchema = z
  .object({
    maxBytes: doc(int(0).default(0), {
      flag: "--max-crawl-bytes <n>",
      help: "body bytes the crawl may download in all (0: no limit)",
    }),
    maxPagesPerHost: doc(int(0).default(0), {
      flag: "--max-pages-per-host <n>",
      help: "page fetches per host within this crawl (0: no limit)",
    }),
    maxBytesPerHost: doc(int(0).default(0), {
      flag: "--max-bytes-per-host <n>",
      help: "body bytes per host within this crawl (0: no limit)",
    }),
    pagesPerWindow: doc(int(0).default(0), {
      flag: "--pages-per-window <n>",
      help: "at most this many pages per host in any window of --window-ms (0: no limit); the rest wait",
    }),
    windowMs: doc(int(1000).default(3600_000), {
      flag: "--window-ms <ms>",
      help: "the window of --pages-per-window",
    }),
  })
  .prefault({});

export const sitemapSchema = z
  .object({
    enabled: doc(bool.default(false), {
      flag: "--sitemaps",
      help: "fetch the sitemaps robots.txt lists (XML, sitemap indexes, gzip) and queue their URLs",
    }),
    maxPerHost: doc(int(1, 10_000).default(20), {
      flag: "--sitemaps-per-host <n>",
      help: "sitemap documents read per host, indexes and children together",
    }),
    maxUrlsPerSitemap: doc(int(1, 50_000).default(50_000), {
      flag: "--sitemap-max-urls <n>",
      help: "URLs taken from one sitemap (the protocol's own limit is 50 000)",
    }),
    maxBytes: doc(int(1024, 100 * 1024 * 1024).default(50 * 1024 * 1024), {
      flag: "--sitemap-max-bytes <n>",
      help: "largest sitemap read, after decompression (the protocol's limit is 50 MiB)",
    }),
  })
  .prefault({});

const crawlIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and '-', at most 63");

export const dedupSchema = z
  .object({
    withinCrawl: doc(bool.default(true), {
      flag: "--dedup",
      help:
        "write a payload the crawl already holds as a revisit record (identical-payload-digest) pointing at " +
        "the first capture, instead of storing it again (--no-dedup: store every payload)",
    }),
    fromCrawls: doc(
      listOf(crawlIdSchema)
        .pipe(z.array(crawlIdSchema).refine((r) => new Set(r).size === r.length, "each crawl once"))
        .default([]),
      {
        flag: "--dedup-from-crawl <id...>",
        help:
          "earlier crawls whose captures count too: a payload one of them holds becomes a revisit of that " +
          "capture (replaying it needs that crawl's WARC files)",
      },
    ),
  })
  .prefault({});

export const fetchSchema = z
  .object({
    timeoutMs: doc(int(100, 600_000).default(30_000), {
      flag: "--timeout-ms <ms>",
      help: "per-fetch timeout",
    }),
    // At most 1 GiB: a page larger than that is not a page, and a worker holds the body in memory.
    maxBytes: doc(int(1024, 1024 ** 3).default(10 * 1024 * 1024), {
      flag: "--max-bytes <n>",
      help: "largest body kept per page, at most 1 GiB (the rest is cut off and the page marked truncated)",
    }),
    maxOutlinks: doc(int(0).default(5000), { flag: "--max-outlinks <n>", help: "links kept per page" }),
    maxAttempts: doc(int(1, 20).default(3), {
      flag: "--max-attempts <n>",
      help: "fetches of one URL before it is given up as failed",
    }),
    retryBaseMs: doc(int(10).default(30_000), {
      flag: "--retry-base-ms <ms>",
      help: "first wait before a URL is fetched again; doubles per attempt",
    }),
    retryMaxMs: doc(int(10).default(3600_000), {
      flag: "--retry-max-ms <ms>",
      help: "longest wait between attempts at one URL",
    }),
  })
  .prefault({});

export const recrawlSchema = z
  .object({
    of: doc(crawlIdSchema.optional(), {
      flag: "--recrawl-of <crawl-id>",
      help:
        "crawl again the pages an earlier crawl fetched (their depth, its scope), asking If-None-Match/" +
        "If-Modified-Since; a 304 is kept as a revisit",
    }),
    everyDays: doc(int(1, 3650).optional(), {
      flag: "--recrawl-every-days <n>",
      help: "the coordinator starts a recrawl of this crawl this many days after it finished, and so on",
    }),
  })
  .prefault({});

export const crawlSpecSchema = z
  .object({
    id: doc(crawlIdSchema.optional(), {
      flag: "--id <id>",
      help: "name for the crawl (default: generated); the same id finds the same crawl, so a retry or a rerun is safe",
    }),
    // At least one, unless the crawl is a recrawl (checked below).
    seeds: doc(listOf(canonicalSeed).pipe(z.array(z.string())), {
      flag: "[seeds...]",
      help: "URLs to start from (on the command line they replace the crawl file's); a recrawl needs none",
    }),
    scope: scopeSchema,
    maxDepth: doc(int(0, 1000).default(5), { flag: "--max-depth <n>", help: "links to follow from a seed" }),
    maxPages: doc(int(1).default(10_000), {
      flag: "--max-pages <n>",
      help: "page fetches the crawl may make in all (robots.txt fetches not counted)",
    }),
    userAgent: userAgentSchema,
    politeness: politenessSchema,
    budgets: budgetSchema,
    sitemaps: sitemapSchema,
    honourTdmReservation: doc(bool.default(false), {
      flag: "--honour-tdm-reservation",
      help:
        "honour the W3C TDM Reservation Protocol as an opt-out: read each origin's /.well-known/tdmrep.json, " +
        "skip what it reserves, stop at pages that say tdm-reservation: 1",
    }),
    purposes: doc(
      listOf(z.enum(CRAWL_PURPOSES))
        .pipe(z.array(z.enum(CRAWL_PURPOSES)).min(1))
        .default(["archive"]),
      {
        flag: "--purpose <purpose...>",
        help:
          `what the captures are for (${CRAWL_PURPOSES.join(", ")}); sites' AI-use preferences ` +
          "(IETF AI Preferences: robots.txt and Content-Usage) are checked against these",
      },
    ),
    signRequests: doc(bool.default(false), {
      flag: "--sign-requests",
      help:
        "sign every request (robots.txt included) with Web Bot Auth, so sites can check it came from this " +
        "deployment; workers need a signing key and a Signature-Agent URL",
    }),
    fetch: fetchSchema,
    dedup: dedupSchema,
    allowPrivateAddresses: doc(bool.default(false), {
      flag: "--allow-private-addresses",
      help: "crawl loopback/private addresses (workers must allow them too)",
    }),
    recrawl: recrawlSchema,
  })
  .superRefine((spec, ctx) => {
    if (spec.seeds.length === 0 && spec.recrawl.of === undefined)
      ctx.addIssue({ code: "custom", path: ["seeds"], message: "at least one seed" });
    // Refused at the door: a seed naming a private, loopback, link-local or metadata address in any
    // spelling (0x7f.1, 2130706433, [::ffff:127.0.0.1]) would only ever meet the workers' guard.
    if (spec.allowPrivateAddresses) return;
    spec.seeds.forEach((seed, i) => {
      const reason = privateLiteralReason(seed);
      if (reason !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["seeds", i],
          message: `${reason}; set allowPrivateAddresses (--allow-private-addresses) to crawl it`,
        });
    });
  });

/** Why a URL's host is an address literal no crawl may reach by default, if it is one. */
function privateLiteralReason(url: string): string | undefined {
  let blocked: ReturnType<typeof blockedLiteralHost>;
  try {
    blocked = blockedLiteralHost(new URL(url));
  } catch {
    return undefined;
  }
  return blocked === undefined ? undefined : `${blocked.address}: ${blocked.reason}`;
}
export type CrawlSpecInput = z.input<typeof crawlSpecSchema>;
/** A checked crawl definition; `id` is set once the frontier has named the crawl. */
export type ParsedCrawlSpec = z.output<typeof crawlSpecSchema>;
export type CrawlSpec = ParsedCrawlSpec & { id: string };

/** Every field of the crawl definition, in schema order, with its documentation (if it has any). */
export interface CrawlField {
  /** `politeness.minDelayMs` */
  path: string;
  doc: CrawlFieldDoc | undefined;
  /** The schema's default, if it has one. */
  default: unknown;
}

function unwrapped(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional) {
    s = s.unwrap() as z.ZodType;
  }
  return s;
}

function walk(shape: Record<string, z.ZodType>, prefix: string, defaults: unknown): CrawlField[] {
  return Object.entries(shape).flatMap(([key, schema]) => {
    const path = `${prefix}${key}`;
    const inner = unwrapped(schema);
    const value = (defaults as Record<string, unknown> | undefined)?.[key];
    if (fields.get(schema) === undefined && inner instanceof z.ZodObject) {
      return walk(inner.shape as Record<string, z.ZodType>, `${path}.`, value);
    }
    return [{ path, doc: fields.get(schema), default: value }];
  });
}

let fieldList: CrawlField[] | undefined;

export function crawlFields(): CrawlField[] {
  if (fieldList !== undefined) return fieldList;
  // The defaults are what the schema makes of the smallest valid definition.
  const minimal = crawlSpecSchema.parse({
    seeds: ["http://example.org/"],
    userAgent: { product: "X", contact: "x@example.org" },
  });
  const defaults = { ...minimal, seeds: undefined, userAgent: { version: minimal.userAgent.version } };
  fieldList = walk(crawlSpecSchema.shape as Record<string, z.ZodType>, "", defaults);
  return fieldList;
}

/** Specs checked by parseCrawlSpec: the frontier takes them as they are. */
const checked = new WeakSet<object>();

/**
 * The one check of a crawl definition, at the edge where it arrives (a file,
 * flags, an admin request). The first problem is one ConfigError keyed by
 * the field, in the caller's spelling (`politeness.minDelayMs` by default).
 */
export function parseCrawlSpec(
  input: unknown,
  fieldName: (path: readonly PropertyKey[]) => string = (path) =>
    path.length > 0 ? path.join(".") : "crawl",
): ParsedCrawlSpec {
  const result = crawlSpecSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(fieldName(issue?.path ?? []), issue?.message ?? "invalid");
  }
  checked.add(result.data);
  return result.data;
}

/** A definition parseCrawlSpec checked passes as it is; anything else is checked now. */
export function checkedCrawlSpec(input: CrawlSpecInput | ParsedCrawlSpec): ParsedCrawlSpec {
  return checked.has(input) ? (input as ParsedCrawlSpec) : parseCrawlSpec(input);
}

export interface CrawlLayers {
  /** What the command starts from (the demo's quick robots.txt retries): below the file. */
  preset?: Record<string, unknown>;
  /** A JSON crawl definition (--crawl-file). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag values by field path (`politeness.minDelayMs`), as the command line gave them. */
  flags?: Record<string, unknown>;
  /** Seeds from the command line replace the file's. */
  seeds?: string[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function mergeDeep(into: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(layer)) {
    if (v === undefined) continue;
    const here = into[k];
    into[k] = isPlainObject(v) && isPlainObject(here) ? mergeDeep({ ...here }, v) : v;
  }
  return into;
}

function atPath(path: string, value: unknown): Record<string, unknown> {
  return path.split(".").reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<
    string,
    unknown
  >;
}

/**
 * Precedence, lowest first: the schema's defaults, the command line's own
 * defaults (product HeedBot), the preset, the crawl file, HEED_* environment
 * variables (the operator's identity), flags, then seeds given as arguments.
 * Nothing is checked here: parseCrawlSpec does that once, on the result.
 */
export function crawlSpecInput(layers: CrawlLayers): CrawlSpecInput {
  const env = layers.env ?? process.env;
  const out: Record<string, unknown> = {};
  const all = crawlFields();
  for (const f of all) {
    if (f.doc?.cliDefault !== undefined) mergeDeep(out, atPath(f.path, f.doc.cliDefault));
  }
  mergeDeep(out, layers.preset ?? {});
  mergeDeep(out, jsonFileLayer(layers.file));
  for (const f of all) {
    const value = f.doc?.env !== undefined ? env[f.doc.env] : undefined;
    if (value !== undefined && value !== "") mergeDeep(out, atPath(f.path, value));
  }
  for (const f of all) {
    const raw = layers.flags?.[f.path];
    if (raw === undefined) continue;
    const fromFlag = f.doc?.fromFlag;
    const value =
      fromFlag === undefined
        ? raw
        : Array.isArray(raw)
          ? raw.map(String).map(fromFlag)
          : fromFlag(String(raw));
    mergeDeep(out, atPath(f.path, value));
  }
  if (layers.seeds !== undefined && layers.seeds.length > 0) out.seeds = layers.seeds;
  out.seeds ??= [];
  return out as CrawlSpecInput;
}

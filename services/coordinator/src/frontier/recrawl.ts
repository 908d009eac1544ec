import { ConfigError, type CrawlSpec, type CrawlSpecInput } from "@heed/shared";
import type { FrontierContext } from "./context.js";
import type { CrawlRecord, EarlierCapture, UrlRecord } from "./records.js";
import { loadCrawl } from "./store.js";
import type { Txn } from "./txn.js";

const DAY_MS = 24 * 3600_000;

/**
 * What a recrawl knows of an earlier done URL: the validators the site sent
 * and the record a 304 will refer to. A 304 in the earlier crawl passes on the
 * capture it stood for, and a payload-digest revisit the record it refers to. Undefined when the site sent no validator (nothing to
 * ask with) or the record is not known (captures made before records were named).
 */
export function earlierCaptureOf(rec: UrlRecord): EarlierCapture | undefined {
  const r = rec.result;
  if (r === undefined) return undefined;
  const etag = r.etag ?? "";
  const lastModified = r.lastModified ?? "";
  if (etag === "" && lastModified === "") return undefined;
  const c = r.capture;
  const record =
    r.notModified ??
    // A payload kept as a revisit of an identical one: the record that holds the payload.
    (c?.revisit !== undefined
      ? {
          targetUri: c.revisit.refersToUri,
          warcDate: c.revisit.refersToDate,
          recordId: c.revisit.refersToId ?? "",
        }
      : c?.recordId !== undefined && c.date !== undefined
        ? { targetUri: rec.url, warcDate: c.date, recordId: c.recordId }
        : undefined);
  return record === undefined ? undefined : { etag, lastModified, ...record };
}

/** Refuses a recrawl whose earlier crawl is missing, still running, or reached addresses this one may not. */
export function checkRecrawlOf(ctx: FrontierContext, spec: CrawlSpec): void {
  const of = spec.recrawl?.of;
  if (of === undefined) return;
  const earlier = loadCrawl(ctx.store, of);
  if (earlier === undefined) throw new ConfigError("recrawl.of", `no crawl ${of}`);
  if (earlier.state === "running" || earlier.state === "paused") {
    throw new ConfigError(
      "recrawl.of",
      `crawl ${of} is ${earlier.state}; a recrawl repeats a crawl that has ended`,
    );
  }
  if (earlier.spec.allowPrivateAddresses && !spec.allowPrivateAddresses) {
    throw new ConfigError(
      "recrawl.of",
      `crawl ${of} reached private addresses; set allowPrivateAddresses (--allow-private-addresses) to recrawl it`,
    );
  }
}

/**
 * Queues a recrawl's pages: every page its earlier crawl ended done, at the
 * depth it had there, with its earlier capture. robots.txt is not taken on
 * trust from the earlier crawl: the cached copy of every origin the recrawl
 * visits is marked due, so the first lease there fetches it again (one fetch,
 * shared with any other crawl of the host).
 */
export function queueRecrawl(ctx: FrontierContext, txn: Txn, crawl: CrawlRecord, of: string): void {
  const origins = new Set<string>();
  for (const { value: rec } of ctx.store.urls.getRange({ start: [of], end: [`${of}\u0000`] })) {
    // Sitemaps and tdmrep.json are found again the way they were found the first time.
    if (rec.state !== "done" || rec.kind !== undefined) continue;
    txn.discover(crawl, rec.url, rec.depth, rec.via, undefined, earlierCaptureOf(rec));
    origins.add(rec.origin);
  }
  for (const origin of origins) {
    const robots = txn.robots(origin);
    if (robots !== undefined && robots.pendingLeaseId === undefined && robots.expiresAtMs > txn.now) {
      txn.setRobots({ ...robots, expiresAtMs: txn.now });
    }
  }
}

/** `news` -> `news-r1`, `news-r1` -> `news-r2`: the scheduled recrawl's id, so it is made once. */
export function nextRecrawlId(id: string): string {
  const m = /^(.+)-r(\d+)$/.exec(id);
  const base = m?.[1] ?? id;
  const suffix = `-r${m === null ? 1 : Number(m[2]) + 1}`;
  return base.slice(0, 63 - suffix.length).replace(/-+$/, "") + suffix;
}

/**
 * Starts the recrawls that are due: of every finished crawl with
 * `recrawl.everyDays`, once that many days have passed since it finished.
 * Nothing is kept in memory: the next recrawl's id is fixed by its earlier
 * crawl's, so after a restart a due recrawl is started once and no more.
 */
export function startDueRecrawls(
  ctx: FrontierContext,
  create: (input: CrawlSpecInput) => CrawlRecord | undefined,
): CrawlRecord[] {
  const now = ctx.clock();
  const started: CrawlRecord[] = [];
  for (const { key: id, value: counters } of ctx.store.crawls.getRange()) {
    if (counters.state !== "finished" || counters.finishedAtMs === undefined) continue;
    const spec = loadCrawl(ctx.store, id)?.spec;
    const every = spec?.recrawl?.everyDays;
    if (spec === undefined || every === undefined || counters.finishedAtMs + every * DAY_MS > now) continue;
    const next = nextRecrawlId(id);
    if (ctx.store.crawls.doesExist(next)) continue;
    const crawl = create({ ...spec, id: next, seeds: [], recrawl: { of: id, everyDays: every } });
    if (crawl === undefined) continue;
    started.push(crawl);
    ctx.log.info({ crawlId: next, of: id, everyDays: every }, "scheduled recrawl started");
  }
  return started;
}

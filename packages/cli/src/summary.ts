import type { CrawlRecord } from "@heed/coordinator";
import type { WarcStats } from "@heed/worker";

export interface CrawlSummary {
  crawlId: string;
  state: string;
  pages: { done: number; failed: number; skipped: number; queued: number; leased: number };
  byStatus: Record<string, number>;
  skipped: Record<string, number>;
  robotsDenied: number;
  hosts: number;
  bytes: number;
  durationSeconds: number;
  pagesPerSecond: number;
  dataDir: string;
  /** Stopped by a signal before the crawl was done; running again with the same data directory resumes it. */
  interrupted: boolean;
  /** URLs queued or leased: what a resumed run still has to do. */
  remaining: number;
  /** The WARC captures the workers wrote: directory, files, records and bytes (absent when off). */
  warc?: {
    dir: string;
    files: number;
    records: number;
    bytes: number;
    /** Revisit records written for payloads already held, and the payload bytes they did not store again. */
    revisits: number;
    revisitPayloadBytes: number;
  };
  warcFiles?: string[];
}

export function summarize(
  crawl: CrawlRecord,
  dataDir: string,
  options: { interrupted?: boolean; nowMs?: number; warcs?: readonly WarcStats[] } = {},
): CrawlSummary {
  const end = crawl.finishedAtMs ?? options.nowMs ?? Date.now();
  const remaining = crawl.counts.queued + crawl.counts.leased;
  const durationSeconds = Math.max(0.001, (end - crawl.createdAtMs) / 1000);
  return {
    crawlId: crawl.id,
    state: crawl.state,
    pages: { ...crawl.counts },
    byStatus: { ...crawl.statusCounts },
    skipped: { ...crawl.skipCounts },
    robotsDenied: (crawl.skipCounts.robots_disallowed ?? 0) + (crawl.skipCounts.robots_unreachable ?? 0),
    hosts: crawl.hosts,
    bytes: crawl.bytes,
    durationSeconds: Math.round(durationSeconds * 10) / 10,
    pagesPerSecond: Math.round((crawl.counts.done / durationSeconds) * 10) / 10,
    dataDir,
    interrupted: options.interrupted === true && crawl.state === "running",
    remaining,
    ...warcSummary(options.warcs ?? []),
  };
}

function warcSummary(warcs: readonly WarcStats[]): Pick<CrawlSummary, "warc" | "warcFiles"> {
  const first = warcs[0];
  if (first === undefined) return {};
  const files = warcs.flatMap((w) => w.files).sort();
  return {
    warc: {
      dir: first.dir,
      files: files.length,
      records: warcs.reduce((n, w) => n + w.records, 0),
      bytes: warcs.reduce((n, w) => n + w.bytes, 0),
      revisits: warcs.reduce((n, w) => n + w.revisits, 0),
      revisitPayloadBytes: warcs.reduce((n, w) => n + w.revisitPayloadBytes, 0),
    },
    warcFiles: files,
  };
}

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function summaryText(s: CrawlSummary): string {
  const status = Object.entries(s.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  const skipped = Object.entries(s.skipped)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  const headline = s.interrupted
    ? [
        `Crawl ${s.crawlId} interrupted after ${s.durationSeconds} s: ${s.remaining} URL(s) remain.`,
        `  Run again with the same --data-dir (${s.dataDir}) to resume it.`,
      ]
    : [`Crawl ${s.crawlId} ${s.state} in ${s.durationSeconds} s`];
  return [
    ...headline,
    `  pages fetched   ${s.pages.done}${status ? ` (${status})` : ""}`,
    `  failed          ${s.pages.failed}`,
    `  skipped         ${s.pages.skipped}${skipped ? ` (${skipped})` : ""}`,
    `  still queued    ${s.remaining}`,
    `  robots-denied   ${s.robotsDenied}`,
    `  hosts           ${s.hosts}`,
    `  bytes           ${bytesText(s.bytes)}`,
    `  rate            ${s.pagesPerSecond} pages/s`,
    `  data            ${s.dataDir}`,
    ...(s.warc !== undefined
      ? [
          `  WARC            ${s.warc.dir}: ${s.warc.files} file(s), ${s.warc.records} records, ${bytesText(s.warc.bytes)}`,
          ...(s.warc.revisits > 0
            ? [
                `  revisits        ${s.warc.revisits} (payloads already held: ${bytesText(s.warc.revisitPayloadBytes)} not stored again)`,
              ]
            : []),
        ]
      : []),
  ].join("\n");
}

/** One status line for a terminal, rewritten in place. */
export function progressLine(crawl: CrawlRecord, nowMs = Date.now()): string {
  const secs = Math.max(0.001, (nowMs - crawl.createdAtMs) / 1000);
  const c = crawl.counts;
  return (
    `done ${c.done}  queued ${c.queued}  in flight ${c.leased}  failed ${c.failed}  skipped ${c.skipped}  ` +
    `hosts ${crawl.hosts}  ${(c.done / secs).toFixed(1)} pages/s  ${secs.toFixed(0)} s`
  );
}

import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { crawlIdOf, readWarcinfo } from "./warcinfo.js";

/** The suffix a WARC file carries while it is still being written. */
export const OPEN_SUFFIX = ".open";
export const WARC_SUFFIX = ".warc.gz";
export const CDXJ_SUFFIX = ".cdxj";

/** The CDXJ index kept beside a closed WARC file: same name plus `.cdxj`. */
export function cdxjPathFor(warcPath: string): string {
  return `${warcPath}${CDXJ_SUFFIX}`;
}

/** Whether a file name is a closed WARC file (not one still being written). */
export function isClosedWarc(name: string): boolean {
  return name.endsWith(WARC_SUFFIX);
}

/**
 * Closed WARC files of one crawl in a directory, in name order (which is
 * worker, then time, then serial order). Files are named
 * `heed-<crawlId>-<workerId>-<yyyyMMddHHmmssSSS>-<serial>.warc.gz`. Crawl
 * ids may contain `-`, so `heed-a-` also starts the files of crawl `a-b`:
 * each candidate's warcinfo record settles which crawl it belongs to.
 */
export async function closedWarcFiles(dir: string, crawlId?: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const prefix = crawlId === undefined ? "heed-" : `heed-${crawlId}-`;
  const candidates = names.filter((n) => n.startsWith(prefix) && isClosedWarc(n)).sort();
  if (crawlId === undefined) return candidates;
  const own: string[] = [];
  for (const name of candidates) {
    const named = crawlIdOf(await readWarcinfo(join(dir, name)));
    if (named === undefined || named === crawlId) own.push(name);
  }
  return own;
}

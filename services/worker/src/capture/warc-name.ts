import { WARC_SUFFIX } from "@heed/archive";

/** `yyyyMMddHHmmssSSS` in UTC. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:TZ.]/g, "");
}

/** File names may only hold what every file system and object store keeps as is. */
function safe(part: string): string {
  return part.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** `heed-<crawlId>-<workerId>-<UTC time>-<serial>.warc.gz`: one series per crawl per worker. */
export function warcFileName(crawlId: string, workerId: string, atMs: number, serial: number): string {
  return `heed-${safe(crawlId)}-${safe(workerId)}-${stamp(atMs)}-${String(serial).padStart(5, "0")}${WARC_SUFFIX}`;
}

import { createReadStream } from "node:fs";
import { WARCParser } from "warcio";

/** The fields of a WARC file's leading warcinfo record, or undefined when it has none. */
export async function readWarcinfo(path: string): Promise<Map<string, string> | undefined> {
  const stream = createReadStream(path);
  try {
    const record = await new WARCParser(stream).parse();
    if (record === null || record.warcType !== "warcinfo") return undefined;
    const fields = new Map<string, string>();
    for (const line of (await record.contentText()).split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    return fields;
  } finally {
    stream.destroy();
  }
}

/** Field names a warcinfo record may give the crawl id under. */
const CRAWL_ID_FIELDS = ["heed-crawl-id", "crawl-id", "crawl"];

export function crawlIdOf(fields: Map<string, string> | undefined): string | undefined {
  for (const name of CRAWL_ID_FIELDS) {
    const value = fields?.get(name);
    if (value !== undefined) return value;
  }
  return undefined;
}

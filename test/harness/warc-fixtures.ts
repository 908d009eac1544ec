import { randomUUID } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { WARCRecord, WARCSerializer } from "warcio";

/**
 * WARC files shaped like the ones Heed's workers write (warcinfo first, then
 * request, response and a metadata record per fetch, gzip per record, named
 * `heed-<crawl>-<worker>-<time>-<serial>.warc.gz`, written as `.open` and
 * renamed), made with warcio so indexing, packing and upload can be tested on
 * their own.
 */
export interface FixtureCapture {
  url: string;
  status?: number;
  contentType?: string;
  body: string | Buffer;
  /** ISO date; defaults to a fixed date plus the capture's position. */
  date?: string;
  /** Written as a revisit of this earlier capture (identical payload). */
  revisitOf?: { url: string; date: string };
}

export interface FixtureFile {
  path: string;
  name: string;
}

const encoder = new TextEncoder();

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function serialize(record: WARCRecord): Promise<Uint8Array> {
  return WARCSerializer.serialize(record, { gzip: true });
}

export function fixtureName(
  crawlId: string,
  workerId: string,
  serial: number,
  at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
): string {
  const stamp = at.toISOString().replace(/[-:TZ.]/g, "");
  return `heed-${crawlId}-${workerId}-${stamp}-${String(serial).padStart(5, "0")}.warc.gz`;
}

export async function writeFixtureWarc(
  dir: string,
  crawlId: string,
  captures: readonly FixtureCapture[],
  options: { workerId?: string; serial?: number } = {},
): Promise<FixtureFile> {
  await mkdir(dir, { recursive: true });
  const name = fixtureName(crawlId, options.workerId ?? "w1", options.serial ?? 1);
  const chunks: Uint8Array[] = [];
  chunks.push(
    await serialize(
      WARCRecord.createWARCInfo(
        { filename: name, warcVersion: "WARC/1.1" },
        {
          software: "Heed test fixtures",
          "heed-crawl-id": crawlId,
          format: "WARC File Format 1.1",
        },
      ),
    ),
  );
  for (const [i, capture] of captures.entries()) {
    const date = capture.date ?? new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + i * 1000).toISOString();
    const body =
      typeof capture.body === "string" ? encoder.encode(capture.body) : new Uint8Array(capture.body);
    const target = new URL(capture.url);
    const request = WARCRecord.create(
      {
        url: capture.url,
        date,
        type: "request",
        warcVersion: "WARC/1.1",
        statusline: `GET ${target.pathname}${target.search} HTTP/1.1`,
        httpHeaders: { Host: target.host, "User-Agent": "HeedTest/1.0 (+mailto:test@heed.invalid)" },
      },
      once(new Uint8Array()),
    );
    const status = capture.status ?? 200;
    const httpHeaders = {
      "Content-Type": capture.contentType ?? "text/html; charset=utf-8",
      "Content-Length": String(body.length),
    };
    const response = capture.revisitOf
      ? WARCRecord.create(
          {
            url: capture.url,
            date,
            type: "revisit",
            warcVersion: "WARC/1.1",
            statusline: `HTTP/1.1 ${status} OK`,
            httpHeaders,
            refersToUrl: capture.revisitOf.url,
            refersToDate: capture.revisitOf.date,
            warcHeaders: {
              "WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
              "WARC-Payload-Digest": `sha256:${await sha256Hex(body)}`,
            },
          },
          once(new Uint8Array()),
        )
      : WARCRecord.create(
          {
            url: capture.url,
            date,
            type: "response",
            warcVersion: "WARC/1.1",
            statusline: `HTTP/1.1 ${status} ${status === 200 ? "OK" : "Status"}`,
            httpHeaders,
            warcHeaders: { "WARC-IP-Address": target.hostname },
          },
          once(body),
        );
    const responseId = response.warcHeader("WARC-Record-ID") ?? `<urn:uuid:${randomUUID()}>`;
    request.warcHeaders.headers.set("WARC-Concurrent-To", responseId);
    chunks.push(await serialize(response));
    chunks.push(await serialize(request));
    const metadata = WARCRecord.create(
      {
        url: capture.url,
        date,
        type: "metadata",
        warcVersion: "WARC/1.1",
        warcHeaders: { "Content-Type": "application/warc-fields", "WARC-Concurrent-To": responseId },
      },
      once(encoder.encode("heed-lease-id: lease-1\r\nheed-worker-id: w1\r\n")),
    );
    chunks.push(await serialize(metadata));
  }
  const path = join(dir, name);
  await writeFile(`${path}.open`, Buffer.concat(chunks));
  await rename(`${path}.open`, path);
  return { path, name };
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash("sha256").update(bytes).digest("hex");
}

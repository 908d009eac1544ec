import { describe, expect, it } from "vitest";
import { WARCRecord, WARCSerializer } from "warcio";
import { serialized } from "./records.js";

/** Two records alike in every byte, one for each serializer. */
function twins(type: "response" | "metadata" | "warcinfo", block: Buffer[]): [WARCRecord, WARCRecord] {
  const make = () => {
    const r = WARCRecord.create(
      {
        ...(type !== "warcinfo" ? { url: "http://127.0.0.2/p?q=1" } : { filename: "f.warc.gz" }),
        type,
        date: "2026-01-02T03:04:05.678Z",
        warcVersion: "WARC/1.1",
        warcHeaders: {
          "WARC-Type": type,
          "WARC-Record-ID": "<urn:uuid:00000000-0000-4000-8000-000000000000>",
          // As Heed writes them: with both digests, which take the direct framing.
          "WARC-Block-Digest": "sha256:00",
          "WARC-Payload-Digest": "sha256:01",
          "Content-Type":
            type === "response" ? "application/http; msgtype=response" : "application/warc-fields",
        },
      },
      [...block],
    );
    r.httpHeaders = null;
    return r;
  };
  return [make(), make()];
}

describe("record framing", () => {
  it("writes every record byte for byte as warcio's serializer does", async () => {
    const cases: [Parameters<typeof twins>[0], Buffer[]][] = [
      [
        "response",
        [Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"), Buffer.from("<p>é</p>\r\n")],
      ],
      ["response", [Buffer.from("HTTP/1.1 204 No Content\r\n\r\n")]],
      ["metadata", [Buffer.from("heed-crawl-id: c1\r\nheed-delay-ms: 1000\r\n")]],
      ["warcinfo", [Buffer.from("software: Heed\r\n")]],
    ];
    for (const [type, block] of cases) {
      const [mine, theirs] = twins(type, block);
      const expected = Buffer.from(await WARCSerializer.serialize(theirs, { gzip: false }));
      expect((await serialized(mine)).toString("latin1")).toBe(expected.toString("latin1"));
    }
  });
});

import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { WARCParser } from "warcio";
import { serialized } from "./records.js";
import { REVISIT_PROFILES, revisitRecord } from "./revisit.js";

const HEAD = Buffer.from('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n', "latin1");

async function roundTrip(bytes: Uint8Array) {
  const parser = new WARCParser(Readable.from([bytes]), { parseHttp: true });
  const record = await parser.parse();
  if (record === null) throw new Error("no record");
  const block = Buffer.from(await record.readFully(false));
  return { record, block };
}

describe("revisit records", () => {
  it("a server-not-modified revisit names the earlier capture and holds only the header block", async () => {
    const record = revisitRecord({
      profile: "server-not-modified",
      recordId: "<urn:uuid:00000000-0000-4000-8000-000000000002>",
      targetUri: "http://127.0.0.2:8080/p/1",
      date: "2026-12-03T12:00:00.123Z",
      ipAddress: "127.0.0.2",
      refersTo: {
        targetUri: "http://127.0.0.2:8080/p/1",
        date: "2026-12-01T12:00:00.456Z",
        recordId: "<urn:uuid:00000000-0000-4000-8000-000000000001>",
      },
      head: HEAD,
    });
    const { record: back } = await roundTrip(await serialized(record));
    const h = back.warcHeaders.headers;
    expect(back.warcType).toBe("revisit");
    expect(h.get("WARC-Profile")).toBe(REVISIT_PROFILES["server-not-modified"]);
    expect(h.get("WARC-Refers-To-Target-URI")).toBe("http://127.0.0.2:8080/p/1");
    expect(h.get("WARC-Refers-To-Date")).toBe("2026-12-01T12:00:00.456Z");
    expect(h.get("WARC-Refers-To")).toBe("<urn:uuid:00000000-0000-4000-8000-000000000001>");
    expect(h.get("WARC-Date")).toBe("2026-12-03T12:00:00.123Z");
    expect(h.get("WARC-IP-Address")).toBe("127.0.0.2");
    expect(h.get("WARC-Payload-Digest")).toBeNull();
    expect(h.get("Content-Length")).toBe(String(HEAD.length));
    expect(h.get("WARC-Block-Digest")).toBe(`sha256:${createHash("sha256").update(HEAD).digest("hex")}`);
    expect(back.httpHeaders?.statusCode).toBe(304);
  });

  it("an identical-payload-digest revisit carries the payload digest, and refuses to go without one", async () => {
    const input = {
      profile: "identical-payload-digest" as const,
      recordId: "<urn:uuid:00000000-0000-4000-8000-000000000003>",
      targetUri: "http://127.0.0.2:8080/copy",
      date: "2026-12-03T12:00:00.000Z",
      refersTo: { targetUri: "http://127.0.0.2:8080/p/1", date: "2026-12-01T12:00:00.456Z" },
      head: Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", "latin1"),
    };
    expect(() => revisitRecord(input)).toThrow(/payload digest/);
    const record = revisitRecord({ ...input, payloadDigest: "sha256:abc" });
    const { record: back } = await roundTrip(await serialized(record));
    const h = back.warcHeaders.headers;
    expect(h.get("WARC-Profile")).toBe(REVISIT_PROFILES["identical-payload-digest"]);
    expect(h.get("WARC-Payload-Digest")).toBe("sha256:abc");
    expect(h.get("WARC-Refers-To")).toBeNull();
  });
});

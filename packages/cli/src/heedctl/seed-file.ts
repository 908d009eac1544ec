import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { ConfigError, errorMessage } from "@heed/shared";

/**
 * Seeds from a file, one per line: plain URLs, or NDJSON (a JSON string, or
 * an object with a `url`). Blank lines and lines starting with `#` are
 * skipped. Read as a stream, handed out in chunks, so a million seeds never
 * sit in one message or one array.
 */
export async function* seedChunks(path: string, chunkSize: number): AsyncGenerator<string[]> {
  let chunk: string[] = [];
  let lineNo = 0;
  const lines = createInterface({
    input: createReadStream(path, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  try {
    for await (const raw of lines) {
      lineNo++;
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      chunk.push(seedOf(line, `${path}:${lineNo}`));
      if (chunk.length === chunkSize) {
        yield chunk;
        chunk = [];
      }
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError("--file", `cannot read ${path}: ${errorMessage(err)}`);
  }
  if (chunk.length > 0) yield chunk;
}

function seedOf(line: string, where: string): string {
  if (!line.startsWith("{") && !line.startsWith('"')) return line;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new ConfigError("--file", `${where}: not JSON: ${errorMessage(err)}`);
  }
  if (typeof value === "string") return value;
  const url = (value as { url?: unknown } | null)?.url;
  if (typeof url !== "string") throw new ConfigError("--file", `${where}: an object needs a "url" string`);
  return url;
}

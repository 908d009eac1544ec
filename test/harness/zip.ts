import { open as openZip } from "yauzl";

/** Reads every entry of a zip file with yauzl (a reader independent of the writer). */
export interface ZipEntryData {
  name: string;
  /** 0: stored, 8: deflated. */
  compressionMethod: number;
  data: Buffer;
}

export function readZip(path: string): Promise<ZipEntryData[]> {
  return new Promise((resolve, reject) => {
    openZip(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const entries: ZipEntryData[] = [];
      zip.on("error", reject);
      zip.on("end", () => resolve(entries));
      zip.on("entry", (entry) => {
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr || !stream) return reject(streamErr);
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("error", reject);
          stream.on("end", () => {
            entries.push({
              name: entry.fileName,
              compressionMethod: entry.compressionMethod,
              data: Buffer.concat(chunks),
            });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

import type { CrawlRecord } from "@heed/coordinator";
import { type CrawlSpec, crawlSpecSchema } from "@heed/shared";
import { describe, expect, it } from "vitest";
import { crawlToResume } from "./resume.js";

const spec = (over: object = {}) =>
  crawlSpecSchema.parse({
    seeds: ["http://127.0.0.2/"],
    allowPrivateAddresses: true,
    userAgent: { product: "HeedBot", contact: "ops@example.org" },
    ...over,
  }) as Omit<CrawlSpec, "id"> & { id?: string };

const record = (id: string, state: CrawlRecord["state"], createdAtMs: number, over: object = {}) =>
  ({ id, state, createdAtMs, spec: { ...spec(over), id } }) as unknown as CrawlRecord;

describe("which crawl a new run over the same data directory carries on with", () => {
  it("the latest unfinished crawl with the same definition, whatever its generated id", () => {
    const crawls = [
      record("old", "running", 1),
      record("new", "running", 2),
      record("done", "finished", 3),
      record("other", "running", 4, { maxDepth: 1 }),
    ];
    expect(crawlToResume(crawls, spec())?.id).toBe("new");
    expect(crawlToResume(crawls, spec({ maxDepth: 2 }))).toBeUndefined();
  });

  it("the crawl named by id; a finished one is an error rather than a silent new crawl", () => {
    const crawls = [record("named", "running", 1), record("over", "finished", 2)];
    expect(crawlToResume(crawls, spec({ id: "named", maxDepth: 1 }))?.id).toBe("named");
    expect(crawlToResume(crawls, spec({ id: "fresh" }))).toBeUndefined();
    expect(() => crawlToResume(crawls, spec({ id: "over" }))).toThrow(/exists already and is finished/);
  });
});

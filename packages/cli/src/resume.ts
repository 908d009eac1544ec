import type { CrawlRecord } from "@heed/coordinator";
import { ConfigError, type CrawlSpec } from "@heed/shared";

/**
 * The unfinished crawl a new `heed crawl` run over the same data directory
 * carries on with, so that an interrupted run loses nothing: the crawl the
 * definition names by id, else the latest still-running crawl whose
 * definition is the same apart from its generated id. Undefined: start anew.
 */
export function crawlToResume(
  crawls: CrawlRecord[],
  spec: Omit<CrawlSpec, "id"> & { id?: string | undefined },
): CrawlRecord | undefined {
  if (spec.id !== undefined) {
    const named = crawls.find((c) => c.id === spec.id);
    if (named === undefined) return undefined;
    if (named.state !== "running")
      throw new ConfigError("id", `a crawl named ${spec.id} exists already and is ${named.state}`);
    return named;
  }
  const wanted = definitionKey(spec);
  return crawls
    .filter((c) => c.state === "running" && definitionKey(c.spec) === wanted)
    .sort((a, b) => b.createdAtMs - a.createdAtMs)[0];
}

/** A definition as canonical JSON without its id: key order and the id do not make two crawls differ. */
function definitionKey(spec: object): string {
  const { id: _id, ...rest } = spec as { id?: string };
  return JSON.stringify(rest, (_key, value: unknown) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  );
}

import { isIP } from "node:net";
import { partitionOfHostGroup } from "@heed/shared";
import type { Database, Key } from "lmdb";
import type { RangeDrop, RangeItem } from "../frontier/range-move.js";
import { type FrontierStore, robotsWithText } from "../frontier/store.js";

/** Records read per LMDB range read: each read stands alone, so no snapshot stays open while batches travel. */
const CHUNK = 1000;

/**
 * Which politeness keys belong to a partition range: hosts and their domain
 * keys by the host's placement, operator groups by their group's placement.
 * Address keys belong to no range; they are copied with the hosts that use them.
 */
export function keysInRange(
  placement: (host: string) => number,
  groups: readonly { name: string; hosts: readonly string[] }[],
  from: number,
  to: number,
): (key: string) => boolean {
  const within = (p: number) => p >= from && p < to;
  const groupPartitions = new Map<string, number>();
  for (const g of groups)
    if (!groupPartitions.has(g.name)) groupPartitions.set(g.name, partitionOfHostGroup(g.hosts));
  return (key) => {
    if (key.startsWith("ip:")) return false;
    if (key.startsWith("domain:")) return within(placement(key.slice("domain:".length)));
    if (key.startsWith("group:")) {
      const p = groupPartitions.get(key.slice("group:".length));
      return p !== undefined && within(p);
    }
    return within(placement(key));
  };
}

/** A table's entries in key order, read a chunk at a time. */
function* chunked<V, K extends Key>(db: Database<V, K>): Generator<{ key: K; value: V }> {
  let start: K | undefined;
  for (;;) {
    const entries = [...db.getRange({ ...(start !== undefined ? { start } : {}), limit: CHUNK + 1 })];
    // The chunk starts at the last key seen, unless that entry was deleted meanwhile.
    const seen = start !== undefined && entries.length > 0 && sameKey((entries[0] as { key: K }).key, start);
    for (const e of seen ? entries.slice(1) : entries) yield e;
    if (entries.length <= CHUNK) return;
    start = (entries[entries.length - 1] as { key: K }).key;
  }
}

function sameKey(a: Key, b: Key): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function hostOfOrigin(origin: string): string {
  try {
    return new URL(origin).hostname;
  } catch {
    return "";
  }
}

/** How many active leases hold a request to a key of the range (the move waits for none). */
export function activeLeasesIn(store: FrontierStore, inRange: (key: string) => boolean): number {
  let n = 0;
  for (const { key: id } of chunked(store.activeLeases)) {
    const lease = store.leases.get(id);
    if (lease !== undefined && inRange(lease.hostKey)) n++;
  }
  return n;
}

/**
 * Everything a range's new owner needs, table by table: politeness keys (and
 * the address keys its hosts use), robots and TDM answers, per-crawl host
 * counters and added-seed hosts, operator policies, then the URL records
 * with the links each kept past the depth limit.
 */
export function* exportRange(store: FrontierStore, inRange: (key: string) => boolean): Generator<RangeItem> {
  const addresses = new Set<string>();
  for (const { key, value } of chunked(store.hosts)) {
    if (!inRange(key)) continue;
    yield { t: "host", state: value };
    const literal = key.replace(/^\[|\]$/g, "");
    const ip = value.ip ?? (isIP(literal) !== 0 ? literal : undefined);
    if (ip !== undefined) addresses.add(`ip:${ip}`);
  }
  for (const key of addresses) {
    const state = store.hosts.get(key);
    if (state !== undefined) yield { t: "host", state };
  }
  for (const { value } of chunked(store.robots))
    if (inRange(hostOfOrigin(value.origin))) yield { t: "robots", rec: robotsWithText(store, value) };
  for (const { value } of chunked(store.tdm))
    if (inRange(hostOfOrigin(value.origin))) yield { t: "tdm", rec: value };
  for (const { key, value } of chunked(store.crawlHosts))
    if (inRange(key[1])) yield { t: "crawlHost", crawlId: key[0], hostKey: key[1], state: value };
  for (const { key } of chunked(store.addedSeedHosts))
    if (inRange(key[1])) yield { t: "seedHost", crawlId: key[0], hostname: key[1] };
  for (const { value } of chunked(store.hostPolicies))
    if (!value.pattern.includes("*") && inRange(value.pattern)) yield { t: "policy", policy: value };
  for (const { key, value } of chunked(store.urls)) {
    if (!inRange(value.hostKey)) continue;
    const pastDepth = store.pastDepth.get(key);
    yield { t: "url", hash: key[1], rec: value, ...(pastDepth !== undefined ? { pastDepth } : {}) };
  }
}

/**
 * What the old owner deletes once the range is the new owner's: the export
 * order entries first (while their URL records still say which host they
 * are), then the URLs, the per-crawl host counters, robots and TDM answers,
 * and last the politeness keys. Address keys and operator policies stay:
 * other hosts here may share them, and they only ever make it more careful.
 */
export function* movedRecords(store: FrontierStore, inRange: (key: string) => boolean): Generator<RangeDrop> {
  for (const { key, value: hash } of chunked(store.discovery)) {
    const rec = store.urls.get([key[0], hash]);
    if (rec !== undefined && inRange(rec.hostKey)) yield { t: "discovery", crawlId: key[0], seq: key[1] };
  }
  for (const { key, value } of chunked(store.urls))
    if (inRange(value.hostKey)) yield { t: "url", crawlId: key[0], hash: key[1] };
  for (const { key } of chunked(store.crawlHosts))
    if (inRange(key[1])) yield { t: "crawlHost", crawlId: key[0], hostKey: key[1] };
  for (const { value } of chunked(store.robots))
    if (inRange(hostOfOrigin(value.origin))) yield { t: "robots", origin: value.origin };
  for (const { value } of chunked(store.tdm))
    if (inRange(hostOfOrigin(value.origin))) yield { t: "tdm", origin: value.origin };
  for (const { key } of chunked(store.hosts)) if (inRange(key)) yield { t: "host", key };
}

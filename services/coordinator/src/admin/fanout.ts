import { status } from "@grpc/grpc-js";
import { hostKeyOf, isPublicSuffix, NotFoundError, proto, UnavailableError } from "@heed/shared";
import type { NatsConnection } from "nats";
import {
  askShard,
  type LocalRpcs,
  type ReqOf,
  type ResOf,
  type RpcKey,
  ShardUnansweredError,
} from "./shard-rpc.js";
import { totalStats } from "./stats.js";
import { ShardAnswerError } from "./status.js";
import * as v from "./validate.js";

/**
 * Admin calls that answer for a whole sharded crawl. Crawl-wide reads ask
 * every shard and merge; host-scoped calls go to the shard that owns the
 * host's partition. A shard that does not answer in time is named in the
 * answer's missing_shards, never silently left out of a count.
 */

/** One shard as the admin API sees it: from the shard map and the members bucket. */
export interface ShardView {
  shardId: string;
  /** Its live member record; absent once the ownership timeout passed. */
  member?: { grpcAddress: string; adminSubject: string; startedAt: number };
  /** Partition ranges [from, to) the map assigns it. */
  ranges: { from: number; to: number }[];
}

export interface AdminFleet {
  selfId: string;
  /** Every shard in the map or with a live member record, by id. */
  shards(): ShardView[];
  /** The shard that owns the host's partition; undefined while it is being moved. */
  ownerOfHost(host: string): string | undefined;
  mapVersion(): number;
  /** Ranges being moved, one line each. */
  moves(): string[];
}

export interface FanOutDeps {
  fleet: AdminFleet;
  nats(): NatsConnection | undefined;
  /** This shard's own answers (the same ones it serves to the others). */
  local: LocalRpcs;
  /** How long a shard has to answer before it is reported missing. */
  timeoutMs: number;
}

type Answer<K extends RpcKey> = { shardId: string; res: ResOf<K> };

export interface FanOut {
  getStats(req: proto.GetStatsRequest): Promise<proto.GetStatsResponse>;
  getCrawl(req: proto.GetCrawlRequest): Promise<proto.GetCrawlResponse>;
  listCrawls(req: proto.ListCrawlsRequest): Promise<proto.ListCrawlsResponse>;
  listHosts(req: proto.ListHostsRequest): Promise<proto.ListHostsResponse>;
  listHostRules(req: proto.ListHostRulesRequest): Promise<proto.ListHostRulesResponse>;
  getUrl(req: proto.GetUrlRequest): Promise<proto.GetUrlResponse>;
  blockHost(req: proto.BlockHostRequest): Promise<proto.BlockHostResponse>;
  unblockHost(req: proto.UnblockHostRequest): Promise<proto.UnblockHostResponse>;
  setHostPolicy(req: proto.SetHostPolicyRequest): Promise<proto.SetHostPolicyResponse>;
  listShards(req: proto.ListShardsRequest): Promise<proto.ListShardsResponse>;
  /** Every shard's URLs in turn; each message's cursor names the shard and its own cursor. */
  exportUrls(
    req: proto.ExportUrlsRequest,
    emit: (msg: proto.ExportUrlsResponse) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void>;
}

export function createFanOut(deps: FanOutDeps): FanOut {
  const { fleet } = deps;

  async function askOne<K extends RpcKey>(shard: ShardView, key: K, req: ReqOf<K>): Promise<ResOf<K>> {
    if (shard.shardId === fleet.selfId) {
      const fn = deps.local[key] as ((r: ReqOf<K>) => ResOf<K> | Promise<ResOf<K>>) | undefined;
      if (fn === undefined) throw new Error(`no local ${key}`);
      return fn(req);
    }
    const nc = deps.nats();
    if (shard.member === undefined || nc === undefined)
      throw new ShardUnansweredError(shard.shardId, new Error("no live member record"));
    return askShard(
      nc,
      { shardId: shard.shardId, adminSubject: shard.member.adminSubject },
      key,
      req,
      deps.timeoutMs,
    );
  }

  /** Asks every shard at once; the missing are those that did not answer, errors are passed on. */
  async function askAll<K extends RpcKey>(
    key: K,
    req: ReqOf<K>,
    shards = fleet.shards(),
  ): Promise<{ answers: Answer<K>[]; missing: string[]; notFound: unknown[] }> {
    const settled = await Promise.allSettled(shards.map((s) => askOne(s, key, req)));
    const answers: Answer<K>[] = [];
    const missing: string[] = [];
    const notFound: unknown[] = [];
    settled.forEach((r, i) => {
      const shardId = (shards[i] as ShardView).shardId;
      if (r.status === "fulfilled") answers.push({ shardId, res: r.value });
      else if (r.reason instanceof ShardUnansweredError) missing.push(shardId);
      else if (isNotFound(r.reason)) notFound.push(r.reason);
      else throw r.reason;
    });
    // A crawl or URL no answering shard knows is not found, whoever is missing.
    if (answers.length === 0 && notFound.length > 0) throw notFound[0];
    return { answers, missing, notFound };
  }

  const byId = (id: string) => fleet.shards().find((s) => s.shardId === id);

  /** The shard owning a host; host-scoped calls go there. */
  function ownerShard(host: string): ShardView {
    const id = fleet.ownerOfHost(host);
    if (id === undefined)
      throw new UnavailableError(
        "HEED_SHARD_MOVING",
        `the partition of ${host} is moving between shards; try again`,
      );
    return byId(id) ?? { shardId: id, ranges: [] };
  }

  async function toOwner<K extends RpcKey>(host: string, key: K, req: ReqOf<K>): Promise<ResOf<K>> {
    const owner = ownerShard(host);
    try {
      return await askOne(owner, key, req);
    } catch (err) {
      if (err instanceof ShardUnansweredError)
        throw new UnavailableError(
          "HEED_SHARD_UNANSWERED",
          `shard ${owner.shardId}, which owns ${host}, did not answer; try again when it is back`,
        );
      throw err;
    }
  }

  /**
   * An operator rule for a host or a domain lives with the shard owning it. A
   * public suffix (forced) covers sites on every shard: every shard gets it,
   * and the call fails naming the shards that did not, so it can be repeated.
   */
  async function hostRule<K extends "blockHost" | "setHostPolicy" | "unblockHost">(
    pattern: string,
    key: K,
    req: ReqOf<K>,
  ): Promise<ResOf<K>> {
    if (!isPublicSuffix(pattern)) return toOwner(pattern, key, req);
    const { answers, missing } = await askAll(key, req);
    if (missing.length > 0)
      throw new UnavailableError(
        "HEED_SHARD_UNANSWERED",
        `${pattern} applied on ${answers.map((a) => a.shardId).join(", ") || "no shard"}; shards ${missing.join(", ")} did not answer: repeat the call`,
      );
    return (answers[0] as Answer<K>).res;
  }

  return {
    async getStats(req) {
      const { answers, missing } = await askAll("getStats", req);
      const crawls = mergeGroups(
        answers.flatMap((a) => a.res.crawls),
        (s) => s.crawlId,
        mergeCrawlStats,
      );
      return { total: totalStats(crawls), crawls, missingShards: missing };
    },

    async getCrawl(req) {
      const { answers, missing } = await askAll("getCrawl", req);
      const crawl = mergeCrawls(answers.flatMap((a) => (a.res.crawl !== undefined ? [a.res.crawl] : [])));
      return { crawl, missingShards: missing };
    },

    async listCrawls(req) {
      const { answers, missing } = await askAll("listCrawls", req);
      const { page, more } = mergePages(
        answers.map((a) => ({ items: a.res.crawls, more: a.res.nextPageToken !== "" })),
        (c) => c.id,
        v.pageLimit(req.limit),
        mergeCrawls,
      );
      const last = page[page.length - 1];
      return {
        crawls: page,
        nextPageToken: more && last !== undefined ? v.encodePageToken(last.id, "crawls") : "",
        missingShards: missing,
      };
    },

    async listHostRules(req) {
      const { answers, missing } = await askAll("listHostRules", req);
      const { page, more } = mergePages(
        answers.map((a) => ({ items: a.res.rules, more: a.res.nextPageToken !== "" })),
        (r) => r.pattern,
        v.pageLimit(req.limit),
        (same) => same[0] as proto.HostPolicy,
      );
      const last = page[page.length - 1];
      return {
        rules: page,
        nextPageToken: more && last !== undefined ? v.encodePageToken(last.pattern, "rules") : "",
        missingShards: missing,
      };
    },

    async listHosts(req) {
      const limit = v.pageLimit(req.limit);
      const shards = fleet.shards();
      const at = fleetCursor(req.pageToken, "page_token", "fleetHosts", shards);
      const hosts: proto.Host[] = [];
      const missing: string[] = [];
      let policies: proto.HostPolicy[] = [];
      if (req.pageToken === "") {
        // Rules live with the shards owning their hosts: the first page shows them all.
        const rules = await askAll("listHostRules", { limit: 1000, pageToken: "" });
        policies = mergeGroups(
          rules.answers.flatMap((a) => a.res.rules),
          (r) => r.pattern,
          (same) => same[0] as proto.HostPolicy,
        );
        missing.push(...rules.missing);
      }
      for (let i = at.index; i < shards.length; i++) {
        const shard = shards[i] as ShardView;
        let res: proto.ListHostsResponse;
        try {
          res = await askOne(shard, "listHosts", {
            ...req,
            limit: limit - hosts.length,
            pageToken: i === at.index ? at.inner : "",
          });
        } catch (err) {
          if (!(err instanceof ShardUnansweredError)) throw err;
          if (!missing.includes(shard.shardId)) missing.push(shard.shardId);
          continue;
        }
        hosts.push(...res.hosts);
        if (res.nextPageToken !== "")
          return {
            hosts,
            policies,
            nextPageToken: encodeFleetCursor(shard.shardId, res.nextPageToken, "fleetHosts"),
            missingShards: missing,
          };
        const next = shards[i + 1];
        if (hosts.length >= limit && next !== undefined)
          return {
            hosts,
            policies,
            nextPageToken: encodeFleetCursor(next.shardId, "", "fleetHosts"),
            missingShards: missing,
          };
      }
      return { hosts, policies, nextPageToken: "", missingShards: missing };
    },

    async getUrl(req) {
      const url = v.canonical(req.url);
      return toOwner(hostKeyOf(url), "getUrl", { ...req, url });
    },

    blockHost: (req) => hostRule(v.blockPattern(req.pattern, req.force), "blockHost", req),
    setHostPolicy: (req) => hostRule(v.hostPattern(req.pattern), "setHostPolicy", req),
    unblockHost: (req) => hostRule(v.hostPattern(req.pattern), "unblockHost", req),

    async listShards() {
      const shards = fleet.shards();
      const answers = await Promise.allSettled(
        shards.map((s) =>
          s.member === undefined ? Promise.reject(new Error("expired")) : askOne(s, "listShards", {}),
        ),
      );
      return {
        mapVersion: fleet.mapVersion(),
        moves: fleet.moves(),
        shards: shards.map((s, i) => {
          const r = answers[i] as PromiseSettledResult<proto.ListShardsResponse>;
          const own =
            r.status === "fulfilled" ? r.value.shards.find((x) => x.shardId === s.shardId) : undefined;
          return {
            shardId: s.shardId,
            grpcAddress: s.member?.grpcAddress ?? "",
            ranges: s.ranges,
            partitions: s.ranges.reduce((n, x) => n + (x.to - x.from), 0),
            hosts: own?.hosts ?? 0,
            queued: own?.queued ?? 0,
            leasesPerSecond: own?.leasesPerSecond ?? 0,
            startedAtMs: s.member?.startedAt ?? 0,
            expired: s.member === undefined,
            unanswered: s.member !== undefined && own === undefined,
          };
        }),
      };
    },

    async exportUrls(req, emit, signal) {
      const shards = fleet.shards();
      const at = fleetCursor(req.after, "after", "fleetExport", shards);
      for (let i = at.index; i < shards.length && !signal.aborted; i++) {
        const shard = shards[i] as ShardView;
        let after = i === at.index ? at.inner : "";
        for (;;) {
          if (signal.aborted) return;
          let batch: proto.ExportUrlsResponse;
          try {
            batch = await askOne(shard, "exportUrls", { ...req, after });
          } catch (err) {
            if (!(err instanceof ShardUnansweredError)) throw err;
            // Said in the stream, with a cursor from which a later export can take this shard up again.
            await emit({
              urls: [],
              cursor: encodeFleetCursor(shard.shardId, after, "fleetExport"),
              missingShards: [shard.shardId],
            });
            break;
          }
          if (batch.urls.length === 0) break;
          after = batch.cursor;
          await emit({
            urls: batch.urls,
            cursor: encodeFleetCursor(shard.shardId, after, "fleetExport"),
            missingShards: [],
          });
        }
      }
    },
  };
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof NotFoundError || (err instanceof ShardAnswerError && err.grpcCode === status.NOT_FOUND)
  );
}

/** Where a fleet-wide list goes on: the shard's place in the list and its own token. */
function fleetCursor(
  token: string,
  field: string,
  kind: "fleetHosts" | "fleetExport",
  shards: ShardView[],
): { index: number; inner: string } {
  const text = v.pageToken(token, field, kind);
  if (text === undefined) return { index: 0, inner: "" };
  const space = text.indexOf(" ");
  const shardId = space < 0 ? text : text.slice(0, space);
  const inner = space < 0 ? "" : text.slice(space + 1);
  // A shard that left since the token was made: go on with the next one after it by id.
  const index = shards.findIndex((s) => s.shardId >= shardId);
  if (index < 0) return { index: shards.length, inner: "" };
  return { index, inner: (shards[index] as ShardView).shardId === shardId ? inner : "" };
}

function encodeFleetCursor(shardId: string, inner: string, kind: "fleetHosts" | "fleetExport"): string {
  return v.encodePageToken(`${shardId} ${inner}`, kind);
}

/** Items with the same key merged into one, in key order. */
function mergeGroups<T>(items: T[], keyOf: (t: T) => string, merge: (same: T[]) => T): T[] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [item]);
    else g.push(item);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => merge(g));
}

/**
 * One page from several shards' pages of the same key-ordered list. A shard
 * with more to give has given nothing after its last key, so the page stops
 * at the smallest such key: the next page (after the page's last key) then
 * neither skips nor repeats anything.
 */
export function mergePages<T>(
  pages: { items: T[]; more: boolean }[],
  keyOf: (t: T) => string,
  limit: number,
  merge: (same: T[]) => T,
): { page: T[]; more: boolean } {
  let cutoff: string | undefined;
  for (const p of pages) {
    const last = p.items[p.items.length - 1];
    if (p.more && last !== undefined) {
      const k = keyOf(last);
      if (cutoff === undefined || k < cutoff) cutoff = k;
    }
  }
  const merged = mergeGroups(
    pages.flatMap((p) => p.items),
    keyOf,
    merge,
  );
  const within = cutoff === undefined ? merged : merged.filter((t) => keyOf(t) <= (cutoff as string));
  const page = within.slice(0, limit);
  return { page, more: cutoff !== undefined || within.length > limit || page.length < merged.length };
}

const S = proto.CrawlState;

/** A crawl's state over its shards: it runs while any shard still works on it. */
export function mergeCrawlState(states: proto.CrawlState[]): proto.CrawlState {
  for (const s of [S.CRAWL_STATE_CANCELLED, S.CRAWL_STATE_PAUSED, S.CRAWL_STATE_RUNNING])
    if (states.includes(s)) return s;
  return states[0] ?? S.CRAWL_STATE_UNSPECIFIED;
}

function sumMaps(maps: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, n] of Object.entries(m)) out[k] = (out[k] ?? 0) + n;
  return out;
}

function sumCounts(list: (proto.UrlCounts | undefined)[]): proto.UrlCounts {
  const c = { queued: 0, leased: 0, done: 0, failed: 0, skipped: 0 };
  for (const x of list) for (const k of Object.keys(c) as (keyof typeof c)[]) c[k] += x?.[k] ?? 0;
  return c;
}

const sum = <T>(list: T[], f: (t: T) => number) => list.reduce((n, t) => n + f(t), 0);
const round = (x: number) => Math.round(x * 100) / 100;

/** One crawl's stats from every shard that has it. */
export function mergeCrawlStats(list: proto.CrawlStats[]): proto.CrawlStats {
  const first = list[0] as proto.CrawlStats;
  const counts = sumCounts(list.map((s) => s.counts));
  const elapsedMs = Math.max(...list.map((s) => s.elapsedMs));
  const state = mergeCrawlState(list.map((s) => s.state));
  const ended = state === S.CRAWL_STATE_FINISHED || state === S.CRAWL_STATE_CANCELLED;
  // The crawl ends with its slowest shard; a stall holds only if every shard is stalled.
  const withEta = list.filter((s) => s.etaMs > 0);
  const stalls = list.flatMap((s) => (s.stall !== undefined ? [s.stall] : []));
  const stall = !ended && stalls.length === list.length ? stalls[0] : undefined;
  return {
    crawlId: first.crawlId,
    state,
    counts,
    skippedByReason: sumMaps(list.map((s) => s.skippedByReason)),
    statusCounts: sumMaps(list.map((s) => s.statusCounts)),
    bytes: sum(list, (s) => s.bytes),
    hosts: sum(list, (s) => s.hosts),
    pagesPerSecond: round(sum(list, (s) => s.pagesPerSecond)),
    pagesPerSecondOverall: elapsedMs > 0 ? round(counts.done / (elapsedMs / 1000)) : 0,
    elapsedMs,
    ...(stall !== undefined ? { stall } : {}),
    settledPerSecond: round(sum(list, (s) => s.settledPerSecond)),
    discoveredPerSecond: round(sum(list, (s) => s.discoveredPerSecond)),
    etaMs: !ended && withEta.length > 0 ? Math.max(...withEta.map((s) => s.etaMs)) : 0,
    noEtaReason: ended
      ? "ended"
      : withEta.length > 0
        ? ""
        : (list.find((s) => s.noEtaReason !== "")?.noEtaReason ?? ""),
  };
}

/** One crawl from every shard that has it: its definition once, its counters summed. */
export function mergeCrawls(list: proto.Crawl[]): proto.Crawl {
  const first = list[0];
  if (first === undefined) throw new NotFoundError("no shard has this crawl");
  const state = mergeCrawlState(list.map((c) => c.state));
  const ended = state === S.CRAWL_STATE_FINISHED || state === S.CRAWL_STATE_CANCELLED;
  return {
    ...first,
    state,
    seedCount: Math.max(...list.map((c) => c.seedCount)),
    createdAtMs: Math.min(...list.map((c) => c.createdAtMs)),
    finishedAtMs: ended ? Math.max(...list.map((c) => c.finishedAtMs)) : 0,
    counts: sumCounts(list.map((c) => c.counts)),
    pagesLeased: sum(list, (c) => c.pagesLeased),
    bytes: sum(list, (c) => c.bytes),
    statusCounts: sumMaps(list.map((c) => c.statusCounts)),
    skipCounts: sumMaps(list.map((c) => c.skipCounts)),
    hosts: sum(list, (c) => c.hosts),
  };
}

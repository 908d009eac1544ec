import { Writable } from "node:stream";
import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import { writeWacz } from "@heed/archive";
import {
  AlreadyExistsError,
  crawlSpecFromProto,
  crawlSpecToProto,
  type Logger,
  NotFoundError,
  proto,
  sleep,
  UnavailableError,
} from "@heed/shared";
import type { NatsConnection } from "nats";
import { discoveryBatches } from "../frontier/discovery.js";
import type { Frontier } from "../frontier/frontier.js";
import { normalizePattern } from "../frontier/policies.js";
import type { CrawlRecord } from "../frontier/records.js";
import { seedCount } from "../frontier/seeds.js";
import { undecodable } from "../grpc/decode-guard.js";
import type { CrawlBook } from "../shards/crawl-book.js";
import type { WorkerRegistry } from "../workers/registry.js";
import type { Auth, Role } from "./auth.js";
import { type AdminFleet, createFanOut, type FanOut } from "./fanout.js";
import { listHosts } from "./hosts.js";
import { pageOf, positionKey } from "./paging.js";
import type { LocalRpcs } from "./shard-rpc.js";
import { hostWaits, stallOf } from "./stall.js";
import { crawlStats, leasesPerSecond, type RateSampler, totalStats } from "./stats.js";
import { toGrpcError } from "./status.js";
import * as v from "./validate.js";
import { crawlStateFromProto, crawlToProto, policyToProto, urlStateFromProto, urlToProto } from "./wire.js";

export interface AdminDeps {
  frontier: Frontier;
  auth: Auth;
  workers: WorkerRegistry;
  rates: RateSampler;
  /** Broadcasts a drain to one worker, or to all when the id is empty. */
  drain(workerId: string): Promise<void>;
  /** The coordinator's root logger: its level is the one SetLogLevel changes (children follow it). */
  log: Logger;
  /** Where closed WARC files are read from for ExportWacz. */
  warcDir: string;
  clock?: () => number;
  /**
   * A sharded coordinator: its shard id, and the fleet its admin answers speak
   * for (crawl-wide reads ask every shard, host-scoped calls go to the owner).
   */
  shard?: {
    id: string;
    fleet: AdminFleet;
    nats(): NatsConnection | undefined;
    /** How long another shard has to answer before it is named missing. */
    timeoutMs: number;
    /** The fleet's crawls (heed-crawls bucket): crawl creates and state changes go there. */
    crawls(): CrawlBook | undefined;
  };
}

/** Export batches between shards stay well under NATS's default 1 MB message limit. */
const SHARD_EXPORT_BATCH = 100;

export interface AdminService {
  implementation: proto.AdminServiceServer;
  /** This coordinator's own answers, without fan-out: what it serves to the other shards. */
  local: LocalRpcs;
  /** Ends open streams (progress watches, exports) so the server can shut down. */
  close(): void;
}

export function adminService(deps: AdminDeps): AdminService {
  const { frontier } = deps;
  const now = deps.clock ?? Date.now;
  const log = deps.log.child({ component: "admin" });
  const closing = new AbortController();
  const local: LocalRpcs = {};
  const fan: FanOut | undefined =
    deps.shard !== undefined
      ? createFanOut({
          fleet: deps.shard.fleet,
          nats: deps.shard.nats,
          local,
          timeoutMs: deps.shard.timeoutMs,
        })
      : undefined;

  const mustCrawl = (id: string) => {
    const crawl = frontier.crawl(v.crawlId(id));
    if (crawl === undefined) throw new NotFoundError(`no crawl ${id}`);
    return crawl;
  };

  /** A crawl's counters, rates, ETA and, when it makes no progress, why. */
  const statsOf = (crawl: CrawlRecord, t: number) => {
    const liveWorkers = deps.workers
      .list(t)
      .filter((w) => w.heartbeat.state !== proto.WorkerState.WORKER_STATE_DRAINING).length;
    const stall = stallOf(crawl, { liveWorkers, hosts: () => hostWaits(frontier, crawl.id, t) }, t);
    return crawlStats(crawl, deps.rates, t, stall);
  };

  /** Every change an operator makes is logged: it is part of what a crawl must be able to prove. */
  const audit = (rpc: string, fields: Record<string, unknown>) =>
    log.info({ rpc, ...fields }, "admin change");

  /**
   * A gRPC call: `fn` is this coordinator's own answer (also served to other
   * shards), `fleetWide` the answer for a whole sharded crawl, when it differs.
   */
  function unary<Req, Res>(
    rpc: string,
    role: Role,
    fn: (req: Req) => Res | Promise<Res>,
    fleetWide?: (req: Req) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    (local as Record<string, unknown>)[rpc.charAt(0).toLowerCase() + rpc.slice(1)] = fn;
    const run = fleetWide ?? fn;
    return (call, callback) => {
      const refused = deps.auth.admin(call.metadata, role);
      if (refused !== undefined) {
        log.warn({ rpc, peer: call.getPeer(), code: status[refused.code] }, "admin call refused");
        callback(refused);
        return;
      }
      const bad = undecodable(call.request);
      if (bad !== undefined) {
        callback(toGrpcError(bad));
        return;
      }
      Promise.resolve()
        .then(() => run(call.request))
        .then(
          (res) => callback(null, res),
          (err: unknown) => {
            const e = toGrpcError(err);
            if (e.code === status.INTERNAL) log.error({ rpc, err: e.details }, "admin call failed");
            callback(e);
          },
        );
    };
  }

  function streaming<Req, Res>(
    rpc: string,
    role: Role,
    fn: (req: Req, call: ServerWritableStream<Req, Res>) => Promise<void>,
  ): handleServerStreamingCall<Req, Res> {
    return (call) => {
      const refused = deps.auth.admin(call.metadata, role);
      if (refused !== undefined) {
        log.warn({ rpc, peer: call.getPeer(), code: status[refused.code] }, "admin call refused");
        call.emit("error", refused);
        return;
      }
      const bad = undecodable(call.request);
      if (bad !== undefined) {
        call.emit("error", toGrpcError(bad));
        return;
      }
      fn(call.request, call).then(
        () => call.end(),
        (err: unknown) => {
          const e = toGrpcError(err);
          if (e.code === status.INTERNAL) log.error({ rpc, err: e.details }, "admin stream failed");
          call.emit("error", e);
        },
      );
    };
  }

  /** Writes one message, waiting while the client is slow (no unbounded buffering). */
  function write<Res>(call: ServerWritableStream<unknown, Res>, msg: Res): Promise<void> {
    if (call.write(msg)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        call.off("drain", done);
        call.off("cancelled", done);
        resolve();
      };
      call.once("drain", done);
      call.once("cancelled", done);
    });
  }

  /** Aborted when the client goes away or the coordinator closes. */
  function callSignal(call: ServerWritableStream<unknown, unknown>): AbortSignal {
    const ctl = new AbortController();
    call.once("cancelled", () => ctl.abort());
    return AbortSignal.any([ctl.signal, closing.signal]);
  }

  const implementation: proto.AdminServiceServer = {
    createCrawl: unary("CreateCrawl", "operate", async (req: proto.CreateCrawlRequest) => {
      const spec = crawlSpecFromProto(v.definitionSize(req.definition));
      const existing = spec.id !== undefined ? frontier.crawl(spec.id) : undefined;
      if (existing !== undefined) {
        // Idempotent by id: a retry after a timeout finds the crawl its first attempt made.
        const asked = JSON.stringify(crawlSpecToProto({ ...spec, id: existing.id }));
        if (asked !== JSON.stringify(crawlSpecToProto(existing.spec)))
          throw new AlreadyExistsError(`crawl ${existing.id} exists with another definition`);
        return { crawl: crawlToProto(existing) };
      }
      const book = fleetCrawls();
      const crawl = book !== undefined ? await book.create(spec) : frontier.createCrawl(spec);
      audit("CreateCrawl", { crawlId: crawl.id, seeds: seedCount(crawl) });
      return { crawl: crawlToProto(crawl) };
    }),
    addSeeds: unary("AddSeeds", "operate", async (req: proto.AddSeedsRequest) => {
      const id = v.crawlId(req.crawlId);
      const seeds = v.seeds(req.seeds);
      mustCrawl(id);
      // Sharded: every shard learns them (their hosts join the crawl's scope everywhere).
      const book = fleetCrawls();
      const { added } = book !== undefined ? await book.addSeeds(id, seeds) : frontier.addSeeds(id, seeds);
      audit("AddSeeds", { crawlId: id, seeds: seeds.length, added });
      return { added, crawl: crawlToProto(mustCrawl(id)) };
    }),
    getCrawl: unary(
      "GetCrawl",
      "read",
      (req: proto.GetCrawlRequest) => ({ crawl: crawlToProto(mustCrawl(req.crawlId)), missingShards: [] }),
      fan?.getCrawl,
    ),
    listCrawls: unary(
      "ListCrawls",
      "read",
      (req: proto.ListCrawlsRequest) => {
        const state = crawlStateFromProto(req.state);
        const matching = frontier
          .crawls()
          .filter((c) => state === undefined || c.state === state)
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const { page, nextPageToken } = pageOf(matching, (c) => c.id, req, "crawls");
        return { crawls: page.map(crawlToProto), nextPageToken, missingShards: [] };
      },
      fan?.listCrawls,
    ),
    listSeeds: unary("ListSeeds", "read", (req: proto.ListSeedsRequest) => {
      const crawl = mustCrawl(req.crawlId);
      const after = v.pageToken(req.pageToken, "page_token", "seeds");
      const from = after === undefined ? 0 : Number.parseInt(after, 36) + 1;
      const { page, nextPageToken } = pageOf(
        frontier.seeds(crawl, from),
        (s) => positionKey(s.position),
        req,
        "seeds",
      );
      return { seeds: page.map((s) => s.url), nextPageToken };
    }),
    pauseCrawl: unary("PauseCrawl", "operate", (req: proto.PauseCrawlRequest) =>
      changeCrawl("PauseCrawl", req.crawlId, "pause"),
    ),
    resumeCrawl: unary("ResumeCrawl", "operate", (req: proto.ResumeCrawlRequest) =>
      changeCrawl("ResumeCrawl", req.crawlId, "resume"),
    ),
    cancelCrawl: unary("CancelCrawl", "operate", (req: proto.CancelCrawlRequest) =>
      changeCrawl("CancelCrawl", req.crawlId, "cancel"),
    ),
    getStats: unary(
      "GetStats",
      "read",
      (req: proto.GetStatsRequest) => {
        const t = now();
        const crawls = req.crawlId !== "" ? [mustCrawl(req.crawlId)] : frontier.crawls();
        const stats = crawls.map((c) => statsOf(c, t));
        return { total: totalStats(stats), crawls: stats, missingShards: [] };
      },
      fan?.getStats,
    ),
    watchProgress: streaming(
      "WatchProgress",
      "read",
      async (
        req: proto.WatchProgressRequest,
        call: ServerWritableStream<proto.WatchProgressRequest, proto.WatchProgressResponse>,
      ) => {
        const interval = v.watchIntervalMs(req.intervalMs);
        const id = mustCrawl(req.crawlId).id;
        const signal = callSignal(call);
        while (!signal.aborted) {
          const t = now();
          const { stats, missingShards } = await progressOf(id, t);
          const S = proto.CrawlState;
          const final = stats.state === S.CRAWL_STATE_FINISHED || stats.state === S.CRAWL_STATE_CANCELLED;
          await write(call, { stats, atMs: t, final, missingShards });
          if (final) return;
          await sleep(interval, signal);
        }
        // The client left (nothing to answer) or the coordinator is closing (say so).
        if (closing.signal.aborted)
          throw new UnavailableError("HEED_CLOSING", "the coordinator is shutting down");
      },
    ),
    listHosts: unary(
      "ListHosts",
      "read",
      (req: proto.ListHostsRequest) => {
        const limit = v.pageLimit(req.limit);
        const after = v.pageToken(req.pageToken);
        const crawlId = req.crawlId !== "" ? mustCrawl(req.crawlId).id : undefined;
        const page = listHosts(
          frontier,
          {
            ...(crawlId !== undefined ? { crawlId } : {}),
            status: req.status,
            limit,
            ...(after !== undefined ? { after } : {}),
          },
          now(),
        );
        const policies = after === undefined ? frontier.hostPolicies().map(policyToProto) : [];
        return { ...page, policies, missingShards: [] };
      },
      fan?.listHosts,
    ),
    blockHost: unary(
      "BlockHost",
      "operate",
      (req: proto.BlockHostRequest) => {
        const pattern = v.blockPattern(req.pattern, req.force);
        const reason = v.reason(req.reason);
        const policy = frontier.setHostPolicy({ pattern, mode: "block", reason });
        audit("BlockHost", { pattern, reason, ...(req.force ? { force: true } : {}) });
        return { policy: policyToProto(policy) };
      },
      fan?.blockHost,
    ),
    unblockHost: unary(
      "UnblockHost",
      "operate",
      (req: proto.UnblockHostRequest) => {
        const pattern = v.hostPattern(req.pattern);
        const existing = frontier.hostPolicies().find((p) => p.pattern === normalizePattern(pattern));
        if (existing === undefined || !frontier.removeHostPolicy(pattern))
          throw new NotFoundError(`no block or slow-down for ${pattern}`);
        audit("UnblockHost", { pattern, mode: existing.mode });
        return { removed: policyToProto(existing) };
      },
      fan?.unblockHost,
    ),
    setHostPolicy: unary(
      "SetHostPolicy",
      "operate",
      (req: proto.SetHostPolicyRequest) => {
        const pattern = v.hostPattern(req.pattern);
        const minDelayMs = v.slowDownMs(req.minDelayMs);
        const reason = v.reason(req.reason);
        const policy = frontier.setHostPolicy({ pattern, mode: "slow", minDelayMs, reason });
        audit("SetHostPolicy", { pattern, minDelayMs, reason });
        return { policy: policyToProto(policy) };
      },
      fan?.setHostPolicy,
    ),
    listHostRules: unary(
      "ListHostRules",
      "read",
      (req: proto.ListHostRulesRequest) => {
        const rules = frontier
          .hostPolicies()
          .sort((a, b) => (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0));
        const { page, nextPageToken } = pageOf(rules, (r) => r.pattern, req, "rules");
        return { rules: page.map(policyToProto), nextPageToken, missingShards: [] };
      },
      fan?.listHostRules,
    ),
    getUrl: unary(
      "GetUrl",
      "read",
      (req: proto.GetUrlRequest) => {
        const url = v.canonical(req.url);
        const id = mustCrawl(req.crawlId).id;
        const rec = frontier.url(id, url);
        if (rec === undefined) throw new NotFoundError(`crawl ${id} has no URL ${url}`);
        return { url: urlToProto(rec) };
      },
      fan?.getUrl,
    ),
    exportUrls: streaming(
      "ExportUrls",
      "read",
      async (
        req: proto.ExportUrlsRequest,
        call: ServerWritableStream<proto.ExportUrlsRequest, proto.ExportUrlsResponse>,
      ) => {
        const id = mustCrawl(req.crawlId).id;
        const signal = callSignal(call);
        if (fan !== undefined) {
          await fan.exportUrls(req, (msg) => write(call, msg), signal);
        } else {
          const state = urlStateFromProto(req.state);
          const after = v.exportCursor(req.after);
          const wanted = (u: { state: string }) => state === undefined || u.state === state;
          for (const batch of discoveryBatches(frontier.store, id, wanted, after)) {
            if (signal.aborted) break;
            await write(call, {
              urls: batch.urls.map(urlToProto),
              cursor: v.encodeExportCursor(batch.last),
              missingShards: [],
            });
          }
        }
        if (closing.signal.aborted)
          throw new UnavailableError("HEED_CLOSING", "the coordinator is shutting down");
      },
    ),
    exportWacz: streaming(
      "ExportWacz",
      "read",
      async (
        req: proto.ExportWaczRequest,
        call: ServerWritableStream<proto.ExportWaczRequest, proto.ExportWaczResponse>,
      ) => {
        const id = mustCrawl(req.crawlId).id;
        const signal = callSignal(call);
        // Each chunk the zip writer emits goes out as one message, and the writer waits while the
        // client is slow: the package is never held whole in memory.
        const output = new Writable({
          write(chunk: Buffer, _enc, done) {
            if (signal.aborted) {
              done(new UnavailableError("HEED_EXPORT_ABORTED", "the export was cancelled"));
              return;
            }
            write(call, { data: chunk }).then(() => done(), done);
          },
        });
        const summary = await writeWacz({
          warcDir: deps.warcDir,
          crawlId: id,
          output,
        });
        log.info({ rpc: "ExportWacz", crawlId: id, ...summary }, "WACZ exported");
      },
    ),
    listWorkers: unary("ListWorkers", "read", (req: proto.ListWorkersRequest) => {
      const { page, nextPageToken } = pageOf(
        deps.workers.list(now()),
        (w) => w.heartbeat.workerId,
        req,
        "workers",
      );
      return {
        nextPageToken,
        workers: page.map((w) => ({
          workerId: w.heartbeat.workerId,
          version: w.heartbeat.version,
          state: w.heartbeat.state,
          inFlight: w.heartbeat.inFlight,
          concurrency: w.heartbeat.concurrency,
          fetched: w.heartbeat.fetched,
          fetchesPerSecond: Math.round(w.fetchesPerSecond * 100) / 100,
          startedAtMs: w.heartbeat.startedAtMs,
          lastSeenAtMs: w.lastSeenAtMs,
          hostname: w.heartbeat.hostname,
          pid: w.heartbeat.pid,
        })),
      };
    }),
    drainWorkers: unary("DrainWorkers", "operate", async (req: proto.DrainWorkersRequest) => {
      const target = v.drainTarget(req);
      const live = deps.workers.list(now()).map((w) => w.heartbeat.workerId);
      if ("workerId" in target && !live.includes(target.workerId))
        throw new NotFoundError(`no live worker ${target.workerId} (see ListWorkers)`);
      await deps.drain("workerId" in target ? target.workerId : "");
      const workerIds = "workerId" in target ? [target.workerId] : live;
      audit("DrainWorkers", { workers: workerIds });
      return { workerIds };
    }),
    setLogLevel: unary("SetLogLevel", "operate", (req: proto.SetLogLevelRequest) => {
      const level = v.logLevel(req.level);
      const previous = deps.log.level;
      // Logged at the old level, so even a switch to "silent" leaves a trace.
      audit("SetLogLevel", { previous, level });
      deps.log.level = level;
      return { previous, level };
    }),
    listShards: unary(
      "ListShards",
      "read",
      (): proto.ListShardsResponse => {
        if (deps.shard === undefined) return { shards: [], mapVersion: 0, moves: [] };
        // This shard's own figures; the fleet-wide answer adds its address, ranges and age.
        const t = now();
        const crawls = frontier.crawls();
        const own: proto.ShardInfo = {
          shardId: deps.shard.id,
          grpcAddress: "",
          ranges: [],
          partitions: 0,
          hosts: frontier.store.hosts.getKeysCount(),
          queued: crawls.reduce((n, c) => n + c.counts.queued, 0),
          leasesPerSecond: leasesPerSecond(deps.rates, crawls, t),
          startedAtMs: 0,
          expired: false,
          unanswered: false,
        };
        return { shards: [own], mapVersion: 0, moves: [] };
      },
      fan?.listShards,
    ),
  };

  /** The next batch of a crawl's URLs after the cursor, as other shards' exports ask for them. */
  local.exportUrls = (req: proto.ExportUrlsRequest): proto.ExportUrlsResponse => {
    const id = mustCrawl(req.crawlId).id;
    const state = urlStateFromProto(req.state);
    const wanted = (u: { state: string }) => state === undefined || u.state === state;
    for (const batch of discoveryBatches(
      frontier.store,
      id,
      wanted,
      v.exportCursor(req.after),
      SHARD_EXPORT_BATCH,
    ))
      return {
        urls: batch.urls.map(urlToProto),
        cursor: v.encodeExportCursor(batch.last),
        missingShards: [],
      };
    return { urls: [], cursor: req.after, missingShards: [] };
  };

  /** A sharded coordinator's crawl book; undefined when unsharded. */
  function fleetCrawls(): CrawlBook | undefined {
    if (deps.shard === undefined) return undefined;
    const book = deps.shard.crawls();
    if (book === undefined)
      throw new UnavailableError("HEED_SHARD_STARTING", "the shard is still joining its fleet");
    return book;
  }

  /** Pause, resume or cancel: through the fleet's crawl book when sharded, so every shard applies it. */
  async function changeCrawl(rpc: string, crawlId: string, action: "pause" | "resume" | "cancel") {
    const id = v.crawlId(crawlId);
    const book = fleetCrawls();
    const crawl = book !== undefined ? await book.change(id, action) : frontier.changeCrawlState(id, action);
    audit(rpc, { crawlId: crawl.id });
    return { crawl: crawlToProto(crawl) };
  }

  /** A crawl's progress: this coordinator's, or the whole sharded crawl's. */
  async function progressOf(
    id: string,
    t: number,
  ): Promise<{ stats: proto.CrawlStats; missingShards: string[] }> {
    if (fan === undefined) return { stats: statsOf(mustCrawl(id), t), missingShards: [] };
    const res = await fan.getStats({ crawlId: id });
    const stats = res.crawls[0];
    if (stats === undefined) throw new NotFoundError(`no crawl ${id}`);
    return { stats, missingShards: res.missingShards };
  }

  return { implementation, local, close: () => closing.abort() };
}

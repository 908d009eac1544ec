import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import {
  ConfigError,
  crawlSpecInput,
  crawlSpecToProto,
  fromHeader,
  parseCrawlSpec,
  proto,
  userAgentHeader,
} from "@heed/shared";
import type { Command } from "commander";
import { addCrawlFlags, crawlFlagValues } from "../../crawl-flags.js";
import { RpcError } from "../client.js";
import { act, arg, args } from "../context.js";
import { bytes, enumText, fields, print, printJson, table, timestamp } from "../output.js";
import { seedChunks } from "../seed-file.js";
import { stallText } from "./watch.js";

/** Seeds per CreateCrawl or AddSeeds request: the coordinator's documented maximum. */
const SEEDS_PER_REQUEST = 10_000;

const STATES = ["running", "paused", "finished", "cancelled"] as const;

export function crawlCommands(program: Command): void {
  const crawl = program
    .command("crawl")
    .description("create, list, inspect, pause, resume and cancel crawls");

  const create = crawl
    .command("create")
    .description("create a crawl from seeds and flags, or from a crawl file (flags override the file)")
    .argument("[seeds...]", "URLs to start from")
    .option("--crawl-file <file>", "JSON crawl definition (as for heed coordinator --crawl-file)")
    .option("--seeds-file <file>", "more seeds, one URL per line or NDJSON, sent in chunks");
  addCrawlFlags(create)
    .addHelpText(
      "after",
      `
Examples:
  heedctl crawl create https://example.org/ --contact webarchive@example.org --max-pages 1000
  heedctl crawl create --crawl-file library-2026-11.json`,
    )
    .action(
      act(async (ctx, cmd) => {
        const all = definitionOf(args(cmd, 0), cmd);
        // An id chosen here makes every attempt the same request: after a timeout, asking again
        // either creates the crawl or finds the one the first attempt made, never a second crawl.
        const id =
          all.id !== "" ? all.id : `crawl-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
        const first = all.seeds.slice(0, SEEDS_PER_REQUEST);
        const definition = { ...all, id, seeds: first };
        let created = await retryOnce(() => ctx.admin.call((c) => c.createCrawl, { definition }));
        let sent = first.length;
        const more = async (seeds: string[]) => {
          const res = await retryOnce(() => ctx.admin.call((c) => c.addSeeds, { crawlId: id, seeds }));
          sent += seeds.length;
          created = { crawl: res.crawl };
        };
        for (let i = SEEDS_PER_REQUEST; i < all.seeds.length; i += SEEDS_PER_REQUEST)
          await more(all.seeds.slice(i, i + SEEDS_PER_REQUEST));
        const file = cmd.opts().seedsFile as string | undefined;
        if (file !== undefined)
          for await (const chunk of seedChunks(file, SEEDS_PER_REQUEST)) await more(chunk);
        const crawl = created.crawl as proto.Crawl;
        if (ctx.json) printJson(proto.Crawl.toJSON(crawl));
        else print(`crawl ${crawl.id} created (${crawl.seedCount} seed(s), ${sent} sent)`);
        return undefined;
      }),
    );

  crawl
    .command("list")
    .description("list crawls with their counts")
    .option("--state <state>", `only crawls in this state (${STATES.join(", ")})`)
    .action(
      act(async (ctx, cmd) => {
        const state = cmd.opts().state as string | undefined;
        const crawls = await allPages(
          (pageToken) =>
            ctx.admin.call((c) => c.listCrawls, { state: crawlStateOf(state), limit: 0, pageToken }),
          (r) => r.crawls,
        );
        if (ctx.json) {
          printJson(proto.ListCrawlsResponse.toJSON({ crawls, nextPageToken: "", missingShards: [] }));
          return undefined;
        }
        print(
          table(
            ["ID", "STATE", "DONE", "QUEUED", "IN FLIGHT", "FAILED", "SKIPPED", "HOSTS", "BYTES", "CREATED"],
            crawls.map((c) => [
              c.id,
              enumText(proto.CrawlState[c.state], "CRAWL_STATE_"),
              c.counts?.done ?? 0,
              c.counts?.queued ?? 0,
              c.counts?.leased ?? 0,
              c.counts?.failed ?? 0,
              c.counts?.skipped ?? 0,
              c.hosts,
              bytes(c.bytes),
              timestamp(c.createdAtMs),
            ]),
          ),
        );
        return undefined;
      }),
    );

  crawl
    .command("get")
    .description("show a crawl: state, counts, skips by reason and its definition")
    .argument("<crawl-id>")
    .action(
      act(async (ctx, cmd) => {
        const res = await ctx.admin.call((c) => c.getCrawl, { crawlId: arg(cmd, 0) });
        const c = res.crawl as proto.Crawl;
        if (ctx.json) {
          printJson(proto.Crawl.toJSON(c));
          return undefined;
        }
        // Why it makes no progress, if it does not: the stats answer carries it.
        const stats = await ctx.admin.call((a) => a.getStats, { crawlId: c.id });
        print(crawlText(c, stats.crawls[0] !== undefined ? stallText(stats.crawls[0], Date.now()) : ""));
        return undefined;
      }),
    );

  for (const [name, verb] of [
    ["pause", "paused"],
    ["resume", "resumed"],
    ["cancel", "cancelled"],
  ] as const) {
    crawl
      .command(name)
      .description(
        name === "cancel"
          ? "cancel a crawl: queued URLs are skipped, leases out finish"
          : `${name} a crawl (leases out finish; nothing is lost)`,
      )
      .argument("<crawl-id>")
      .action(
        act(async (ctx, cmd) => {
          const req = { crawlId: arg(cmd, 0) };
          const res =
            name === "pause"
              ? await ctx.admin.call((c) => c.pauseCrawl, req)
              : name === "resume"
                ? await ctx.admin.call((c) => c.resumeCrawl, req)
                : await ctx.admin.call((c) => c.cancelCrawl, req);
          const c = res.crawl as proto.Crawl;
          if (ctx.json) printJson(proto.Crawl.toJSON(c));
          else print(`crawl ${c.id} ${verb}`);
          return undefined;
        }),
      );
  }

  const seeds = program.command("seeds").description("add and list a crawl's seeds");
  seeds
    .command("add")
    .description("add seeds (their hosts join the crawl's scope; a finished crawl runs again)")
    .argument("<crawl-id>")
    .argument("[seeds...]")
    .option("--file <file>", "seeds from a file, one URL per line or NDJSON, sent in chunks of 10000")
    .addHelpText(
      "after",
      `
Adding a seed twice changes nothing, so after a timeout, run the same command again.

Examples:
  heedctl seeds add library-2026-11 https://example.org/news/
  heedctl seeds add library-2026-11 --file seeds.txt`,
    )
    .action(
      act(async (ctx, cmd) => {
        const crawlId = arg(cmd, 0);
        const file = cmd.opts().file as string | undefined;
        const given = args(cmd, 1);
        if (given.length === 0 && file === undefined)
          throw new ConfigError("seeds", "give seeds as arguments or --file");
        let added = 0;
        let sent = 0;
        let crawl: proto.Crawl | undefined;
        const send = async (chunk: string[]) => {
          const res = await retryOnce(() => ctx.admin.call((c) => c.addSeeds, { crawlId, seeds: chunk }));
          added += res.added;
          sent += chunk.length;
          crawl = res.crawl;
        };
        for (let i = 0; i < given.length; i += SEEDS_PER_REQUEST)
          await send(given.slice(i, i + SEEDS_PER_REQUEST));
        if (file !== undefined)
          for await (const chunk of seedChunks(file, SEEDS_PER_REQUEST)) await send(chunk);
        if (ctx.json) printJson(proto.AddSeedsResponse.toJSON({ added, crawl }));
        else print(`added ${added} new seed(s) of ${sent} to ${crawlId} (${crawl?.seedCount ?? 0} in all)`);
        return undefined;
      }),
    );
  seeds
    .command("list")
    .description("a crawl's seeds, one per line, in the order they were added")
    .argument("<crawl-id>")
    .action(
      act(async (ctx, cmd) => {
        let pageToken = "";
        do {
          const res = await ctx.admin.call((c) => c.listSeeds, {
            crawlId: arg(cmd, 0),
            limit: 1000,
            pageToken,
          });
          const text = res.seeds.map((s) => (ctx.json ? JSON.stringify({ url: s }) : s)).join("\n");
          if (text !== "") print(text);
          pageToken = res.nextPageToken;
        } while (pageToken !== "");
        return undefined;
      }),
    );
}

/** Every page of a list call, in order. */
export async function allPages<Res extends { nextPageToken: string }, T>(
  call: (pageToken: string) => Promise<Res>,
  items: (res: Res) => T[],
): Promise<T[]> {
  const all: T[] = [];
  let pageToken = "";
  do {
    const res = await call(pageToken);
    all.push(...items(res));
    pageToken = res.nextPageToken;
  } while (pageToken !== "");
  return all;
}

/** Once more after a timeout or a lost connection: only for calls that are idempotent. */
async function retryOnce<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof RpcError && [status.DEADLINE_EXCEEDED, status.UNAVAILABLE].includes(err.grpcCode))
      return call();
    throw err;
  }
}

export function crawlStateOf(state: string | undefined): proto.CrawlState {
  if (state === undefined) return proto.CrawlState.CRAWL_STATE_UNSPECIFIED;
  const value = proto.CrawlState[`CRAWL_STATE_${state.toUpperCase()}` as keyof typeof proto.CrawlState];
  if (typeof value !== "number") throw new ConfigError("--state", `one of ${STATES.join(", ")}`);
  return value;
}

/**
 * The crawl file, then HEED_* environment, then flags over it, checked here
 * (a bad value costs no round trip and names the crawl-file key or flag), and
 * sent with every default filled in.
 */
function definitionOf(seeds: string[], cmd: Command): proto.CrawlDefinition {
  const input = crawlSpecInput({
    file: cmd.opts().crawlFile as string | undefined,
    flags: crawlFlagValues(cmd),
    seeds,
  });
  return crawlSpecToProto(parseCrawlSpec(input));
}

function crawlText(c: proto.Crawl, stalled: string): string {
  const d = c.definition;
  const kv = (m: Record<string, number>) =>
    Object.entries(m)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
  return fields([
    ["id", c.id],
    ["state", enumText(proto.CrawlState[c.state], "CRAWL_STATE_")],
    ["stalled", stalled.replace(/^STALLED: /, "")],
    ["created", timestamp(c.createdAtMs)],
    ["finished", c.finishedAtMs > 0 ? timestamp(c.finishedAtMs) : undefined],
    ["done", c.counts?.done ?? 0],
    ["queued", c.counts?.queued ?? 0],
    ["in flight", c.counts?.leased ?? 0],
    ["failed", c.counts?.failed ?? 0],
    [
      "skipped",
      `${c.counts?.skipped ?? 0}${Object.keys(c.skipCounts).length > 0 ? ` (${kv(c.skipCounts)})` : ""}`,
    ],
    ["by status", kv(c.statusCounts)],
    ["hosts", c.hosts],
    ["bytes", bytes(c.bytes)],
    ["seeds", `${c.seedCount} (heedctl seeds list ${c.id})`],
    // Exactly the headers the workers send.
    ["user agent", d?.userAgent ? userAgentHeader(d.userAgent) : undefined],
    ["from", d?.userAgent ? fromHeader(d.userAgent) || "(not sent: the contact is a URL)" : undefined],
    ["max depth", d?.maxDepth],
    ["max pages", d?.maxPages],
    ["min delay", d?.politeness?.minDelayMs !== undefined ? `${d.politeness.minDelayMs} ms` : undefined],
    ["purposes", d !== undefined && d.purposes.length > 0 ? d.purposes.join(", ") : undefined],
    ["signs requests", d !== undefined ? (d.signRequests === true ? "yes (Web Bot Auth)" : "no") : undefined],
  ]);
}

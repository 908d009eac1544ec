import { ConfigError, crawlSpecInput, crawlSpecToProto, parseCrawlSpec, proto } from "@heed/shared";
import type { Command } from "commander";
import { addCrawlFlags, crawlFlagValues } from "../../crawl-flags.js";
import { act, arg, args } from "../context.js";
import { bytes, enumText, fields, print, printJson, table, timestamp } from "../output.js";

const STATES = ["running", "paused", "finished", "cancelled"] as const;

export function crawlCommands(program: Command): void {
  const crawl = program
    .command("crawl")
    .description("create, list, inspect, pause, resume and cancel crawls");

  const create = crawl
    .command("create")
    .description("create a crawl from seeds and flags, or from a crawl file (flags override the file)")
    .argument("[seeds...]", "URLs to start from")
    .option("--crawl-file <file>", "JSON crawl definition (as for heed coordinator --crawl-file)");
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
        const definition = definitionOf(args(cmd, 0), cmd);
        const res = await ctx.admin.call((c) => c.createCrawl, { definition });
        const created = res.crawl as proto.Crawl;
        if (ctx.json) printJson(proto.Crawl.toJSON(created));
        else print(`crawl ${created.id} created (${created.definition?.seeds.length ?? 0} seed(s))`);
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
        const res = await ctx.admin.call((c) => c.listCrawls, { state: crawlStateOf(state) });
        if (ctx.json) {
          printJson(proto.ListCrawlsResponse.toJSON(res));
          return undefined;
        }
        print(
          table(
            ["ID", "STATE", "DONE", "QUEUED", "IN FLIGHT", "FAILED", "SKIPPED", "HOSTS", "BYTES", "CREATED"],
            res.crawls.map((c) => [
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
        if (ctx.json) printJson(proto.Crawl.toJSON(c));
        else print(crawlText(c));
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

  program
    .command("seeds")
    .description("add seeds to a crawl")
    .command("add")
    .description("add seeds (their hosts join the crawl's scope; a finished crawl runs again)")
    .argument("<crawl-id>")
    .argument("<seeds...>")
    .addHelpText("after", "\nExample:\n  heedctl seeds add library-2026-11 https://example.org/news/")
    .action(
      act(async (ctx, cmd) => {
        const res = await ctx.admin.call((c) => c.addSeeds, { crawlId: arg(cmd, 0), seeds: args(cmd, 1) });
        if (ctx.json) printJson(proto.AddSeedsResponse.toJSON(res));
        else print(`added ${res.added} new seed(s) to ${res.crawl?.id}`);
        return undefined;
      }),
    );
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

function crawlText(c: proto.Crawl): string {
  const d = c.definition;
  const kv = (m: Record<string, number>) =>
    Object.entries(m)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
  return fields([
    ["id", c.id],
    ["state", enumText(proto.CrawlState[c.state], "CRAWL_STATE_")],
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
    ["seeds", d?.seeds.join(" ")],
    [
      "user agent",
      d?.userAgent ? `${d.userAgent.product}/${d.userAgent.version} (+${d.userAgent.contact})` : undefined,
    ],
    ["max depth", d?.maxDepth],
    ["max pages", d?.maxPages],
    ["min delay", d?.politeness?.minDelayMs !== undefined ? `${d.politeness.minDelayMs} ms` : undefined],
    ["purposes", d !== undefined && d.purposes.length > 0 ? d.purposes.join(", ") : undefined],
    ["signs requests", d !== undefined ? (d.signRequests === true ? "yes (Web Bot Auth)" : "no") : undefined],
  ]);
}

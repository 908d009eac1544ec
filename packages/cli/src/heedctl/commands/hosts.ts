import { ConfigError, proto } from "@heed/shared";
import type { Command } from "commander";
import { act, arg } from "../context.js";
import { enumText, print, printJson, relative, table, timestamp } from "../output.js";

const STATUSES = ["busy", "waiting", "idle", "robots-unreachable", "blocked", "slow", "parked"] as const;

function statusOf(s: string | undefined): proto.HostStatus {
  if (s === undefined) return proto.HostStatus.HOST_STATUS_UNSPECIFIED;
  const key = `HOST_STATUS_${s.toUpperCase().replace(/-/g, "_")}` as keyof typeof proto.HostStatus;
  const value = proto.HostStatus[key];
  if (typeof value !== "number" || !STATUSES.includes(s as (typeof STATUSES)[number]))
    throw new ConfigError("--status", `one of ${STATUSES.join(", ")}`);
  return value;
}

function policyText(p: proto.HostPolicy | undefined): string {
  if (p === undefined) return "-";
  const mode = p.mode === proto.HostPolicyMode.HOST_POLICY_MODE_BLOCK ? "blocked" : `slow ${p.minDelayMs} ms`;
  return `${mode} (${p.pattern}: ${p.reason})`;
}

function robotsText(h: proto.Host): string {
  if (h.robots.length === 0) return "-";
  return h.robots
    .map((r) => {
      if (r.following !== "") return `following redirect to ${r.following}`;
      const status = enumText(proto.RobotsStatus[r.status], "ROBOTS_STATUS_");
      if (r.reason !== "") return `${status} (${r.reason})`;
      const text = r.digest !== "" ? `${status} ${r.digest.slice(0, 12)}` : status;
      return r.redirects.length > 1 ? `${text} via ${r.redirects.at(-1)}` : text;
    })
    .join(", ");
}

export function hostCommands(program: Command): void {
  const hosts = program
    .command("hosts")
    .description("hosts: their state and delays, opt-outs and slow-downs");

  hosts
    .command("list")
    .description("list hosts with what they are doing, their delay and its source, robots.txt and policy")
    .option("--crawl <crawl-id>", "only hosts this crawl touched, with this crawl's fetches")
    .option("--status <status>", `only hosts that are ${STATUSES.join(", ")}`)
    .option("--limit <n>", "hosts per page (at most 1000)", "100")
    .option("--page-token <token>", "the next page, from a previous listing")
    .option("--all", "every page")
    .addHelpText(
      "after",
      `
Examples:
  heedctl hosts list --crawl library-2026-11 --status waiting
  heedctl hosts list --status blocked --json`,
    )
    .action(
      act(async (ctx, cmd) => {
        const o = cmd.opts() as {
          crawl?: string;
          status?: string;
          limit: string;
          pageToken?: string;
          all?: boolean;
        };
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new ConfigError("--limit", "a positive whole number");
        const req: proto.ListHostsRequest = {
          crawlId: o.crawl ?? "",
          status: statusOf(o.status),
          limit,
          pageToken: o.pageToken ?? "",
        };
        const all: proto.Host[] = [];
        let policies: proto.HostPolicy[] = [];
        let next = "";
        do {
          const res = await ctx.admin.call((c) => c.listHosts, req);
          all.push(...res.hosts);
          if (req.pageToken === (o.pageToken ?? "")) policies = res.policies;
          next = res.nextPageToken;
          req.pageToken = next;
        } while (o.all === true && next !== "");
        if (ctx.json) {
          printJson(
            proto.ListHostsResponse.toJSON({ hosts: all, nextPageToken: next, policies, missingShards: [] }),
          );
          return undefined;
        }
        const now = Date.now();
        print(
          table(
            [
              "HOST",
              "STATUS",
              "IN FLIGHT",
              "NEXT ALLOWED",
              "DELAY",
              "SOURCE",
              "ERRORS",
              o.crawl !== undefined ? "CRAWL FETCHES" : "FETCHES",
              "ROBOTS",
              "POLICY",
            ],
            all.map((h) => [
              h.hostKey,
              h.statuses.map((s) => enumText(proto.HostStatus[s], "HOST_STATUS_")).join(","),
              h.inFlight,
              relative(h.nextAllowedAtMs, now),
              `${h.delayMs} ms`,
              enumText(proto.DelaySource[h.delaySource], "DELAY_SOURCE_"),
              h.consecutiveErrors,
              h.fetches,
              robotsText(h),
              h.parkedUntilMs > now
                ? `parked until ${relative(h.parkedUntilMs, now)}: ${h.parkedReason}`
                : policyText(h.policy),
            ]),
          ),
        );
        if (next !== "") process.stderr.write(`more: --page-token ${next} (or --all)\n`);
        return undefined;
      }),
    );

  hosts
    .command("block")
    .description("opt a host (or a domain and its subdomains) out of every crawl, from the next lease on")
    .argument("<host-or-domain>")
    .requiredOption("--reason <text>", "why, kept as evidence (e.g. 'owner asked by e-mail, ticket 123')")
    .option("--force", "block a public suffix (com, co.uk, github.io): every site under it")
    .addHelpText("after", '\nExample:\n  heedctl hosts block example.org --reason "owner asked, ticket 4711"')
    .action(
      act(async (ctx, cmd) => {
        const o = cmd.opts() as { reason: string; force?: boolean };
        const res = await ctx.admin.call((c) => c.blockHost, {
          pattern: arg(cmd, 0),
          reason: o.reason,
          force: o.force === true,
        });
        if (ctx.json) printJson(proto.BlockHostResponse.toJSON(res));
        else print(`blocked ${res.policy?.pattern}: no request reaches it from the next lease on`);
        return undefined;
      }),
    );

  hosts
    .command("rules")
    .description("the opt-outs and slow-downs in force, for every crawl")
    .option("--limit <n>", "rules per page (at most 1000)", "100")
    .option("--page-token <token>", "the next page, from a previous listing")
    .option("--all", "every page")
    .addHelpText("after", "\nExample:\n  heedctl hosts rules --all")
    .action(
      act(async (ctx, cmd) => {
        const o = cmd.opts() as { limit: string; pageToken?: string; all?: boolean };
        const limit = Number(o.limit);
        if (!/^\d+$/.test(o.limit) || !Number.isSafeInteger(limit) || limit < 1)
          throw new ConfigError("--limit", "a positive whole number");
        const req: proto.ListHostRulesRequest = { limit, pageToken: o.pageToken ?? "" };
        const rules: proto.HostPolicy[] = [];
        let next = "";
        do {
          const res = await ctx.admin.call((c) => c.listHostRules, req);
          rules.push(...res.rules);
          next = res.nextPageToken;
          req.pageToken = next;
        } while (o.all === true && next !== "");
        if (ctx.json) {
          printJson(proto.ListHostRulesResponse.toJSON({ rules, nextPageToken: next, missingShards: [] }));
          return undefined;
        }
        if (rules.length === 0) print("no rules: no host is blocked or slowed down");
        else
          print(
            table(
              ["PATTERN", "RULE", "SINCE", "REASON"],
              rules.map((r) => [
                r.pattern,
                r.mode === proto.HostPolicyMode.HOST_POLICY_MODE_BLOCK
                  ? "blocked"
                  : `slow ${r.minDelayMs} ms`,
                timestamp(r.createdAtMs),
                r.reason,
              ]),
            ),
          );
        if (next !== "") process.stderr.write(`more: --page-token ${next} (or --all)\n`);
        return undefined;
      }),
    );

  hosts
    .command("unblock")
    .description("remove the block or slow-down set for exactly this host or domain")
    .argument("<host-or-domain>")
    .action(
      act(async (ctx, cmd) => {
        const res = await ctx.admin.call((c) => c.unblockHost, { pattern: arg(cmd, 0) });
        if (ctx.json) printJson(proto.UnblockHostResponse.toJSON(res));
        else print(`removed the rule for ${res.removed?.pattern} (${policyText(res.removed)})`);
        return undefined;
      }),
    );

  hosts
    .command("policy")
    .description("slow a host (or domain) down: a minimum delay between requests; it never makes Heed faster")
    .argument("<host-or-domain>")
    .requiredOption("--min-delay-ms <ms>", "at least this long between requests to the host")
    .requiredOption("--reason <text>", "why, kept as evidence")
    .addHelpText(
      "after",
      '\nExample:\n  heedctl hosts policy slow.example --min-delay-ms 10000 --reason "503s under load"',
    )
    .action(
      act(async (ctx, cmd) => {
        const o = cmd.opts() as { minDelayMs: string; reason: string };
        // Decimal digits only, and no more than a day: 1e20 would not even fit the wire's integer.
        const minDelayMs = /^\d+$/.test(o.minDelayMs.trim()) ? Number(o.minDelayMs) : Number.NaN;
        if (!Number.isSafeInteger(minDelayMs) || minDelayMs < 1 || minDelayMs > 86_400_000)
          throw new ConfigError(
            "--min-delay-ms",
            "a whole number of milliseconds from 1 to 86400000 (a day)",
          );
        const res = await ctx.admin.call((c) => c.setHostPolicy, {
          pattern: arg(cmd, 0),
          minDelayMs,
          reason: o.reason,
        });
        if (ctx.json) printJson(proto.SetHostPolicyResponse.toJSON(res));
        else print(`${res.policy?.pattern}: at least ${res.policy?.minDelayMs} ms between requests`);
        return undefined;
      }),
    );
}

import { once } from "node:events";
import { writeFileAtomically } from "@heed/archive";
import { ConfigError, proto } from "@heed/shared";
import type { Command } from "commander";
import { act, arg } from "../context.js";
import { bytes, enumText, fields, print, printJson, timestamp } from "../output.js";

const STATES = ["queued", "leased", "done", "failed", "skipped"] as const;

function urlStateOf(s: string | undefined): proto.UrlState {
  if (s === undefined) return proto.UrlState.URL_STATE_UNSPECIFIED;
  const value = proto.UrlState[`URL_STATE_${s.toUpperCase()}` as keyof typeof proto.UrlState];
  if (typeof value !== "number" || !STATES.includes(s as (typeof STATES)[number]))
    throw new ConfigError("--state", `one of ${STATES.join(", ")}`);
  return value;
}

function politenessFields(p: proto.UrlPoliteness | undefined): [string, string | undefined][] {
  if (p === undefined) return [];
  return [
    ["delay", `${p.delayMs} ms (${enumText(proto.DelaySource[p.delaySource], "DELAY_SOURCE_")})`],
    ["politeness keys", p.keys.join(", ") || undefined],
  ];
}

export function urlCommands(program: Command): void {
  program
    .command("url")
    .description("inspect URLs")
    .command("show")
    .description(
      "a URL's state, attempts, last result, reason, robots evidence, where it came from and where its capture is",
    )
    .argument("<crawl-id>")
    .argument("<url>")
    .addHelpText("after", "\nExample:\n  heedctl url show library-2026-11 https://example.org/about")
    .action(
      act(async (ctx, cmd) => {
        const res = await ctx.admin.call((c) => c.getUrl, { crawlId: arg(cmd, 0), url: arg(cmd, 1) });
        const u = res.url as proto.Url;
        if (ctx.json) {
          printJson(proto.Url.toJSON(u));
          return undefined;
        }
        const r = u.result;
        print(
          fields([
            ["url", u.url],
            ["state", enumText(proto.UrlState[u.state], "URL_STATE_")],
            ["reason", u.reason],
            ["attempts", u.attempts],
            ["depth", u.depth],
            ["via", u.via || "(seed)"],
            ["discovered", timestamp(u.discoveredAtMs)],
            ["updated", timestamp(u.updatedAtMs)],
            // No HTTP answer (a timeout, a refused connection) has no status: say so instead of "0".
            [
              "status",
              r === undefined
                ? undefined
                : r.status > 0
                  ? r.status
                  : `no HTTP answer${r.errorKind !== "" ? ` (${r.errorKind})` : ""}`,
            ],
            ["content type", r?.contentType],
            ["bytes", r !== undefined ? `${bytes(r.bytes)}${r.truncated ? " (truncated)" : ""}` : undefined],
            ["sha-256", r?.digestSha256],
            ["etag", r?.etag],
            ["last modified", r?.lastModified],
            [
              "not modified",
              r?.notModified !== undefined
                ? `since ${r.notModified.targetUri} at ${r.notModified.warcDate}` +
                  (r.notModified.recordId !== "" ? ` (record ${r.notModified.recordId})` : "")
                : undefined,
            ],
            ["redirect", r?.redirect],
            ["error", r?.error],
            ["fetched by", r?.workerId],
            ["remote address", r?.remoteAddress],
            [
              "robots",
              u.robots !== undefined
                ? `${u.robots.verdict} (robots.txt ${u.robots.digest.slice(0, 16) || "-"}${u.robots.line > 0 ? `, line ${u.robots.line}` : ""})`
                : undefined,
            ],
            [
              "readings",
              u.robots !== undefined && u.robots.readings.length > 0
                ? `${u.robots.disagreement ? "DISAGREE: " : ""}${u.robots.readings
                    .map(
                      (v) =>
                        `${v.reading} ${v.allowed ? "allowed" : "disallowed"}${v.line > 0 ? ` (line ${v.line})` : ""}`,
                    )
                    .join(", ")}`
                : undefined,
            ],
            ...u.preferences.map((p): [string, string] => [
              `use: ${p.purpose}`,
              `${p.decision}${p.signal !== "" ? ` by ${p.signal}${p.line > 0 ? ` (robots.txt line ${p.line})` : ""}` : ""} [${p.category}]`,
            ]),
            ...politenessFields(u.politeness),
            [
              "capture",
              u.capture !== undefined
                ? `${u.capture.revisitProfile !== "" ? "revisit record" : "response record"} in ` +
                  `${u.capture.file} at ${u.capture.offset} (${u.capture.length} bytes)`
                : undefined,
            ],
            [
              "revisit of",
              u.capture !== undefined && u.capture.revisitProfile !== ""
                ? `${u.capture.refersToUri} at ${u.capture.refersToDate} (${u.capture.revisitProfile})`
                : undefined,
            ],
          ]),
        );
        return undefined;
      }),
    );

  const exporting = program
    .command("export")
    .description(
      "every URL record of a crawl with its result and evidence, as NDJSON on stdout (one JSON object a line), " +
        "in discovery order",
    )
    .argument("<crawl-id>")
    .option("--state <state>", `only URLs in this state (${STATES.join(", ")})`)
    .option("--after <cursor>", "resume an interrupted export behind this cursor (printed when it stopped)")
    .addHelpText(
      "after",
      `
Examples:
  heedctl export library-2026-11 > urls.ndjson
  heedctl export library-2026-11 --after <cursor> >> urls.ndjson
  heedctl export library-2026-11 --state failed | jq -r .url`,
    )
    .action(
      act(async (ctx, cmd) => {
        const o = cmd.opts() as { state?: string; after?: string };
        const state = urlStateOf(o.state);
        let n = 0;
        // The cursor behind the last batch written whole: where an interrupted export resumes.
        let cursor = o.after ?? "";
        try {
          for await (const batch of ctx.admin.stream((c) => c.exportUrls, {
            crawlId: arg(cmd, 0),
            state,
            after: cursor,
          })) {
            const text = batch.urls.map((u) => `${JSON.stringify(proto.Url.toJSON(u))}\n`).join("");
            n += batch.urls.length;
            // Waiting for stdout also slows the stream down: nothing piles up in memory.
            if (!process.stdout.write(text)) await once(process.stdout, "drain");
            cursor = batch.cursor;
          }
        } catch (err) {
          if (cursor !== "" && n > 0)
            process.stderr.write(`export interrupted after ${n} URL(s); resume with: --after ${cursor}\n`);
          throw err;
        }
        if (!ctx.json && process.stderr.isTTY) process.stderr.write(`${n} URL(s)\n`);
        return undefined;
      }),
    );
  exporting
    .command("wacz")
    .description("the crawl's captures as one WACZ 1.1.1 package, streamed from the coordinator")
    .argument("<crawl-id>")
    .requiredOption(
      "--output <file.wacz>",
      "the package to write (written as <file>.part, renamed when complete)",
    )
    .addHelpText("after", "\nExample:\n  heedctl export wacz library-2026-11 --output library.wacz")
    .action(
      act(async (ctx, cmd) => {
        const output = cmd.opts().output as string;
        const bytes = await writeFileAtomically(output, async (out) => {
          let n = 0;
          for await (const chunk of ctx.admin.stream((c) => c.exportWacz, { crawlId: arg(cmd, 0) })) {
            n += chunk.data.length;
            if (!out.write(chunk.data)) await once(out, "drain");
          }
          return n;
        });
        if (ctx.json) printJson({ output, bytes });
        else print(`${output}: ${bytes} bytes`);
        return undefined;
      }),
    );
}

import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runHeed } from "./harness/processes.js";

const scratch = mkdtempSync(join(tmpdir(), "heed-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("heed crawl --demo", () => {
  it("runs a whole crawl with a real nats-server, coordinator and workers, and prints a summary", async () => {
    const dataDir = join(scratch, "demo");
    const r = await runHeed(["crawl", "--demo", "--json", "--data-dir", dataDir, "--workers", "2"], {
      timeoutMs: 60_000,
    });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      state: string;
      pages: { done: number; queued: number; leased: number };
      byStatus: Record<string, number>;
      robotsDenied: number;
      hosts: number;
      dataDir: string;
      warc: { dir: string; files: number; records: number; bytes: number };
      warcFiles: string[];
    };
    expect(summary.state).toBe("finished");
    expect(summary.pages.done).toBeGreaterThan(20);
    expect(summary.pages.queued + summary.pages.leased).toBe(0);
    expect(summary.byStatus["200"]).toBe(summary.pages.done);
    expect(summary.robotsDenied).toBeGreaterThan(0);
    expect(summary.hosts).toBe(8);
    expect(summary.dataDir).toBe(dataDir);
    expect(existsSync(join(dataDir, "frontier.lmdb"))).toBe(true);
    // WARCs by default, in the data directory; the summary names them.
    expect(summary.warc.dir).toBe(join(dataDir, "warc"));
    // One file series per worker that fetched (a host's requests stay with the worker that fetched it
    // last, so on eight hosts one worker may have fetched them all).
    expect(summary.warc.files).toBe(summary.warcFiles.length);
    expect(summary.warc.files).toBeGreaterThanOrEqual(1);
    // A response, request and metadata record per fetch (pages and robots.txt), a warcinfo per file.
    expect(summary.warc.records).toBeGreaterThanOrEqual(3 * summary.pages.done + summary.warc.files);
    for (const file of summary.warcFiles) {
      expect(file).toMatch(/\/heed-[^/]+-\d{17}-\d{5}\.warc\.gz$/);
      expect(statSync(file).size).toBeGreaterThan(0);
    }
    expect(summary.warc.bytes).toBe(summary.warcFiles.reduce((n, f) => n + statSync(f).size, 0));
  });
});

describe("bad input", () => {
  const cases: [string, string[], RegExp][] = [
    ["no seeds", ["crawl"], /seeds/],
    [
      "an unsupported scheme",
      ["crawl", "ftp://example.org/", "--contact", "ops@example.org"],
      /seeds\.0: .*scheme/,
    ],
    ["a missing contact", ["crawl", "http://example.org/"], /userAgent\.contact/],
    ["a bad delay", ["crawl", "--demo", "--min-delay-ms", "soon"], /politeness\.minDelayMs/],
    ["zero workers", ["crawl", "--demo", "--workers", "0"], /workers/],
    ["a bad listen address", ["coordinator", "--grpc-listen", "everywhere"], /grpcListen: host:port/],
    ["a bad worker concurrency", ["worker", "--concurrency", "-3"], /concurrency/],
    ["an unknown option", ["crawl", "--demo", "--turbo"], /unknown option/],
  ];
  it.each(cases)("%s: one clear line, exit code 2, nothing written", async (_name, args, message) => {
    const dataDir = join(scratch, `bad-${Math.random().toString(36).slice(2)}`);
    const withDir = args[0] === "worker" ? args : [...args, "--data-dir", dataDir];
    const r = await runHeed(withDir, { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    const first = r.stderr.trim().split("\n")[0] ?? "";
    expect(first).toMatch(/^(heed: |error: )/);
    expect(first).toMatch(message);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("rejects an unknown key and unreadable JSON in a config file", async () => {
    const unknown = join(scratch, "unknown.json");
    writeFileSync(unknown, JSON.stringify({ natsUrl: "nats://127.0.0.1:1", turbo: true }));
    const r1 = await runHeed(["worker", "--config", unknown]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/turbo: unknown worker setting/);
    const broken = join(scratch, "broken.json");
    writeFileSync(broken, "{ not json");
    const r2 = await runHeed(["coordinator", "--config", broken]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/not valid JSON/);
  });

  it("says exactly what to do when nats-server cannot be found", async () => {
    const r = await runHeed(["crawl", "--demo", "--data-dir", join(scratch, "nonats")], {
      env: { HEED_NATS_SERVER: join(scratch, "no-such-binary") },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/apt-get install nats-server/);
  });
});

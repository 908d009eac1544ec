import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { fileSizeLimit, spaceGuard } from "./space.js";

function setFileSizeLimit(bytes: number | "unlimited"): void {
  const r = spawnSync("prlimit", ["--pid", String(process.pid), `--fsize=${bytes}:unlimited`], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`prlimit failed: ${r.stderr || r.error?.message}`);
}

describe("the frontier's space guard", () => {
  const dir = mkdtempSync(join(tmpdir(), "heed-space-"));
  writeFileSync(join(dir, "frontier.lmdb"), Buffer.alloc(64 * 1024));
  afterEach(() => setFileSizeLimit("unlimited"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses with EFBIG while the file-size limit leaves less than the reserve, and lets writes through once it is lifted", () => {
    const guard = spaceGuard(dir, 1024 * 1024);
    expect(() => guard()).not.toThrow();
    setFileSizeLimit(128 * 1024);
    expect(fileSizeLimit()).toBe(128 * 1024);
    expect(() => guard()).toThrow(expect.objectContaining({ code: 27 }));
    setFileSizeLimit("unlimited");
    expect(() => guard()).not.toThrow();
    expect(fileSizeLimit()).toBeUndefined();
  });

  it("refuses with ENOSPC when the disk has less free space than the reserve", () => {
    const guard = spaceGuard(dir, Number.MAX_SAFE_INTEGER);
    expect(() => guard()).toThrow(
      expect.objectContaining({ code: 28, message: expect.stringMatching(/free on the frontier's disk/) }),
    );
  });
});

import { readFileSync, statfsSync, statSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";

/** Room kept free for the frontier's file by default: below it, nothing is written (see spaceGuard). */
const DEFAULT_SPACE_RESERVE_BYTES = 64 * 1024 * 1024;

const { ENOSPC, EFBIG } = constants.errno;

/**
 * Refuses writes before LMDB runs out of room, as a serious crawler pauses on
 * a nearly full disk: lmdb 3.5.6 can abort the process on a failed page write
 * (docs/operations.md), so a write that would fail is better never tried. Room
 * is the smaller of the disk's free space and what the process's file-size
 * limit (RLIMIT_FSIZE, from /proc/self/limits) still lets the frontier's file
 * grow. Throws an error with an errno code (ENOSPC, EFBIG), which the frontier
 * treats as a failed commit: nothing changes, callers are told to wait.
 */
export function spaceGuard(dataDir: string, reserveBytes = DEFAULT_SPACE_RESERVE_BYTES): () => void {
  // Read on every commit, since room can run out between two: about 20 µs (three quarters of it
  // reading /proc/self/limits), once per batch of leases and reports, not per lease.
  return () => {
    const shortage = shortageOf(dataDir, reserveBytes);
    if (shortage !== undefined) throw shortage;
  };
}

function shortageOf(dataDir: string, reserveBytes: number): Error | undefined {
  let free: number;
  try {
    const fs = statfsSync(dataDir);
    free = fs.bavail * fs.bsize;
  } catch {
    return undefined; // no reading: LMDB itself reports a failed write
  }
  if (free < reserveBytes)
    return coded(`${mib(free)} free on the frontier's disk, ${mib(reserveBytes)} kept in reserve`, ENOSPC);
  const limit = fileSizeLimit();
  if (limit === undefined) return undefined;
  let size = 0;
  try {
    size = statSync(join(dataDir, "frontier.lmdb")).size;
  } catch {
    return undefined;
  }
  if (limit - size < reserveBytes)
    return coded(
      `the file-size limit lets the frontier grow by ${mib(Math.max(0, limit - size))}, ${mib(reserveBytes)} kept in reserve`,
      EFBIG,
    );
  return undefined;
}

/** The soft RLIMIT_FSIZE in bytes; undefined when unlimited or unknown (not Linux). */
export function fileSizeLimit(): number | undefined {
  let limits: string;
  try {
    limits = readFileSync("/proc/self/limits", "utf8");
  } catch {
    return undefined;
  }
  const soft = /^Max file size\s+(\S+)/m.exec(limits)?.[1];
  if (soft === undefined || soft === "unlimited") return undefined;
  const bytes = Number(soft);
  return Number.isFinite(bytes) ? bytes : undefined;
}

function coded(message: string, code: number): Error {
  return Object.assign(new Error(message), { code });
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

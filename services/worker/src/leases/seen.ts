/**
 * Lease ids this worker has already acted on, kept until their lease expires:
 * a lease delivered twice is never fetched twice.
 */
export interface SeenLeases {
  /** Records the lease; false if it was seen before. */
  admit(id: string, expiresAtMs: number, now: number): boolean;
  readonly size: number;
}

export function createSeenLeases(): SeenLeases {
  const seen = new Map<string, number>();
  let lastPrune = 0;
  return {
    admit(id, expiresAtMs, now) {
      if (now - lastPrune > 10_000) {
        for (const [k, exp] of seen) if (exp < now) seen.delete(k);
        lastPrune = now;
      }
      if (seen.has(id)) return false;
      seen.set(id, expiresAtMs);
      return true;
    },
    get size() {
      return seen.size;
    },
  };
}

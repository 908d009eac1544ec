import { isIP } from "node:net";
import type { CrawlSpec } from "@heed/shared";
import { getDomain } from "tldts";
import type { FrontierContext } from "./context.js";
import type { HostState } from "./records.js";
import type { Txn } from "./txn.js";

/**
 * Politeness keys: besides its host, a request counts against its registrable
 * domain (when a crawl asks for domain politeness) and against an operator's
 * host group (hosts that share one server). Each key has the state a host has
 * (next-allowed time, in-flight count) and a lease needs all of them free.
 */

// Public-suffix lookups are asked once per lease; hosts repeat, so remember the answers (bounded).
const domainKeys = new Map<string, string | undefined>();
const DOMAIN_CACHE_MAX = 100_000;

export function domainKeyOf(hostKey: string): string | undefined {
  if (domainKeys.has(hostKey)) return domainKeys.get(hostKey);
  const domain = getDomain(hostKey, { allowPrivateDomains: true });
  const key = domain === null || domain === hostKey ? undefined : `domain:${domain}`;
  if (domainKeys.size >= DOMAIN_CACHE_MAX) domainKeys.clear();
  domainKeys.set(hostKey, key);
  return key;
}

/** The keys other than the host itself that a request to `hostKey` counts against. */
export function extraKeysFor(ctx: FrontierContext, txn: Txn, hostKey: string, spec: CrawlSpec): string[] {
  const keys: string[] = [];
  const group = ctx.groups.get(hostKey);
  if (group !== undefined) keys.push(`group:${group}`);
  // An IP-literal host is its own address; a named host's address is known from its last fetch.
  const literal = hostKey.replace(/^\[|\]$/g, "");
  const ip = txn.host(hostKey).ip ?? (isIP(literal) !== 0 ? literal : undefined);
  if (ip !== undefined) {
    const ipKey = `ip:${ip}`;
    if (spec.politeness.key === "ip" || txn.store.hosts.doesExist(ipKey)) keys.push(ipKey);
  }
  const domain = domainKeyOf(hostKey);
  // Once any crawl spaces a domain, every crawl's requests to it count, so the promise holds fleet-wide.
  if (domain !== undefined && (spec.politeness.key === "domain" || txn.store.hosts.doesExist(domain)))
    keys.push(domain);
  return keys;
}

export type Gate = { open: true; keys: HostState[] } | { open: false; untilMs?: number };

/** Whether every key lets a request start now; if not, until when (or until a slot frees). */
export function gate(ctx: FrontierContext, txn: Txn, hostKey: string, spec: CrawlSpec): Gate {
  const keys = extraKeysFor(ctx, txn, hostKey, spec).map((k) => {
    const st = txn.host(k);
    st.minDelayMs = Math.max(st.minDelayMs, spec.politeness.minDelayMs);
    st.maxConcurrency = Math.min(st.maxConcurrency, spec.politeness.maxConcurrencyPerHost);
    return st;
  });
  let untilMs = 0;
  for (const k of keys) {
    if (k.inFlight >= k.maxConcurrency) {
      // Woken when that key's lease ends (see releaseKeys).
      let waiting = ctx.waiters.get(k.hostKey);
      if (waiting === undefined) {
        waiting = new Set();
        ctx.waiters.set(k.hostKey, waiting);
      }
      waiting.add(hostKey);
      return { open: false };
    }
    untilMs = Math.max(untilMs, k.nextAllowedAtMs);
  }
  return untilMs > txn.now ? { open: false, untilMs } : { open: true, keys };
}

/** Frees the lease's extra keys and spaces their next request like the host's; wakes hosts waiting on them. */
export function releaseKeys(
  ctx: FrontierContext,
  txn: Txn,
  keys: string[] | undefined,
  delayMs: number,
): void {
  for (const key of keys ?? []) {
    const st = txn.host(key);
    st.inFlight = Math.max(0, st.inFlight - 1);
    st.delayMs = Math.max(delayMs, txn.minDelayMs(st));
    st.nextAllowedAtMs = Math.max(st.nextAllowedAtMs, txn.now + st.delayMs);
    st.lastEndAtMs = txn.now;
    const waiting = ctx.waiters.get(key);
    if (waiting !== undefined) {
      ctx.waiters.delete(key);
      for (const h of waiting) txn.host(h);
    }
  }
}

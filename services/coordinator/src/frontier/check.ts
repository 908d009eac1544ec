import { URL_STATES, type UrlState } from "./records.js";
import { type FrontierStore, loadCrawl } from "./store.js";

export interface FrontierProblem {
  kind:
    | "count_mismatch"
    | "queued_without_queue_entry"
    | "queue_entry_without_queued_url"
    | "leased_without_active_lease"
    | "active_lease_without_leased_url"
    | "active_lease_not_active"
    | "host_in_flight_mismatch"
    | "url_without_crawl";
  detail: string;
}

export interface FrontierCheck {
  crawls: number;
  urls: number;
  activeLeases: number;
  problems: FrontierProblem[];
}

/**
 * Verifies the frontier's invariants: every URL is in exactly one state and the
 * per-crawl counts agree with the records; host queues and URL records agree;
 * every leased URL has its active lease and every active lease its URL; hosts'
 * in-flight counts match their active leases. Read-only.
 */
export function checkFrontier(store: FrontierStore, maxProblems = 1000): FrontierCheck {
  const problems: FrontierProblem[] = [];
  const add = (kind: FrontierProblem["kind"], detail: string) => {
    if (problems.length < maxProblems) problems.push({ kind, detail });
  };
  const counts = new Map<string, Record<UrlState, number>>();
  const inFlight = new Map<string, number>();
  let urls = 0;
  const paused = new Set<string>();
  for (const { key, value } of store.crawls.getRange()) if (value.state === "paused") paused.add(key);
  for (const { key, value: url } of store.urls.getRange()) {
    urls++;
    const [crawlId, hash] = key;
    let c = counts.get(crawlId);
    if (c === undefined) {
      c = Object.fromEntries(URL_STATES.map((s) => [s, 0])) as Record<UrlState, number>;
      counts.set(crawlId, c);
    }
    c[url.state]++;
    // A paused crawl's queued URLs wait outside the host queues (they keep their key for resume).
    if (url.state === "queued" && !paused.has(crawlId)) {
      const entry = url.queueKey === undefined ? undefined : store.queue.get(url.queueKey);
      if (entry === undefined || entry[0] !== crawlId || entry[1] !== hash) {
        add("queued_without_queue_entry", url.url);
      }
    }
    if (url.state === "leased") {
      const lease = url.leaseId === undefined ? undefined : store.leases.get(url.leaseId);
      if (lease === undefined || lease.state !== "active" || !store.activeLeases.doesExist(lease.id)) {
        add("leased_without_active_lease", url.url);
      }
    }
  }
  for (const { key, value } of store.queue.getRange()) {
    const url = store.urls.get(value);
    if (url === undefined || url.state !== "queued" || url.queueKey?.join(" ") !== key.join(" ")) {
      add("queue_entry_without_queued_url", `${key.join(" ")} -> ${value.join(" ")}`);
    }
  }
  let activeLeases = 0;
  for (const { key: id } of store.activeLeases.getRange()) {
    activeLeases++;
    const lease = store.leases.get(id);
    if (lease === undefined || lease.state !== "active") {
      add("active_lease_not_active", id);
      continue;
    }
    // A lease whose request is over (its capture is still being kept) holds no slot.
    if (lease.requestEndedAtMs === undefined)
      for (const key of [lease.hostKey, ...(lease.keys ?? [])])
        inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    if (lease.kind === "page") {
      const url = lease.urlHash === undefined ? undefined : store.urls.get([lease.crawlId, lease.urlHash]);
      if (url === undefined || url.state !== "leased" || url.leaseId !== id) {
        add("active_lease_without_leased_url", `${id} ${lease.url}`);
      }
    }
  }
  for (const { key, value: host } of store.hosts.getRange()) {
    const expected = inFlight.get(key) ?? 0;
    if (host.inFlight !== expected)
      add("host_in_flight_mismatch", `${key}: inFlight ${host.inFlight}, active leases ${expected}`);
  }
  // A crawl none of whose URLs are here (all moved to another shard, or none queued here yet) counts nothing.
  for (const crawlId of store.crawls.getKeys())
    if (!counts.has(crawlId))
      counts.set(crawlId, Object.fromEntries(URL_STATES.map((s) => [s, 0])) as Record<UrlState, number>);
  for (const [crawlId, c] of counts) {
    const crawl = loadCrawl(store, crawlId);
    if (crawl === undefined) {
      add("url_without_crawl", crawlId);
      continue;
    }
    for (const s of URL_STATES) {
      if (crawl.counts[s] !== c[s])
        add("count_mismatch", `${crawlId} ${s}: counted ${crawl.counts[s]}, records ${c[s]}`);
    }
  }
  const crawls = [...store.crawls.getKeys()].length;
  return { crawls, urls, activeLeases, problems };
}

import { evenMap, PARTITIONS, partitionOf, partitionOwners, shardKeyOf } from "@heed/shared";
import { getDomain } from "tldts";

/**
 * How evenly a skewed web spreads over shards. The host mix is synthetic but
 * shaped like a real crawl: site sizes follow a Zipf law, big sites have many
 * subdomains (all one registrable domain), a third of the sites are user
 * subdomains of hosting platforms — some in the public suffix list's private
 * section (github.io, blogspot.com, …), some not (wordpress.com, tumblr.com,
 * …) — names come with and without `www.`, and some hosts are bare
 * addresses. Deterministic (seeded), no network.
 */
export interface HostLoad {
  host: string;
  urls: number;
}

export interface Placement {
  name: string;
  keyOf: (host: string) => string;
}

export interface BalanceRow {
  placement: string;
  shards: number;
  maxMeanHosts: number;
  maxMeanUrls: number;
  /** max(1, the largest key's share x shards): the best max/mean any placement by this key can reach. */
  hostBound: number;
  urlBound: number;
}

const LISTED_PLATFORMS = [
  "github.io",
  "blogspot.com",
  "herokuapp.com",
  "netlify.app",
  "myshopify.com",
  "wixsite.com",
];
const UNLISTED_PLATFORMS = ["wordpress.com", "tumblr.com", "substack.com"];
const TLDS = ["com", "org", "net", "de", "fr", "co.uk", "com.au", "io", "nl", "jp"];
const SUBDOMAINS = ["en", "de", "fr", "m", "shop", "blog", "news", "static", "cdn", "docs", "api", "support"];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function skewedHosts(options: {
  sites: number;
  urls: number;
  zipf: number;
  seed: number;
}): HostLoad[] {
  const random = mulberry32(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const weights = Array.from({ length: options.sites }, (_, rank) => 1 / (rank + 1) ** options.zipf);
  const total = weights.reduce((a, b) => a + b, 0);
  const hosts: HostLoad[] = [];
  for (let i = 0; i < options.sites; i++) {
    const urls = Math.max(1, Math.round((options.urls * (weights[i] as number)) / total));
    const kind = random();
    let names: string[];
    if (kind < 0.2) names = [`user${i}.${pick(LISTED_PLATFORMS)}`];
    else if (kind < 0.3) names = [`user${i}.${pick(UNLISTED_PLATFORMS)}`];
    else if (kind < 0.35)
      names = [
        random() < 0.9
          ? `${11 + Math.floor(random() * 200)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`
          : `[2001:db8::${i.toString(16)}]`,
      ];
    else {
      const domain = `site${i}.${pick(TLDS)}`;
      names = random() < 0.5 ? [`www.${domain}`, domain] : [domain];
      // Big sites have many hosts: language, mobile and service subdomains of one registrable domain.
      const extra = Math.min(SUBDOMAINS.length, Math.floor(Math.log10(urls)));
      for (let s = 0; s < extra; s++) names.push(`${SUBDOMAINS[s]}.${domain}`);
    }
    // The first name gets most of the site's URLs, the rest share what is left.
    const head = names.length === 1 ? urls : Math.ceil(urls * 0.6);
    names.forEach((host, n) => {
      const share = n === 0 ? head : Math.max(1, Math.round((urls - head) / (names.length - 1)));
      hosts.push({ host, urls: share });
    });
  }
  return hosts;
}

export const PLACEMENTS: Placement[] = [
  { name: "by host name", keyOf: (host) => host.replace(/^\[|\]$/g, "") },
  {
    name: "registrable, ICANN only",
    keyOf: (host) => {
      const name = host.replace(/^\[|\]$/g, "");
      return getDomain(name, { allowPrivateDomains: false }) ?? name;
    },
  },
  { name: "registrable + private (Heed)", keyOf: shardKeyOf },
];

export interface PlacedHosts {
  placement: string;
  /** Partition of each host, in the order of the host list. */
  partitions: Uint16Array;
  urls: Float64Array;
  /** The largest single key's share of all hosts and of all URLs: no placement by key can beat them. */
  biggestKeyHostShare: number;
  biggestKeyUrlShare: number;
}

/** Keys and partitions once per placement; the shard counts then only re-aggregate. */
export function placeHosts(hosts: readonly HostLoad[], placement: Placement): PlacedHosts {
  const partitions = new Uint16Array(hosts.length);
  const urls = new Float64Array(hosts.length);
  const perKey = new Map<string, { hosts: number; urls: number }>();
  let allUrls = 0;
  let biggestHosts = 0;
  let biggestUrls = 0;
  hosts.forEach(({ host, urls: n }, i) => {
    const key = placement.keyOf(host);
    partitions[i] = partitionOf(key);
    urls[i] = n;
    allUrls += n;
    const k = perKey.get(key) ?? { hosts: 0, urls: 0 };
    k.hosts++;
    k.urls += n;
    perKey.set(key, k);
    biggestHosts = Math.max(biggestHosts, k.hosts);
    biggestUrls = Math.max(biggestUrls, k.urls);
  });
  return {
    placement: placement.name,
    partitions,
    urls,
    biggestKeyHostShare: biggestHosts / hosts.length,
    biggestKeyUrlShare: biggestUrls / allUrls,
  };
}

export function shardBalance(placed: PlacedHosts, shards: number): BalanceRow {
  const ids = Array.from({ length: shards }, (_, i) => `s${String(i).padStart(3, "0")}`);
  const owners = partitionOwners(evenMap(ids));
  const index = new Map(ids.map((id, i) => [id, i]));
  const shardOf = owners.map((o) => index.get(o as string) as number);
  const hostCount = new Float64Array(shards);
  const urlCount = new Float64Array(shards);
  placed.partitions.forEach((p, i) => {
    const shard = shardOf[p] as number;
    hostCount[shard] = (hostCount[shard] as number) + 1;
    urlCount[shard] = (urlCount[shard] as number) + (placed.urls[i] as number);
  });
  const maxMean = (xs: Float64Array) => {
    let max = 0;
    let sum = 0;
    for (const x of xs) {
      max = Math.max(max, x);
      sum += x;
    }
    return max / (sum / xs.length);
  };
  return {
    placement: placed.placement,
    shards,
    maxMeanHosts: maxMean(hostCount),
    maxMeanUrls: maxMean(urlCount),
    hostBound: Math.max(1, placed.biggestKeyHostShare * shards),
    urlBound: Math.max(1, placed.biggestKeyUrlShare * shards),
  };
}

export function shardBalanceBenchmark(options: {
  sites: number;
  urls: number;
  zipf: number;
  seed: number;
}): string {
  const hosts = skewedHosts(options);
  const urls = hosts.reduce((a, h) => a + h.urls, 0);
  const placed = PLACEMENTS.map((p) => placeHosts(hosts, p));
  const lines = [
    `shard balance: ${hosts.length} hosts of ${options.sites} Zipf(${options.zipf}) sites, ${urls} URLs, ` +
      `${PARTITIONS} partitions in even ranges`,
    "  max/mean per shard (1.00 is perfect); bound = the largest single key's share x shards, which no placement by that key can beat",
    "  placement                       shards   hosts max/mean (bound)   URLs max/mean (bound)",
  ];
  for (const shards of [2, 3, 10, 100]) {
    for (const p of placed) {
      const r = shardBalance(p, shards);
      lines.push(
        `  ${r.placement.padEnd(30)} ${String(shards).padStart(6)}` +
          ` ${r.maxMeanHosts.toFixed(2).padStart(15)} (${r.hostBound.toFixed(2).padStart(5)})` +
          ` ${r.maxMeanUrls.toFixed(2).padStart(14)} (${r.urlBound.toFixed(2).padStart(5)})` +
          (p === placed[0] ? "   (baseline)" : ""),
      );
    }
  }
  lines.push("");
  return lines.join("\n");
}

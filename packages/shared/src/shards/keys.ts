import { isIP } from "node:net";
import { getDomain } from "tldts";

/**
 * The hash space is cut into a fixed number of partitions, and the shard map
 * assigns ranges of partitions to shards. Fixed forever: changing it moves
 * every key, which is a data migration, not a setting.
 */
export const PARTITIONS = 1024;

/**
 * The key a host is placed by: its registrable domain under the public suffix
 * list including the private section, so every host and domain politeness key
 * of one site lands on one shard while hosting platforms (`*.github.io`,
 * `*.blogspot.com`) spread out. An address literal is placed by the address;
 * a name with no registrable domain (`localhost`, a bare suffix) by itself.
 */
export function shardKeyOf(host: string): string {
  const name = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (isIP(name) !== 0) return name;
  const domain = getDomain(name, { allowPrivateDomains: true });
  return domain === null || domain === "" ? name : domain;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** FNV-1a, 32 bit, over the key's UTF-8 bytes. */
export function fnv1a32(key: string): number {
  let hash = FNV_OFFSET;
  for (const byte of encoder.encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** MurmurHash3's 32-bit finalizer: every input bit reaches every output bit. */
export function fmix32(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * FNV-1a of the key, finalized with fmix32; the top 10 bits pick the
 * partition. FNV-1a alone barely moves its top bits for keys that differ in
 * their last bytes (`127.0.0.2` … `127.0.0.41`, `host-1` … `host-9`), which
 * would cluster such keys on a few partitions; the finalizer spreads them.
 */
export function partitionOf(shardKey: string): number {
  return fmix32(fnv1a32(shardKey)) >>> 22;
}

export function partitionOfHost(host: string): number {
  return partitionOf(shardKeyOf(host));
}

/**
 * An operator host group is one politeness key, so it must be whole on one
 * shard: every member is placed where the group's first host (in sorted
 * order) would be, independent of the order the operator listed them in.
 */
export function partitionOfHostGroup(hosts: readonly string[]): number {
  if (hosts.length === 0) throw new RangeError("a host group has at least one host");
  const first = hosts.map((h) => h.toLowerCase()).sort()[0] as string;
  return partitionOfHost(first);
}

/**
 * The placement a sharded frontier uses: a host in an operator host group
 * goes with its group, any other host by its shard key. A host listed in
 * several groups goes with the first, the group the frontier spaces it with.
 */
export function hostPlacement(hostGroups: readonly { hosts: readonly string[] }[]): (host: string) => number {
  const grouped = new Map<string, number>();
  for (const group of hostGroups) {
    const partition = partitionOfHostGroup(group.hosts);
    for (const host of group.hosts) {
      const key = host.toLowerCase();
      if (!grouped.has(key)) grouped.set(key, partition);
    }
  }
  return (host) => grouped.get(host.toLowerCase()) ?? partitionOfHost(host);
}

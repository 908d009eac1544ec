import { hostPlacement } from "@heed/shared";

/**
 * A host's partition as this shard places it: an operator host group whole,
 * where its first host in sorted order would be. The groups are the
 * frontier's own, in memory (host -> group, every crawl's, a host's first group
 * winning, exactly as the frontier spaces them), so a group's hosts from
 * several crawls' definitions go together, as its one politeness key needs.
 * The frontier only ever adds to them, so the placement is rebuilt only when
 * their size changed: the lease path pays a map lookup, never a read of LMDB.
 */
export function placementFor(hostGroups: () => ReadonlyMap<string, string>): (host: string) => number {
  let known = -1;
  let place: (host: string) => number = hostPlacement([]);
  return (host) => {
    const groups = hostGroups();
    if (groups.size !== known) {
      known = groups.size;
      const members = new Map<string, string[]>();
      for (const [h, name] of groups) {
        const list = members.get(name);
        if (list === undefined) members.set(name, [h]);
        else list.push(h);
      }
      place = hostPlacement([...members.values()].map((hosts) => ({ hosts })));
    }
    return place(host);
  };
}

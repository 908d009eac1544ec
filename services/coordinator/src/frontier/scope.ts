import type { CrawlSpec } from "@heed/shared";

/**
 * Whether a canonical URL belongs to a crawl: a seed's host, a listed domain, or a listed prefix.
 * `isAddedSeedHost` answers for seeds added after the definition was written.
 */
export function createScope(
  spec: Pick<CrawlSpec, "seeds" | "scope">,
  isAddedSeedHost: (host: string) => boolean = () => false,
): (url: string) => boolean {
  const hosts = new Set(spec.seeds.map((s) => new URL(s).hostname));
  const domains = spec.scope.domains.map((d) => d.toLowerCase().replace(/^\.+|\.+$/g, ""));
  const prefixes = spec.scope.prefixes;
  return (url) => {
    const host = new URL(url).hostname;
    if (hosts.has(host) || isAddedSeedHost(host)) return true;
    if (domains.some((d) => host === d || host.endsWith(`.${d}`))) return true;
    return prefixes.some((p) => url.startsWith(p));
  };
}

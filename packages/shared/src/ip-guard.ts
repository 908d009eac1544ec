import { BlockList, isIP } from "node:net";

// Addresses a crawler must never reach unless its operator says so: the
// machine itself, private networks, link-local (cloud metadata lives there),
// carrier-grade NAT, multicast, reserved and unspecified ranges.
const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(net, prefix, "ipv6");
}

/** Why an address is refused, or null when it is public. */
export function blockedAddressReason(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return "not an IP address";
  if (family === 6) {
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms must not smuggle a private v4 address.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1] !== undefined) return blockedAddressReason(mapped[1]);
    const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
    if (mappedHex?.[1] !== undefined && mappedHex[2] !== undefined) {
      const hi = Number.parseInt(mappedHex[1], 16);
      const lo = Number.parseInt(mappedHex[2], 16);
      return blockedAddressReason(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    return blocked.check(address, "ipv6") ? "private, loopback, link-local or reserved IPv6 range" : null;
  }
  return blocked.check(address, "ipv4") ? "private, loopback, link-local or reserved IPv4 range" : null;
}

/**
 * If a URL's host is an address literal in a range no crawl may reach by
 * default, that address and why; literals never reach a resolver, so they
 * are checked apart. (The WHATWG parser already turned 0x7f.1 and
 * 2130706433 into 127.0.0.1.)
 */
export function blockedLiteralHost(url: URL): { address: string; reason: string } | undefined {
  const address = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(address) === 0) return undefined;
  const reason = blockedAddressReason(address);
  return reason === null ? undefined : { address, reason };
}

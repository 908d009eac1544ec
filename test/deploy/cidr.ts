/** IPv4/IPv6 CIDR arithmetic for NetworkPolicy checks (no network is touched). */

export interface Cidr {
  family: 4 | 6;
  /** First address of the block. */
  base: bigint;
  prefix: number;
  text: string;
}

const BITS = { 4: 32, 6: 128 } as const;

function parseIpv4(text: string): bigint {
  const parts = text.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${text}`);
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new Error(`not an IPv4 address: ${text}`);
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint {
  let head = text;
  let tail = "";
  const double = text.indexOf("::");
  if (double !== -1) {
    if (text.indexOf("::", double + 1) !== -1) throw new Error(`not an IPv6 address: ${text}`);
    head = text.slice(0, double);
    tail = text.slice(double + 2);
  }
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const expand = (list: string[]): number[] => {
    const out: number[] = [];
    for (const g of list) {
      if (g.includes(".")) {
        const v4 = parseIpv4(g);
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`not an IPv6 address: ${text}`);
        out.push(Number.parseInt(g, 16));
      }
    }
    return out;
  };
  const left = expand(groups(head));
  const right = expand(groups(tail));
  const missing = 8 - left.length - right.length;
  if ((double === -1 && missing !== 0) || missing < 0) throw new Error(`not an IPv6 address: ${text}`);
  const all = [...left, ...Array<number>(missing).fill(0), ...right];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

export function parseIp(text: string): { family: 4 | 6; value: bigint } {
  return text.includes(":") ? { family: 6, value: parseIpv6(text) } : { family: 4, value: parseIpv4(text) };
}

/** Parses "a.b.c.d/n" or "x::y/n"; rejects host bits set below the prefix (Kubernetes does too). */
export function parseCidr(text: string): Cidr {
  const slash = text.lastIndexOf("/");
  if (slash === -1) throw new Error(`not a CIDR: ${text}`);
  const { family, value } = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > BITS[family]) throw new Error(`bad prefix length: ${text}`);
  const hostBits = BigInt(BITS[family] - prefix);
  if (value & ((1n << hostBits) - 1n)) throw new Error(`host bits set in ${text}`);
  return { family, base: value, prefix, text };
}

function last(c: Cidr): bigint {
  return c.base + (1n << BigInt(BITS[c.family] - c.prefix)) - 1n;
}

export function containsIp(c: Cidr, ip: string): boolean {
  const { family, value } = parseIp(ip);
  return family === c.family && value >= c.base && value <= last(c);
}

/** Whether `inner` lies wholly inside `outer`. */
export function covers(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.base <= inner.base && last(inner) <= last(outer);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base <= last(b) && b.base <= last(a);
}

/** The RFC 6052 well-known NAT64 form (64:ff9b::/96) of an IPv4 block. */
export function nat64(v4: Cidr): Cidr {
  if (v4.family !== 4) throw new Error(`not IPv4: ${v4.text}`);
  const prefix = parseCidr("64:ff9b::/96");
  return { family: 6, base: prefix.base | v4.base, prefix: 96 + v4.prefix, text: `nat64(${v4.text})` };
}

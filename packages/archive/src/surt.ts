/**
 * The Sort-friendly URI Reordering Transform as pywb and ReplayWeb.page key
 * their indexes: lower case, scheme and a leading `www`/`wwwN.` dropped, host
 * labels reversed and comma-joined, port kept, `)` then path, and query
 * arguments sorted. Replay tools compute the same key for a lookup, so any
 * difference here makes a capture unfindable.
 */
export function toSurt(url: string): string {
  if (!/^https?:/i.test(url)) return url;
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/^(https?:\/\/)www\d*\./i, "$1").toLowerCase());
  } catch {
    return url;
  }
  let key = parsed.hostname.split(".").reverse().join(",");
  if (parsed.port !== "") key += `:${parsed.port}`;
  key += `)${parsed.pathname}`;
  if (parsed.search !== "") {
    key += `?${parsed.search.slice(1).split("&").sort().join("&")}`;
  }
  return key;
}

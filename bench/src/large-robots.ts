/**
 * A robots.txt of about `bytes` bytes shaped like a large site's: comments, groups for named
 * crawlers and a long `*` group of rules for paths outside the crawled pages (/p/…), so every page
 * stays allowed while the file costs what a real one costs to store, read and match.
 */
export function largeRobotsTxt(bytes: number): string {
  const lines = ["# robots.txt for a large site", "User-agent: ExampleBot", "Disallow: /", ""];
  const rules = ["User-agent: *"];
  for (let i = 0; lines.join("\n").length + rules.join("\n").length < bytes; i++) {
    rules.push(i % 7 === 0 ? `# section ${i / 7}` : `Disallow: /section-${i % 97}/item-${i}/*?sort=`);
  }
  return `${[...lines, ...rules, "Allow: /p/"].join("\n")}\n`;
}

/** A path the `*` group of a large robots.txt disallows: rule `i`'s, or the next one's where `i` is a comment. */
export function largeRobotsDisallowedPath(i: number): string {
  const rule = i % 7 === 0 ? i + 1 : i;
  return `/section-${rule % 97}/item-${rule}/list?sort=name`;
}

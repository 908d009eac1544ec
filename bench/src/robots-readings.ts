import { defaultPlan, startLoopbackSite } from "@heed/loopback-site";
import {
  ROBOTS_READINGS,
  type RobotsPolicy,
  type RobotsReading,
  robotsPolicyFromFetch,
  robotsVerdict,
} from "@heed/shared";
import { REFERENCE_DECISIONS, REFERENCE_DERIVED_DECISIONS } from "@heed/test-support/robots-cases";
import { largeRobotsDisallowedPath, largeRobotsTxt } from "./large-robots.js";

interface Probe {
  policy: RobotsPolicy;
  url: string;
  userAgent: string;
}

export interface ReadingsFigures {
  fixtures: { name: string; urls: number; googleDisallows: number; allDisallow: number }[];
  /** URLs each reading alone disallows, over every fixture. */
  byReading: Record<RobotsReading, number>;
  googleMicrosPerUrl: number;
  allMicrosPerUrl: number;
  /** Cost per URL of each reading, and of all, on robots.txt files of large sites' size. */
  large: { bytes: number; rules: number; microsPerUrl: Record<RobotsReading | "all", number> }[];
}

// Google's reference suite, as the shared package's tests hold it.
function referenceProbes(): Probe[] {
  return [...REFERENCE_DECISIONS, ...REFERENCE_DERIVED_DECISIONS].map((c) => ({
    policy: robotsPolicyFromFetch(
      { origin: "http://foo.bar", httpStatus: 200, body: c.robotstxt },
      0,
      60_000,
    ),
    url: c.url,
    userAgent: c.userAgent,
  }));
}

// The loopback site the end-to-end tests and the demo crawl: robots.txt fetched over HTTP as a worker would.
async function siteProbes(hostCount: number): Promise<Probe[]> {
  const site = await startLoopbackSite({ hosts: defaultPlan(hostCount, 6, 0), firstOctet: 170 });
  try {
    const probes: Probe[] = [];
    for (const host of site.hosts) {
      const res = await fetch(`${host.origin}/robots.txt`);
      const policy = robotsPolicyFromFetch(
        { origin: host.origin, httpStatus: res.status, body: await res.text() },
        0,
        60_000,
      );
      const paths = [
        ...Array.from({ length: host.plan.pages }, (_, i) => `/p/${i}`),
        ...site.disallowedPaths(host),
      ];
      for (const p of paths) probes.push({ policy, url: `${host.origin}${p}`, userAgent: "HeedBot" });
    }
    return probes;
  } finally {
    await site.close();
  }
}

function disallowed(probes: Probe[], readings: readonly RobotsReading[]): number {
  return probes.filter((p) => !robotsVerdict(p.policy, p.url, p.userAgent, readings).allowed).length;
}

function microsPerUrl(probes: Probe[], readings: readonly RobotsReading[], rounds: number): number {
  for (const p of probes) robotsVerdict(p.policy, p.url, p.userAgent, readings); // compile once, as the cache does
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++)
    for (const p of probes) robotsVerdict(p.policy, p.url, p.userAgent, readings);
  return Number(process.hrtime.bigint() - start) / 1000 / (rounds * probes.length);
}

/**
 * A large site's robots.txt of about `bytes` bytes, and URLs as a crawl of it meets them: mostly
 * pages no rule names (every rule is tried and none decides), a fifth that one rule disallows.
 */
function largeProbes(bytes: number): { probes: Probe[]; rules: number } {
  const text = largeRobotsTxt(bytes);
  const policy = robotsPolicyFromFetch(
    { origin: "http://large.bench.invalid", httpStatus: 200, body: text },
    0,
    60_000,
  );
  const lines = text.split("\n");
  const sections = lines.filter((line) => line.startsWith("Disallow: /section-")).length;
  const probes = Array.from({ length: 500 }, (_, i) => ({
    policy,
    url: `http://large.bench.invalid${i % 5 === 0 ? largeRobotsDisallowedPath(1 + (i % sections)) : `/p/${i}`}`,
    userAgent: "HeedBot",
  }));
  return { probes, rules: lines.filter((line) => /^(Dis)?allow:/i.test(line)).length };
}

/** How many more URLs the strictest reading keeps out than Google's alone, and what it costs per URL. */
export async function robotsReadingsBenchmark(options: {
  rounds: number;
  largeBytes: number[];
}): Promise<ReadingsFigures> {
  const sets = [
    { name: "Google reference suite", probes: referenceProbes() },
    { name: "loopback site (45 hosts)", probes: await siteProbes(45) },
  ];
  const all = sets.flatMap((s) => s.probes);
  return {
    fixtures: sets.map((s) => ({
      name: s.name,
      urls: s.probes.length,
      googleDisallows: disallowed(s.probes, ["google"]),
      allDisallow: disallowed(s.probes, ROBOTS_READINGS),
    })),
    byReading: Object.fromEntries(ROBOTS_READINGS.map((r) => [r, disallowed(all, [r])])) as Record<
      RobotsReading,
      number
    >,
    googleMicrosPerUrl: microsPerUrl(all, ["google"], options.rounds),
    allMicrosPerUrl: microsPerUrl(all, ROBOTS_READINGS, options.rounds),
    large: options.largeBytes.map((bytes) => {
      const { probes, rules } = largeProbes(bytes);
      const rounds = Math.max(1, Math.round(options.rounds / 10));
      if (probes.some((p, i) => robotsVerdict(p.policy, p.url, p.userAgent).allowed !== (i % 5 !== 0)))
        throw new Error(`the ${bytes}-byte robots.txt bench file is not read as built`);
      return {
        bytes: (probes[0] as Probe).policy.text.length,
        rules,
        microsPerUrl: {
          ...(Object.fromEntries(
            ROBOTS_READINGS.map((r) => [r, microsPerUrl(probes, [r], rounds)]),
          ) as Record<RobotsReading, number>),
          all: microsPerUrl(probes, ROBOTS_READINGS, rounds),
        },
      };
    }),
  };
}

import { defaultPlan, startLoopbackSite } from "@heed/loopback-site";
import {
  ROBOTS_READINGS,
  type RobotsPolicy,
  type RobotsReading,
  robotsPolicyFromFetch,
  robotsVerdict,
} from "@heed/shared";

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
}

// Google's reference suite, as the shared package's tests hold it (compiled beside the package).
async function referenceProbes(): Promise<Probe[]> {
  const cases = (await import(
    new URL("../../packages/shared/dist/robots-cases.js", import.meta.url).href
  )) as {
    REFERENCE_DECISIONS: { robotstxt: string; userAgent: string; url: string }[];
    REFERENCE_DERIVED_DECISIONS: { robotstxt: string; userAgent: string; url: string }[];
  };
  return [...cases.REFERENCE_DECISIONS, ...cases.REFERENCE_DERIVED_DECISIONS].map((c) => ({
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

/** How many more URLs the strictest reading keeps out than Google's alone, and what it costs per URL. */
export async function robotsReadingsBenchmark(options: { rounds: number }): Promise<ReadingsFigures> {
  const sets = [
    { name: "Google reference suite", probes: await referenceProbes() },
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
  };
}

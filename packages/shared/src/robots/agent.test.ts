import { describe, expect, it } from "vitest";
import { type AgentRules, agentRules, decidePath } from "./agent.js";
import { parseRobotsTxt } from "./parse.js";
import { matchablePath } from "./pattern.js";
import { parseRobotsTxtStrictly, strictPath } from "./rfc9309.js";

// A small seeded generator, so a failure names a case that can be run again.
function generator(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % n;
  };
}

const SEGMENTS = ["a", "ab", "abc", "b", "index.html", "index.htm", "x%2F", "q", "é", "*", "$"];

function randomValue(pick: (n: number) => number): string {
  if (pick(12) === 0) return "";
  let value = pick(8) === 0 ? "*" : "/";
  for (let i = pick(4); i > 0; i--) value += `${SEGMENTS[pick(SEGMENTS.length)]}${pick(3) === 0 ? "/" : ""}`;
  if (pick(6) === 0) value += "?q=";
  if (pick(5) === 0) value += "$";
  return value.replace(/\$(?=.)/g, "");
}

function randomFile(pick: (n: number) => number, rules: number): string {
  const lines = ["User-agent: *"];
  for (let i = 0; i < rules; i++) lines.push(`${pick(3) === 0 ? "Allow" : "Disallow"}: ${randomValue(pick)}`);
  return lines.join("\n");
}

function randomPath(pick: (n: number) => number): string {
  let path = "/";
  for (let i = pick(5); i > 0; i--)
    path += `${SEGMENTS[pick(SEGMENTS.length - 2)]}${pick(2) === 0 ? "/" : ""}`;
  return pick(4) === 0 ? `${path}?q=1` : path;
}

/** The same rules without their index: every rule matched, in file order. */
const unindexed = (agent: AgentRules): AgentRules => ({ rules: agent.rules });

describe("the rule index of a long robots.txt", () => {
  it("decides every path as matching every rule does, line included, in both of Heed's readings", () => {
    let compared = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const pick = generator(seed);
      const text = randomFile(pick, 32 + pick(200));
      const google = agentRules(parseRobotsTxt(text), "HeedBot");
      const strict = agentRules(parseRobotsTxtStrictly(text), "HeedBot");
      expect(google.index, `seed ${seed}`).toBeDefined();
      expect(strict.index, `seed ${seed}`).toBeDefined();
      for (let i = 0; i < 200; i++) {
        const path = matchablePath(`http://example.com${randomPath(pick)}`);
        expect(decidePath(google, path), `seed ${seed} google ${path}`).toEqual(
          decidePath(unindexed(google), path),
        );
        const strictOf = strictPath(path);
        expect(decidePath(strict, strictOf), `seed ${seed} rfc9309 ${path}`).toEqual(
          decidePath(unindexed(strict), strictOf),
        );
        compared++;
      }
    }
    expect(compared).toBe(8_000);
  });

  it("keeps the first rule's line on equal length, however the index groups them", () => {
    const filler = Array.from({ length: 40 }, (_, i) => `Disallow: /filler-${i}/`);
    // All three match /shop/ with length 6: allow wins, and of the two allows the first in the file
    // is the line reported, though the index meets the later one first (its literal start is shorter).
    const text = ["User-agent: *", ...filler, "Allow: /shop*", "Disallow: /shop/", "Allow: /sho*p"].join(
      "\n",
    );
    const agent = agentRules(parseRobotsTxt(text), "HeedBot");
    expect(agent.index).toBeDefined();
    expect(decidePath(agent, "/shop/")).toEqual({ allowed: true, line: 42 });
    expect(decidePath(agent, "/filler-7/x")).toEqual({ allowed: false, line: 9 });
    expect(decidePath(agent, "/elsewhere")).toEqual({ allowed: true });
  });

  it("still finds an allowed index.html's directory, which its rule's own start does not begin", () => {
    const filler = Array.from({ length: 40 }, (_, i) => `Disallow: /filler-${i}/`);
    const text = ["User-agent: *", "Disallow: /dir/", ...filler, "Allow: /dir/index.html"].join("\n");
    const agent = agentRules(parseRobotsTxt(text), "HeedBot");
    expect(agent.index).toBeDefined();
    expect(decidePath(agent, "/dir/")).toEqual({ allowed: true, line: 43 });
    expect(decidePath(agent, "/dir/other")).toEqual({ allowed: false, line: 2 });
  });

  it("is left out for short files, whose rules are all matched", () => {
    const agent = agentRules(parseRobotsTxt("User-agent: *\nDisallow: /private/\n"), "HeedBot");
    expect(agent.index).toBeUndefined();
    expect(decidePath(agent, "/private/x")).toEqual({ allowed: false, line: 2 });
  });
});

import { describe, expect, it } from "vitest";
import { decidePurposes, TDM_RESERVED } from "./decide.js";
import { robotsContentUsage } from "./robots-rules.js";
import { parsePreferences } from "./vocab.js";

describe("AI Preferences vocabulary (draft-ietf-aipref-vocab-08)", () => {
  it("reads y and n Tokens for the known categories and nothing else", () => {
    expect(parsePreferences("train-ai=y, search=n")).toEqual({ "train-ai": "y", search: "n" });
    expect(parsePreferences('ai-use=n;reason="x", future-thing=n')).toEqual({ "ai-use": "n" });
    // The draft's own examples: a bare key is a Boolean, "n" a String; the last duplicate wins.
    expect(parsePreferences('train-ai=y, train-ai, search=n, search="n"')).toEqual({});
    expect(parsePreferences("train-ai;allow=n, train-ai=y")).toEqual({ "train-ai": "y" });
    expect(parsePreferences("Train-AI=n")).toEqual({});
    expect(parsePreferences("train-ai=maybe, search=y")).toEqual({ search: "y" });
    expect(parsePreferences("not a dictionary ((")).toEqual({});
  });
});

describe("robots.txt Content-Usage rules (draft-ietf-aipref-attach-05)", () => {
  // The attachment draft's example file and table.
  const robots = [
    "User-Agent: *",
    "Allow: /",
    "Disallow: /never/",
    "Content-Usage: / train-ai=n",
    "Content-Usage: /ai-ok/ train-ai=y",
    "",
    "User-Agent: ExampleBot",
    "Allow: /",
    "Content-Usage: / train-ai=y",
  ].join("\n");

  it("takes the longest matching path in the crawler's group", () => {
    expect(robotsContentUsage(robots, "HeedBot", "https://s.example/test").preferences).toEqual({
      "train-ai": "n",
    });
    expect(robotsContentUsage(robots, "HeedBot", "https://s.example/test").lines).toEqual({ "train-ai": 4 });
    expect(robotsContentUsage(robots, "HeedBot", "https://s.example/ai-ok/test").preferences).toEqual({
      "train-ai": "y",
    });
    expect(robotsContentUsage(robots, "examplebot", "https://s.example/test").preferences).toEqual({
      "train-ai": "y",
    });
  });

  it("combines rules of equal length strictly, and ignores lines outside groups or without a path", () => {
    const text = [
      "Content-Usage: / search=n",
      "User-agent: HeedBot",
      "Content-Usage: /a train-ai=y",
      "Content-Usage: /a train-ai=n   # no wins",
      "Content-Usage: train-ai=y",
      "Content-Usage: /a/b search=n",
    ].join("\r\n");
    const usage = robotsContentUsage(text, "HeedBot", "https://s.example/a/b?q=1");
    expect(usage.preferences).toEqual({ "train-ai": "n", search: "n" });
    expect(robotsContentUsage(text, "HeedBot", "https://s.example/z").preferences).toEqual({});
  });
});

describe("purposes against preferences", () => {
  it("lets the strictest signal decide and names it; archiving is no vocabulary category", () => {
    const decisions = decidePurposes(
      ["archive", "ai-training", "search", "ai-use"],
      [
        {
          signal: "robots-content-usage",
          preferences: { "train-ai": "y", search: "y" },
          lines: { "train-ai": 3 },
        },
        { signal: "content-usage-header", preferences: { "train-ai": "n" } },
      ],
    );
    expect(decisions).toEqual([
      {
        purpose: "ai-training",
        category: "train-ai",
        decision: "disallowed",
        signal: "content-usage-header",
      },
      { purpose: "search", category: "search", decision: "allowed", signal: "robots-content-usage" },
      { purpose: "ai-use", category: "ai-use", decision: "unknown" },
    ]);
    expect(
      decidePurposes(["ai-use"], [{ signal: "tdm-reservation", preferences: TDM_RESERVED }])[0]?.decision,
    ).toBe("disallowed");
  });
});

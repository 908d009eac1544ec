/**
 * The allow/deny facts of Google's reference robots.txt parser test suite
 * (github.com/google/robotstxt, robots_test.cc), restated as data so Heed's
 * own parser can be held to them. `test` names the reference TEST they come from.
 *
 * Most rows are the reference's IsUserAgentAllowed(robotstxt, userAgent, url)
 * expectations, one row each. Reference tests that exercise internal helpers or a
 * parse-callback counter are restated as observable decisions instead; their
 * `test` name says "(as decisions)" and their comment says how.
 */

export interface RobotsCase {
  name: string;
  robotstxt: string;
  userAgent: string;
  url: string;
  allowed: boolean;
  /** 1-based line of the deciding rule, 0 for none; only where the fact is about parsing. */
  line?: number;
}

export interface RobotsSitemapCase {
  name: string;
  robotstxt: string;
  sitemaps: string[];
}

type Check = readonly [userAgent: string, url: string, allowed: boolean, line?: number];

// `first` numbers the checks as the reference test orders them.
function rows(test: string, robotstxt: string, checks: readonly Check[], first = 1): RobotsCase[] {
  return checks.map(([userAgent, url, allowed, line], i) => ({
    name: `${test} #${first + i}: ${userAgent || "''"} ${clip(url) || "''"} → ${allowed ? "allowed" : "disallowed"}`,
    robotstxt,
    userAgent,
    url,
    allowed,
    ...(line !== undefined ? { line } : {}),
  }));
}

function clip(url: string): string {
  return url.length > 80 ? `${url.slice(0, 60)}…(${url.length} chars)` : url;
}

// The worker decodes robots.txt bodies as UTF-8; byte-level reference inputs arrive as that decoding.
function decodedUtf8(prefix: readonly number[], text: string): string {
  return Buffer.concat([Buffer.from(prefix), Buffer.from(text, "utf8")]).toString("utf8");
}

const FOOBOT_DISALLOW_ALL = "user-agent: FooBot\ndisallow: /\n";

const systemTest = [
  ...rows("GoogleOnly_SystemTest", "", [["FooBot", "", true]]),
  ...rows(
    "GoogleOnly_SystemTest",
    FOOBOT_DISALLOW_ALL,
    [
      ["", "", true],
      // An empty URL has the path "/".
      ["FooBot", "", false],
    ],
    2,
  ),
  ...rows("GoogleOnly_SystemTest", "", [["", "", true]], 4),
];

const lineSyntax = [
  ...rows("ID_LineSyntax_Line correct", FOOBOT_DISALLOW_ALL, [["FooBot", "http://foo.bar/x/y", false]]),
  ...rows("ID_LineSyntax_Line incorrect", "foo: FooBot\nbar: /\n", [["FooBot", "http://foo.bar/x/y", true]]),
  ...rows("ID_LineSyntax_Line missing colon accepted", "user-agent FooBot\ndisallow /\n", [
    ["FooBot", "http://foo.bar/x/y", false],
  ]),
];

const GROUPS = [
  "allow: /foo/bar/",
  "",
  "user-agent: FooBot",
  "disallow: /",
  "allow: /x/",
  "user-agent: BarBot",
  "disallow: /",
  "allow: /y/",
  "",
  "",
  "allow: /w/",
  "user-agent: BazBot",
  "",
  "user-agent: FooBot",
  "allow: /z/",
  "disallow: /",
  "",
].join("\n");

const groups = [
  ...rows("ID_LineSyntax_Groups", GROUPS, [
    ["FooBot", "http://foo.bar/x/b", true],
    ["FooBot", "http://foo.bar/z/d", true],
    ["FooBot", "http://foo.bar/y/c", false],
    ["BarBot", "http://foo.bar/y/c", true],
    ["BarBot", "http://foo.bar/w/a", true],
    ["BarBot", "http://foo.bar/z/d", false],
    ["BazBot", "http://foo.bar/z/d", true],
    // Rules before any user-agent line belong to no group.
    ["FooBot", "http://foo.bar/foo/bar/", false],
    ["BarBot", "http://foo.bar/foo/bar/", false],
    ["BazBot", "http://foo.bar/foo/bar/", false],
  ]),
  ...rows(
    "ID_LineSyntax_Groups_OtherRules sitemap",
    "User-agent: BarBot\nSitemap: https://foo.bar/sitemap\nUser-agent: *\nDisallow: /\n",
    [
      ["FooBot", "http://foo.bar/", false],
      ["BarBot", "http://foo.bar/", false],
    ],
  ),
  ...rows(
    "ID_LineSyntax_Groups_OtherRules unknown",
    "User-agent: FooBot\nInvalid-Unknown-Line: unknown\nUser-agent: *\nDisallow: /\n",
    [
      ["FooBot", "http://foo.bar/", false],
      ["BarBot", "http://foo.bar/", false],
    ],
  ),
];

// The reference checks each expectation against every spelling variant in turn.
function caseVariants(test: string, texts: readonly string[], checks: readonly Check[]): RobotsCase[] {
  return checks.flatMap((check, i) =>
    texts.flatMap((text, v) => rows(`${test} variant ${v + 1}`, text, [check], i + 1)),
  );
}

const caseInsensitivity = [
  ...caseVariants(
    "ID_REPLineNamesCaseInsensitive",
    [
      "USER-AGENT: FooBot\nALLOW: /x/\nDISALLOW: /\n",
      "user-agent: FooBot\nallow: /x/\ndisallow: /\n",
      "uSeR-aGeNt: FooBot\nAlLoW: /x/\ndIsAlLoW: /\n",
    ],
    [
      ["FooBot", "http://foo.bar/x/y", true],
      ["FooBot", "http://foo.bar/a/b", false],
    ],
  ),
  ...caseVariants(
    "ID_UserAgentValueCaseInsensitive",
    [
      "User-Agent: FOO BAR\nAllow: /x/\nDisallow: /\n",
      "User-Agent: foo bar\nAllow: /x/\nDisallow: /\n",
      "User-Agent: FoO bAr\nAllow: /x/\nDisallow: /\n",
    ],
    [
      ["Foo", "http://foo.bar/x/y", true],
      ["Foo", "http://foo.bar/a/b", false],
      ["foo", "http://foo.bar/x/y", true],
      ["foo", "http://foo.bar/a/b", false],
    ],
  ),
];

const userAgents = [
  ...rows(
    "GoogleOnly_AcceptUserAgentUpToFirstSpace",
    "User-Agent: *\nDisallow: /\nUser-Agent: Foo Bar\nAllow: /x/\nDisallow: /\n",
    [
      ["Foo", "http://foo.bar/x/y", true],
      // Only the robots.txt value is cut at the space; the crawler's token is compared whole.
      ["Foo Bar", "http://foo.bar/x/y", false],
    ],
  ),
  ...rows("ID_GlobalGroups_Secondary empty", "", [["FooBot", "http://foo.bar/x/y", true]]),
  ...rows("ID_GlobalGroups_Secondary global", "user-agent: *\nallow: /\nuser-agent: FooBot\ndisallow: /\n", [
    ["FooBot", "http://foo.bar/x/y", false],
    ["BarBot", "http://foo.bar/x/y", true],
  ]),
  ...rows(
    "ID_GlobalGroups_Secondary only specific",
    "user-agent: FooBot\nallow: /\nuser-agent: BarBot\ndisallow: /\nuser-agent: BazBot\ndisallow: /\n",
    [["QuxBot", "http://foo.bar/x/y", true]],
  ),
  ...rows("ID_AllowDisallow_Value_CaseSensitive lower", "user-agent: FooBot\ndisallow: /x/\n", [
    ["FooBot", "http://foo.bar/x/y", false],
  ]),
  ...rows("ID_AllowDisallow_Value_CaseSensitive upper", "user-agent: FooBot\ndisallow: /X/\n", [
    ["FooBot", "http://foo.bar/x/y", true],
  ]),
];

const PAGE = "http://foo.bar/x/page.html";

const longestMatch = [
  ...rows("ID_LongestMatch 1", "user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/\n", [
    ["FooBot", PAGE, false],
  ]),
  ...rows("ID_LongestMatch 2", "user-agent: FooBot\nallow: /x/page.html\ndisallow: /x/\n", [
    ["FooBot", PAGE, true],
    ["FooBot", "http://foo.bar/x/", false],
  ]),
  ...rows("ID_LongestMatch 3 empty values", "user-agent: FooBot\ndisallow: \nallow: \n", [
    ["FooBot", PAGE, true],
  ]),
  ...rows("ID_LongestMatch 4 equal", "user-agent: FooBot\ndisallow: /\nallow: /\n", [["FooBot", PAGE, true]]),
  ...rows("ID_LongestMatch 5", "user-agent: FooBot\ndisallow: /x\nallow: /x/\n", [
    ["FooBot", "http://foo.bar/x", false],
    ["FooBot", "http://foo.bar/x/", true],
  ]),
  ...rows("ID_LongestMatch 6 equal", "user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/page.html\n", [
    ["FooBot", PAGE, true],
  ]),
  ...rows("ID_LongestMatch 7", "user-agent: FooBot\nallow: /page\ndisallow: /*.html\n", [
    ["FooBot", "http://foo.bar/page.html", false],
    ["FooBot", "http://foo.bar/page", true],
  ]),
  ...rows("ID_LongestMatch 8", "user-agent: FooBot\nallow: /x/page.\ndisallow: /*.html\n", [
    ["FooBot", PAGE, true],
    ["FooBot", "http://foo.bar/x/y.html", false],
  ]),
  ...rows(
    "ID_LongestMatch 9 specific group",
    "User-agent: *\nDisallow: /x/\nUser-agent: FooBot\nDisallow: /y/\n",
    [
      ["FooBot", "http://foo.bar/x/page", true],
      ["FooBot", "http://foo.bar/y/page", false],
    ],
  ),
];

const encoding = [
  ...rows(
    "ID_Encoding query stays unencoded",
    "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar?qux=taz&baz=http://foo.bar?tar&par\n",
    [["FooBot", "http://foo.bar/foo/bar?qux=taz&baz=http://foo.bar?tar&par", true]],
  ),
  ...rows("ID_Encoding 3-byte character", "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/ツ\n", [
    ["FooBot", "http://foo.bar/foo/bar/%E3%83%84", true],
    // The rule is percent-encoded, the URL is expected to be already; a raw one does not match.
    ["FooBot", "http://foo.bar/foo/bar/ツ", false],
  ]),
  ...rows(
    "ID_Encoding percent-encoded 3-byte character",
    "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%E3%83%84\n",
    [
      ["FooBot", "http://foo.bar/foo/bar/%E3%83%84", true],
      ["FooBot", "http://foo.bar/foo/bar/ツ", false],
    ],
  ),
  ...rows(
    "ID_Encoding percent-encoded unreserved ASCII",
    "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n",
    [
      ["FooBot", "http://foo.bar/foo/bar/baz", false],
      ["FooBot", "http://foo.bar/foo/bar/%62%61%7A", true],
    ],
  ),
];

const specialCharacters = [
  ...rows(
    "ID_SpecialCharacters wildcard",
    "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n",
    [
      ["FooBot", "http://foo.bar/foo/bar/quz", false],
      ["FooBot", "http://foo.bar/foo/quz", true],
      ["FooBot", "http://foo.bar/foo//quz", true],
      ["FooBot", "http://foo.bar/foo/bax/quz", true],
    ],
  ),
  ...rows(
    "ID_SpecialCharacters end anchor",
    "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n",
    [
      ["FooBot", "http://foo.bar/foo/bar", false],
      ["FooBot", "http://foo.bar/foo/bar/qux", true],
      ["FooBot", "http://foo.bar/foo/bar/", true],
      ["FooBot", "http://foo.bar/foo/bar/baz", true],
    ],
  ),
  ...rows(
    "ID_SpecialCharacters comments",
    "User-agent: FooBot\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n",
    [
      ["FooBot", "http://foo.bar/foo/bar", true],
      ["FooBot", "http://foo.bar/foo/quz", false],
    ],
  ),
];

const indexHtml = rows(
  "GoogleOnly_IndexHTMLisDirectory",
  "User-Agent: *\nAllow: /allowed-slash/index.html\nDisallow: /\n",
  [
    ["foobot", "http://foo.com/allowed-slash/", true],
    ["foobot", "http://foo.com/allowed-slash/index.htm", false],
    ["foobot", "http://foo.com/allowed-slash/index.html", true],
    ["foobot", "http://foo.com/anyother-url", false],
  ],
);

// The reference keeps at most 2083 * 8 - 1 octets of a line and drops the rest. Its long
// rules are "<key>/x/<letters>/qux", sized so that the cut falls right after "<letters>/".
function longSegment(key: string, letter: string): string {
  const length = 2083 * 8 - "/x/".length - key.length + 1;
  return `/x/${letter.repeat(length - "/x/".length)}`;
}
const longDisallow = longSegment("disallow: ", "a");
const longAllowA = longSegment("allow: ", "a");
const longAllowB = longSegment("allow: ", "b");

const lineTooLong = [
  ...rows("GoogleOnly_LineTooLong disallow", `user-agent: FooBot\ndisallow: ${longDisallow}/qux\n`, [
    ["FooBot", "http://foo.bar/fux", true],
    ["FooBot", `http://foo.bar${longDisallow}/fux`, false],
  ]),
  ...rows(
    "GoogleOnly_LineTooLong allow",
    `user-agent: FooBot\ndisallow: /\nallow: ${longAllowA}/qux\nallow: ${longAllowB}/qux\n`,
    [
      ["FooBot", "http://foo.bar/", false],
      ["FooBot", `http://foo.bar${longAllowA}/qux`, true],
      ["FooBot", `http://foo.bar${longAllowB}/fux`, true],
    ],
  ),
];

const fish = (allow: string) => `user-agent: FooBot\ndisallow: /\nallow: ${allow}\n`;

const documentation = [
  ...rows("GoogleOnly_DocumentationChecks /fish", fish("/fish"), [
    ["FooBot", "http://foo.bar/bar", false],
    ["FooBot", "http://foo.bar/fish", true],
    ["FooBot", "http://foo.bar/fish.html", true],
    ["FooBot", "http://foo.bar/fish/salmon.html", true],
    ["FooBot", "http://foo.bar/fishheads", true],
    ["FooBot", "http://foo.bar/fishheads/yummy.html", true],
    ["FooBot", "http://foo.bar/fish.html?id=anything", true],
    ["FooBot", "http://foo.bar/Fish.asp", false],
    ["FooBot", "http://foo.bar/catfish", false],
    ["FooBot", "http://foo.bar/?id=fish", false],
  ]),
  ...rows("GoogleOnly_DocumentationChecks /fish*", fish("/fish*"), [
    ["FooBot", "http://foo.bar/bar", false],
    ["FooBot", "http://foo.bar/fish", true],
    ["FooBot", "http://foo.bar/fish.html", true],
    ["FooBot", "http://foo.bar/fish/salmon.html", true],
    ["FooBot", "http://foo.bar/fishheads", true],
    ["FooBot", "http://foo.bar/fishheads/yummy.html", true],
    ["FooBot", "http://foo.bar/fish.html?id=anything", true],
    ["FooBot", "http://foo.bar/Fish.bar", false],
    ["FooBot", "http://foo.bar/catfish", false],
    ["FooBot", "http://foo.bar/?id=fish", false],
  ]),
  ...rows("GoogleOnly_DocumentationChecks /fish/", fish("/fish/"), [
    ["FooBot", "http://foo.bar/bar", false],
    ["FooBot", "http://foo.bar/fish/", true],
    ["FooBot", "http://foo.bar/fish/salmon", true],
    ["FooBot", "http://foo.bar/fish/?salmon", true],
    ["FooBot", "http://foo.bar/fish/salmon.html", true],
    ["FooBot", "http://foo.bar/fish/?id=anything", true],
    ["FooBot", "http://foo.bar/fish", false],
    ["FooBot", "http://foo.bar/fish.html", false],
    ["FooBot", "http://foo.bar/Fish/Salmon.html", false],
  ]),
  ...rows("GoogleOnly_DocumentationChecks /*.php", fish("/*.php"), [
    ["FooBot", "http://foo.bar/bar", false],
    ["FooBot", "http://foo.bar/filename.php", true],
    ["FooBot", "http://foo.bar/folder/filename.php", true],
    ["FooBot", "http://foo.bar/folder/filename.php?parameters", true],
    ["FooBot", "http://foo.bar//folder/any.php.file.html", true],
    ["FooBot", "http://foo.bar/filename.php/", true],
    ["FooBot", "http://foo.bar/index?f=filename.php/", true],
    ["FooBot", "http://foo.bar/php/", false],
    ["FooBot", "http://foo.bar/index?php", false],
    ["FooBot", "http://foo.bar/windows.PHP", false],
  ]),
  ...rows("GoogleOnly_DocumentationChecks /*.php$", fish("/*.php$"), [
    ["FooBot", "http://foo.bar/bar", false],
    ["FooBot", "http://foo.bar/filename.php", true],
    ["FooBot", "http://foo.bar/folder/filename.php", true],
    ["FooBot", "http://foo.bar/filename.php?parameters", false],
    ["FooBot", "http://foo.bar/filename.php/", false],
    ["FooBot", "http://foo.bar/filename.php5", false],
    ["FooBot", "http://foo.bar/php/", false],
    ["FooBot", "http://foo.bar/filename?php", false],
    ["FooBot", "http://foo.bar/aaaphpaaa", false],
    ["FooBot", "http://foo.bar//windows.PHP", false],
  ]),
  ...rows("GoogleOnly_DocumentationChecks /fish*.php", fish("/fish*.php"), [
    ["FooBot", "http://foo.bar/bar", false],
    ["FooBot", "http://foo.bar/fish.php", true],
    ["FooBot", "http://foo.bar/fishheads/catfish.php?parameters", true],
    ["FooBot", "http://foo.bar/Fish.PHP", false],
  ]),
  ...rows("GoogleOnly_DocumentationChecks precedence /p", "user-agent: FooBot\nallow: /p\ndisallow: /\n", [
    ["FooBot", "http://example.com/page", true],
  ]),
  ...rows(
    "GoogleOnly_DocumentationChecks precedence /folder",
    "user-agent: FooBot\nallow: /folder\ndisallow: /folder\n",
    [["FooBot", "http://example.com/folder/page", true]],
  ),
  ...rows(
    "GoogleOnly_DocumentationChecks precedence /*.htm",
    "user-agent: FooBot\nallow: /page\ndisallow: /*.htm\n",
    [["FooBot", "http://example.com/page.htm", false]],
  ),
  ...rows("GoogleOnly_DocumentationChecks precedence /$", "user-agent: FooBot\nallow: /$\ndisallow: /\n", [
    ["FooBot", "http://example.com/", true],
    ["FooBot", "http://example.com/page.html", false],
  ]),
];

/** The reference expectations of IsUserAgentAllowed, one row each. */
export const REFERENCE_DECISIONS: readonly RobotsCase[] = [
  ...systemTest,
  ...lineSyntax,
  ...groups,
  ...caseInsensitivity,
  ...userAgents,
  ...longestMatch,
  ...encoding,
  ...specialCharacters,
  ...indexHtml,
  ...lineTooLong,
  ...documentation,
];

// ID_LinesNumbersAreCountedCorrectly counts 4 directives, the last on line 6, for every
// line-ending style; here that is: foo's Allow decides on line 2 and bar's Disallow on line 6.
const LINE_ENDINGS: readonly (readonly [string, string])[] = [
  ["unix", "User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\nDisallow: /\n"],
  ["dos", "User-Agent: foo\r\nAllow: /some/path\r\nUser-Agent: bar\r\n\r\n\r\nDisallow: /\r\n"],
  ["mac", "User-Agent: foo\rAllow: /some/path\rUser-Agent: bar\r\r\rDisallow: /\r"],
  ["no final newline", "User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\nDisallow: /"],
  ["mixed", "User-Agent: foo\nAllow: /some/path\r\nUser-Agent: bar\n\r\n\nDisallow: /"],
];

const lineNumbers = LINE_ENDINGS.flatMap(([style, text]) =>
  rows(`ID_LinesNumbersAreCountedCorrectly (as decisions) ${style}`, text, [
    ["foo", "http://foo.bar/some/path", true, 2],
    ["bar", "http://foo.bar/some/path", false, 6],
  ]),
);

// ID_UTF8ByteOrderMarkIsSkipped counts parsed directives; here: does foo's Allow (line 2) decide?
const BOM_BODY = "User-Agent: foo\nAllow: /AnyValue\n";
const byteOrderMarks = [
  ...rows(
    "ID_UTF8ByteOrderMarkIsSkipped (as decisions) full BOM",
    decodedUtf8([0xef, 0xbb, 0xbf], BOM_BODY),
    [["foo", "http://foo.bar/AnyValue", true, 2]],
  ),
  ...rows(
    "ID_UTF8ByteOrderMarkIsSkipped (as decisions) 2-byte partial BOM",
    decodedUtf8([0xef, 0xbb], BOM_BODY),
    [["foo", "http://foo.bar/AnyValue", true, 2]],
  ),
  ...rows("ID_UTF8ByteOrderMarkIsSkipped (as decisions) 1-byte partial BOM", decodedUtf8([0xef], BOM_BODY), [
    ["foo", "http://foo.bar/AnyValue", true, 2],
  ]),
  // A broken BOM makes the user-agent line garbage, so the Allow is outside any group.
  ...rows(
    "ID_UTF8ByteOrderMarkIsSkipped (as decisions) broken BOM",
    decodedUtf8([0xef, 0x11, 0xbf], BOM_BODY),
    [["foo", "http://foo.bar/AnyValue", true, 0]],
  ),
  // A BOM is only skipped at the start of the file; mid-file it spoils its line.
  ...rows(
    "ID_UTF8ByteOrderMarkIsSkipped (as decisions) BOM mid-file",
    decodedUtf8([], "User-Agent: foo\n\uFEFFAllow: /AnyValue\n"),
    [["foo", "http://foo.bar/AnyValue", true, 0]],
  ),
];

// TestGetPathParamsQuery: the URL's path+params+query, as matched. "allow: <path>$" outranks
// "disallow: /" exactly when the extracted path equals <path>.
const PATHS: readonly (readonly [string, string])[] = [
  ["", "/"],
  ["http://www.example.com", "/"],
  ["http://www.example.com/", "/"],
  ["http://www.example.com/a", "/a"],
  ["http://www.example.com/a/", "/a/"],
  ["http://www.example.com/a/b?c=http://d.e/", "/a/b?c=http://d.e/"],
  ["http://www.example.com/a/b?c=d&e=f#fragment", "/a/b?c=d&e=f"],
  ["example.com", "/"],
  ["example.com/", "/"],
  ["example.com/a", "/a"],
  ["example.com/a/", "/a/"],
  ["example.com/a/b?c=d&e=f#fragment", "/a/b?c=d&e=f"],
  ["a", "/"],
  ["a/", "/"],
  ["/a", "/a"],
  ["a/b", "/b"],
  ["example.com?a", "/?a"],
  ["example.com/a;b#c", "/a;b"],
  ["//a/b/c", "/b/c"],
];

const pathExtraction = PATHS.flatMap(([url, path]) =>
  rows(`TestGetPathParamsQuery (as decisions) ${url || "''"} has path ${path}`, fish(`${path}$`), [
    ["FooBot", url, true],
  ]),
);

// TestMaybeEscapePattern: how rule values are normalised before matching.
const patternEscaping = [
  ...rows("TestMaybeEscapePattern (as decisions) ASCII unchanged", fish("/http://www.example.com$"), [
    ["FooBot", "http://foo.bar/http://www.example.com", true],
  ]),
  ...rows("TestMaybeEscapePattern (as decisions) path unchanged", fish("/a/b/c$"), [
    ["FooBot", "http://foo.bar/a/b/c", true],
  ]),
  ...rows("TestMaybeEscapePattern (as decisions) non-ASCII escaped", fish("/á$"), [
    ["FooBot", "http://foo.bar/%C3%A1", true],
  ]),
  ...rows("TestMaybeEscapePattern (as decisions) escapes upper-cased", fish("/%aa$"), [
    ["FooBot", "http://foo.bar/%AA", true],
  ]),
];

/** Reference tests of parser internals, restated as decisions. */
export const REFERENCE_DERIVED_DECISIONS: readonly RobotsCase[] = [
  ...lineNumbers,
  ...byteOrderMarks,
  ...pathExtraction,
  ...patternEscaping,
];

const SITEMAP = "http://foo.bar/sitemap.xml";
const SITEMAP_BODY = "User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\n";

/** ID_NonStandardLineExample_Sitemap. */
export const REFERENCE_SITEMAPS: readonly RobotsSitemapCase[] = [
  {
    name: "sitemap after the groups",
    robotstxt: `${SITEMAP_BODY}Sitemap: ${SITEMAP}\n`,
    sitemaps: [SITEMAP],
  },
  {
    name: "sitemap anywhere in the file",
    robotstxt: `Sitemap: ${SITEMAP}\n${SITEMAP_BODY}`,
    sitemaps: [SITEMAP],
  },
];

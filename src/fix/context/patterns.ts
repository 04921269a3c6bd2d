/**
 * What an error line looks like, per tool, and what an infrastructure failure
 * looks like. Pure functions over one cleaned line.
 *
 * Scores: 3 = a diagnosis (compiler error with a location, failed assertion,
 * failed test, traceback start); 2 = an error statement (exception line,
 * `##[error]`, `fatal:`, failure summaries); 1 = a line that merely mentions an
 * error or a failure (`npm ERR!`, `make: ***`, `[ERROR]`); 0 = not an error.
 */
import { anyOfWords, SECRET_HINT_WORDS } from "../redact.js";
import type { InfraKind } from "./types.js";

/**
 * Quick gate: lines without any of these words (ignoring case) and not of the
 * anchored shapes below are never error lines. The patterns further down only
 * run on lines that pass it.
 */
export const ERROR_HINT_WORDS: readonly string[] = [
  "err", "fail", "exception", "traceback", "panic", "assert", "expected", "received", "fatal", "abort", "not ok",
  "undefined", "cannot", "segmentation", "core dumped", "killed", "out of memory", "✕", "✖", "×", "✗", "●", "<<<",
  "went wrong", "required from", "violation", "offenses", "exited with", "sanitizer", "runtime error", "❌",
  "[-] ", "issues :-(", "risky tests",
];
/**
 * pytest `E   …` and `____ test ____`, kotlin `e: `, eslint `  3:5  error`, go `x.go:3:5: …`.
 * scan.ts lets a line skip the rules only when none of these can match (a first character
 * among `E _ e - # = d *` or a digit, or `:` and a digit in the first word): keep the two in step
 * (test/context-scan.test.ts checks it on every fixture log).
 */
const ERROR_HINT_SHAPES = /^(?:E\s|_{3,}|e: |\s+\d+:\d+\s|\S+\.go:\d+:\d+: |\s*\d+\) \S|\s*[\w./@+~-]+\.\w+:\d+|-{4} \S|#\d+ |={3} CONT|diff --git |\*\* \()/;
const ERROR_HINT = anyOfWords(ERROR_HINT_WORDS);

/** Whether a cleaned line has one of the anchored error shapes (scan.ts asks before it lets a line skip the rules). */
export function hasErrorShape(line: string): boolean {
  return ERROR_HINT_SHAPES.test(line);
}

/** Passing results and phrases that mention errors without being errors. */
const NOT_AN_ERROR = /^\s*(?:✓|✔|√|PASS\b|ok\s+\d|ok\s+\S+\s+[\d.]+s)|\bno errors?\b|\bwithout errors?\b|^\[ {7}OK \]|^\[ RUN {6}\] .*: (?:[\d.]+ ms )?OK$|^(?:SKIP|XFAIL) \S.*\.phpt\]/i;

/** Failure counts of a summary, the number before or after the word: `3 failed`, `Failures: 0`, `Errors 0`. */
const FAILURE_COUNT = /\b(\d+) (?:errors?|failed|failures?|failing)\b|\b(?:errors?|failed|failures?|failing)(?::|=| =)? ?(\d+)\b/gi;
/** The same without `g`: a test with no state and no match objects, for the lines without a count (most). */
const HAS_FAILURE_COUNT = new RegExp(FAILURE_COUNT.source, "i");

/**
 * A summary whose failure counts are all zero (`Passed: Total 12, Failed 0, Errors 0`,
 * `0 failed, 0 ignored`) reports success; one non-zero count makes it a failure summary.
 */
function onlyZeroCounts(line: string): boolean {
  if (!HAS_FAILURE_COUNT.test(line)) return false;
  let counts = 0;
  for (const match of line.matchAll(FAILURE_COUNT)) {
    if ((match[1] ?? match[2]) !== "0") return false;
    counts += 1;
  }
  return counts > 0;
}

/** Failure markers whose wording may contain "no errors" or a zero count: TAP `not ok 6 no errors`. */
const ANCHORED_FAILURE = /^\s*not ok \d+\b/;

/**
 * googletest `[       OK ] Suite.Test`, and runners in its format that put the verdict after the name
 * (`[ RUN      ] x: 12.3 ms OK`); PHP run-tests' skipped tests and expected failures (`SKIP title [a.phpt]`).
 */
const PASSING = /^\s*(?:✓|✔|√|PASS\b|ok\s+\d|ok\s+\S+\s+[\d.]+s)|^\[ {7}OK \]|^\[ RUN {6}\] .*: (?:[\d.]+ ms )?OK$|^(?:SKIP|XFAIL) \S.*\.phpt\]/;

/** A passed test or package: never context worth showing next to an error. */
export function isPassingLine(line: string): boolean {
  return PASSING.test(line);
}

/**
 * Whether a cleaned line whose first character past blanks is `first` (a code point) is a
 * passing line for sure (PASSING's check marks), without its text: keep the two in step.
 */
export function isPassingFirst(first: number): boolean {
  return first === 0x2713 /* ✓ */ || first === 0x2714 /* ✔ */ || first === 0x221a /* √ */;
}

const STRONG: RegExp[] = [
  /\(\d+(?:,\d+)?\): (?:fatal )?error [A-Z]*\d+:/, // tsc src/a.ts(3,5): error TS2322:, MSVC, C#
  /:\d+:\d+ - error TS\d+:/, // tsc --pretty
  /^[^\s:][^:]*:\d+(?::\d+)?: (?:fatal error|error):/, // gcc, clang, javac, swiftc: file.c:3:5: error:
  /^error(?:\[E\d{4}\])?: (?!could not compile|aborting due to)/, // rustc
  /^(?:\.\/)?[\w./-]+\.go:\d+:\d+: /, // go build, go vet
  /^--- FAIL: /, // go test
  /^panic: /, // go panic
  /^\s*● (?!Console\b)/, // jest failing test
  /^\s*(?:✕|×|✗)\s+\S/, // jest / vitest / mocha failing test
  /^\s*FAIL\s+\S+\.(?:[cm]?[jt]sx?|vue|svelte)\b/, // jest / vitest failing file
  /expect\(.*\)\.(?:not\.|resolves\.|rejects\.)*\w+\(/, // jest matcher
  /^\s*(?:Expected|Received)(?: value| length| substring| pattern| string| object)?:\s/, // jest
  /^\s*- Expected\b|^\s*\+ Received\b/, // jest / vitest diff header
  /AssertionError|\bassert(?:ion)? failed\b|\bassert_eq!|\bassertion `left == right` failed/, // node, python, rust
  /^E\s{2,}\S/, // pytest
  /^_{3,} .+ _{3,}$/, // pytest test header
  /^(?:FAILED|ERROR) \S+::/, // pytest short summary
  /^[\w./-]+\.py:\d+: \w*(?:Error|Exception)\b/, // pytest location line
  /^Traceback \(most recent call last\):/, // python
  /^Exception in thread "/, // java
  /\.(?:java|kt|scala|groovy):\[\d+,\d+\]/, // maven compiler
  /^e: .*\.kts?:/, // kotlin via gradle
  /<<< (?:FAILURE|ERROR)!/, // surefire
  /^\s+\d+:\d+\s+(?:error|✖|×)\s+/, // eslint stylish, stylelint string formatter: `  3:5  error  message  rule`
  /^\s+[\w./-]+_test\.go:\d+: \S/, // go test t.Error / t.Fatal output
  /^(?:FAIL|ERROR): \w+ \((?:[\w.]+|[\d.]+s)\)/, // python unittest `FAIL: test_x (mod.Case)`, go `FAIL: TestX (0.01s)`
  /^\s*\d+\) (?!passing|failing|pending)\S.*/, // mocha, PHPUnit, Elixir ExUnit, RSpec numbered failures
  /^---- \S+ stdout ----$/, // rust test
  /^thread '[^']*' panicked at /, // rust panic
  /: required from here$/, // g++ template instantiation chain
  /^[^\s:][^:]*:\d+(?::\d+)?: (?:in \w|\w*Error\b)/, // pytest traceback frame `path.py:7: in fn`
  /^\*\* \(\w+(?:\.\w+)*\) /, // Elixir exception
  /\bfailed on line \d+\b/, // Erlang common test
  /^Failed asserting that /, // PHPUnit
  /^\s*Found errors in \w+\(\):?$/, // vim test suite
  /^Running the tests in .* failed\.$/, // R CMD check
  /^#\d+ ERROR: |^ERROR \[[^\]]+\]|^ERROR: failed to solve:/, // docker buildx
  /^\s*Tests run: \d+, Failures: (?:[1-9]|\d{2,}), |^\s*Tests run: \d+, Failures: \d+, Errors: (?:[1-9]|\d{2,})/, // surefire / JUnit summary
  /^(?:\[ERROR\] )?COMPILATION ERROR\b/, // maven
  /^\[ERROR\] Failed to execute goal /, // maven
  /\*\*\* FAILED \*\*\*$/, // ScalaTest `- does x *** FAILED ***`
  /(?:^|==\d+==)ERROR: \w+Sanitizer: /, // AddressSanitizer, ThreadSanitizer, LeakSanitizer reports (also from a log file shown with a prefix)
  /^\[ {2}FAILED {2}\] \S+\.\S+/, // googletest `[  FAILED  ] Suite.Test (12 ms)`
  /❌\s+[^\s:]+:\d+(?::\d+)?: /, // xcpretty compiler error `❌  /path/File.swift:47:19: message`
  /^FAIL \S.*\.phpt\]/, // PHP run-tests `FAIL title [path/test.phpt]`
  /^[^\s:][^:]*:\d+:\d+: runtime error: /, // UndefinedBehaviorSanitizer
  /^CMake Error at \S+:\d+ \(\w+\):/, // CMake `CMake Error at CMakeLists.txt:12 (find_package):`
  /(?:^\s*|: )Error (?:found|\d+ of \d+):$/, // PureScript compiler (a test runner may put the test's name first), its place on the lines below
  /^\s*\[-\] \S/, // Pester failed test `[-] Adds numbers 12ms`
];

const MEDIUM: RegExp[] = [
  /^\s*(?:[\w.$]*(?:Error|Exception)|panic)(?: \[[\w-]+\])?: \S/, // TypeError: x, java.lang.IllegalStateException: x
  /^\s*(?:error|ERROR|fatal error|FATAL)(?:\[[\w-]+\])?: \S/, // error: could not compile
  /^\s*Caused by: /,
  /^fatal: /, // git
  /\b(?:Tests?|Test Files|Test Suites|Suites?):?\s+\d+ failed\b/, // jest, vitest summaries
  /\b\d+ (?:failing|failed)\b/, // mocha, pytest summaries
  /^FAIL\b/, // go test summary
  /Segmentation fault|core dumped|JavaScript heap out of memory|\bOOMKilled\b/,
  /^::error\b/,
  /\bBUILD FAILED\b|\bFAILURE: Build failed\b|> Task \S+ FAILED/, // gradle
  /^\s*✖ \d+ problems? \(\d+ errors?/, // eslint summary
  /^\* What went wrong:|^Execution failed for task /, // gradle
  /\bBUILD FAILURE\b/, // maven
  /^The command ".*" (?:failed and )?exited with [1-9]\d*\b/, // travis
  /^(?:Build step '.*' marked build as failure|FATAL: )/, // jenkins
  /\bmake(?:\[\d+\])?: \*\*\* .*Error \d+/, // make
  /^Error: Process completed with exit code [1-9]|\bexited with (?:code |status )?[1-9]\d*\b/, // shell `set -e`
  /^\s*[\w./@+~-]+\.[A-Za-z]\w*:\d+:\d+: \S/, // compilers and linters in unix format (standard, eslint -f unix, clang-tidy): path:line:col: message
  /^\s*[\w./@+~-]+\.[A-Za-z]\w*:\d+(?::\d+)?:? +\S.*(?:[Ee]rror|[Ww]arning|[Vv]iolation|[Uu]ndefined|unused|[Ll]onger than|[Ee]xpected|\b[CWEF]: )/, // linters and compilers: path:line[:col]: message
  /^Offenses:$/, // rubocop
  /\[FAIL\]$/, // xunit
  /^(?:Error|Failure):$/, // minitest
  /\s(?:ERROR|FAIL(?:ED)?)$/, // test runners printing a verdict per line
  /\bSUMMARY: \w+Sanitizer: /, // sanitizer summary
  /^diff --git a\/\S+ b\/\S+$/, // a check that prints the change it wants (formatters, `git diff --exit-code`)
  /^[\w.+-]+: (?:fatal )?error: \S/, // GNU `program: error: message` (autoconf's `configure: error: …`)
  /^CMake Error\b/, // CMake without a location (`CMake Error: The source directory … does not exist.`)
  // A linter message on a source line ending with its rule id: eslint/prettier `file.js:3 Replace … (prettier/prettier)`, standard `(no-unused-vars)`.
  /^\s*[\w./@+~-]+\.[A-Za-z]\w*:\d+(?::\d+)?:? +\S.*\((?:@?[\w-]+\/[\w-]+|[a-z]+(?:-[a-z]+)+)\)$/,
  /^Issues :-\($/, // awesome_bot: the list of dead or redirected links follows
  /^\[error\] (?:\d+ of \d+ [\w ]*tasks? failed|Failed tests:|Failed: Total \d+|\([^)]*\) [\w.$]*(?:Exception|Error)\b)/, // sbt summaries
];

const WEAK: RegExp[] = [
  /^\s*(?:ERROR|FATAL|FAIL(?:ED)?)\b/,
  /\bERROR\b/, // a log level after other output on the same line (`Building sites … ERROR 2019/08/01 …`)
  /\b(?:error|ERROR|Error)\b\s*[:\]!]/,
  /\bERR!/,
  /\bFAIL(?:ED|URE)?\b/,
  /\b(?:failed|failure)\b/i,
  /\bmake(?:\[\d+\])?: \*\*\*/,
  /\bnpm error\b/,
  /^OK, but incomplete, skipped, or risky tests!$/, // PHPUnit: a run that fails on risky tests (--fail-on-risky, strict mode)
];

/** PHP's run-tests diff: `005- …` is the output the test expected, `005+ …` what it printed. */
const PHPT_EXPECTED = /^\d{3,}- /;

/**
 * Each tier's expressions as one alternation: a line matches it exactly when it matches one of
 * them, and one expression costs one call where the list cost one per rule (most lines that
 * reach the tiers match none of the strong or medium ones).
 */
function anyOf(patterns: readonly RegExp[]): RegExp {
  const flags = new Set(patterns.map((pattern) => pattern.flags));
  if (flags.size !== 1) throw new Error("the expressions of a tier must share their flags");
  return new RegExp(patterns.map((pattern) => `(?:${pattern.source})`).join("|"), patterns[0].flags);
}

const ANY_STRONG = anyOf(STRONG);
const ANY_MEDIUM = anyOf(MEDIUM);
const ANY_WEAK = anyOf(WEAK.filter((pattern) => pattern.flags === ""));
const ANY_WEAK_IGNORING_CASE = anyOf(WEAK.filter((pattern) => pattern.flags === "i"));

export function errorScore(line: string): number {
  if (!ERROR_HINT.test(line) && !ERROR_HINT_SHAPES.test(line)) return 0;
  // An error message the test expected to see is not one.
  if (PHPT_EXPECTED.test(line)) return 0;
  if (ANCHORED_FAILURE.test(line)) return 3; // TAP (node --test, tape)
  if (NOT_AN_ERROR.test(line) || onlyZeroCounts(line)) return 0;
  if (ANY_STRONG.test(line)) return 3;
  if (ANY_MEDIUM.test(line)) return 2;
  if (ANY_WEAK.test(line) || ANY_WEAK_IGNORING_CASE.test(line)) return 1;
  return 0;
}

/**
 * Lines that belong to the error above them: stack frames, code frames, diff
 * lines (a unified diff's headers, hunks and changed lines, PHP run-tests' numbered diff), compiler notes, sanitizer frames,
 * the YAML block under a TAP `not ok`. They keep an open excerpt going.
 */
const CONTINUATION =
  /^\s+at\s+\S|^\s+File "[^"]+", line \d+|^\s*>?\s*\d+\s*\|[^|]|^\s*\d+\s*\|\s*$|^\s*\|\s|^\s*\|$|^\s*-->\s|^\s*= (?:note|help):|^\s*(?:note|help):|:\d+:\d+: note:|^[E>]\s|^\s*[-+]\s|^\s*❯ |^\s*[~^]+\s*$|^\s*\.\.\. \d+ more|^goroutine \d+ \[|^\s+\S+\.go:\d+|^\s*(?:symbol|location):|^\s*In file included from|^\s*(?:Expected|Received|Actual)\b|^\s+\^|^\s+(?:---|\.\.\.)$|^\s+(?:operator|expected|actual|at|stack|found|wanted|severity|diff):|^index [0-9a-f]{7,}\.\.[0-9a-f]{7,}|^(?:---|\+\+\+) (?:[ab]\/|\/dev\/null)|^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@|^[-+]|^\s*#\d+ 0x[0-9a-f]+ in |^\d{3,}[+-] /;

export function isContinuation(line: string): boolean {
  return CONTINUATION.test(line);
}

export interface InfraHit {
  kind: InfraKind;
  /** Runner-level causes that decide the class even next to code errors. */
  definitive: boolean;
  line: string;
}

/**
 * Every infra rule below needs one of these words (ignoring case): keep the two in step. A number
 * among them is taken to need non-digits around it (scan.ts skips `1500` for `500`): the rules
 * below that name one also name a word of this list, or bound the number (`\b`, a space, `.`).
 */
export const INFRA_HINT_WORDS: readonly string[] = [
  "econn", "etimedout", "enotfound", "eai_again", "enospc", "resolve host", "name resolution", "reset by peer", "hang up",
  "handshake", "dial tcp", "unreachable", "timed out", "readtimeouterror", "could not fetch", "bad gateway",
  "service unavailable", "gateway time", "500", "502", "503", "504", "429", "rate limit", "toomanyrequests",
  "shutdown signal", "lost communication", "did not respond", "system failure", "cancel", "maximum execution",
  "took longer", "space left", "space on the disk", "disk space", "newconnectionerror", "establish a new connection",
  "failed to connect", "unable to access", "cloning remote", "could not checkout", "remote branch", "unsafe repository",
  "orderlyshutdown", "channelclosed", "went offline", "content descriptor", "source metadata", "time limit",
  "no output has been received", "proxy", "124", "certificate", "error responses", "could not create connection", "couldn't establish",
  "disconnected", "failed to download", "could not transfer artifact", "ssl connect", "fatal alert",
];

const INFRA_RULES: { kind: InfraKind; definitive: boolean; pattern: RegExp }[] = [
  {
    kind: "runner-lost",
    definitive: true,
    pattern:
      /runner has received a shutdown signal|lost communication with the server|runner: .{0,120} lost communication|Runner .{0,120} did not respond to a cancel|Job failed \(system failure\)/i,
  },
  {
    kind: "timeout",
    definitive: true,
    pattern:
      /exceeded the maximum execution time|\b(?:job|step|action|operation|workflow|run) has timed out|execution took longer than|Job failed: execution took longer/i,
  },
  {
    kind: "cancelled",
    definitive: true,
    pattern: /The operation was cancell?ed\.|The job was cancell?ed|Job failed: canceled|^ERROR: Job failed: job canceled/i,
  },
  {
    kind: "runner-lost",
    definitive: true,
    pattern: /hudson\.remoting\.(?:Channel\$OrderlyShutdown|ChannelClosedException)|Agent went offline during the build/i,
  },
  {
    kind: "timeout",
    definitive: true,
    pattern: /The job exceeded the maximum time limit for jobs|No output has been received in the last \d+m|^The command ".*" exited with 124\.$|^Process completed with exit code 124\.$/i,
  },
  {
    // Karma: the browser (often a remote one at a testing service) stopped answering.
    kind: "runner-lost",
    definitive: false,
    pattern: /\bDisconnected(?: \(\d+ times?\))?,? because no message in \d+ ?ms\b/i,
  },
  {
    kind: "checkout",
    definitive: false,
    pattern:
      /fatal: unable to access '[^']+': (?:The requested URL returned error: 5\d\d|Could not resolve host|Failed to connect)|Error cloning remote repo|Could not checkout [0-9a-f]{7,}|Could not find remote branch \S+ to clone|fatal: unsafe repository/i,
  },
  {
    kind: "disk-full",
    definitive: true,
    pattern: /No space left on device|\bENOSPC\b|not enough space on the disk|You are running out of disk space/i,
  },
  {
    kind: "rate-limit",
    definitive: false,
    pattern:
      /API rate limit exceeded|secondary rate limit|\brate limit exceeded|\b429 \(?Too Many Requests|\bHTTP(?:\/\d(?:\.\d)?)?:? 429\b|status(?: code)?:? 429\b|\btoomanyrequests\b|reached your pull rate limit/i,
  },
  {
    kind: "registry",
    definitive: false,
    pattern:
      /\bfailed to download from `https?:|too many 50[0234] error responses|could not fetch content descriptor|failed to resolve source metadata|error pulling image configuration|npm (?:ERR!|error) (?:code )?E?50[0234]\b|Could not fetch URL|\b50[234] \(?(?:Bad Gateway|Service Unavailable|Gateway Time-?out)|HTTP (?:status |code |error )?50[234]\b|unexpected HTTP status: 50[0234]|Service Unavailable for url|returned error: 50[234]|status code 50[234]\b/i,
  },
  {
    kind: "network",
    definitive: false,
    pattern:
      /\bECONNRESET\b|\bETIMEDOUT\b|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|\bEAI_AGAIN\b|Could not resolve host|Temporary failure in name resolution|Connection reset by peer|socket hang up|TLS handshake timeout|dial tcp[^\n]{0,160}(?:i\/o timeout|no such host)|Network is unreachable|Failed to connect to .{0,160}(?:timed out|Connection refused)|NewConnectionError|Failed to establish a new connection|Read timed out|ReadTimeoutError|Connection timed out|Could not create connection to \S+|Couldn't establish HTTP connection|no certificate subject alternative name matches|(?:\(35\)|\[35\]) SSL connect error|Could not transfer artifact .{0,300}: (?:Received fatal alert|Connection (?:refused|reset|timed out)|connect timed out|Read timed out|Remote host closed connection|Unknown host)/i,
  },
];

/** A notice that a tool recovered (a retry, a cached copy): not the failure even when it names an outage. */
const RECOVERED = /\bwarn(?:ing)?\b|\bretry(?:ing)?\b|\bwill retry\b|\busing (?:the )?cached\b/i;

export function isRecoveredNotice(line: string): boolean {
  return RECOVERED.test(line);
}

/**
 * A link checker's report of one checked address (awesome_bot: `  2. [L12] http://x.org/ Connection
 * timed out`): the dead link is what the check found in the repository, not an outage of the CI.
 */
const CHECKED_LINK = /^\s*\d+\.\s+(?:\[L\d+\]\s+)?(?:\d{3}\s+)?https?:\/\/\S+\s/;

/** Every infra rule's expression in one: most lines with a hint word match none, and then one call says so. */
const ANY_INFRA = anyOf(INFRA_RULES.map((rule) => rule.pattern));

/**
 * The hint words with `econn` narrowed to `econnreset`, the only rule that needs it: a retried
 * `ECONNREFUSED` (tests that wait for a database print thousands) then costs one test, not the
 * whole ANY_INFRA. Every alternative of the rules names one of these words but one, INFRA_PULLING,
 * which names none (the hint words let it through with `econn`): with it, the gate and ANY_INFRA
 * pass exactly the lines that have a hint word and match ANY_INFRA.
 */
const INFRA_GATE = anyOfWords(INFRA_HINT_WORDS.map((word) => (word === "econn" ? "econnreset" : word)));
const INFRA_PULLING = /error pulling image configuration/i;

export function detectInfra(line: string): InfraHit | null {
  if (!INFRA_GATE.test(line) && !(INFRA_PULLING.test(line) && /econn/i.test(line))) return null;
  if (!ANY_INFRA.test(line) || CHECKED_LINK.test(line)) return null;
  for (const rule of INFRA_RULES) {
    if (rule.pattern.test(line)) return { kind: rule.kind, definitive: rule.definitive, line };
  }
  return null;
}

const INFRA_FOR_CONCLUSION: Record<string, InfraKind> = { cancelled: "cancelled", timed_out: "timeout" };

/** A run or job conclusion that settles the class without reading the log. */
export function infraKindForConclusion(conclusion: string | null | undefined): InfraKind | null {
  return conclusion ? (INFRA_FOR_CONCLUSION[conclusion] ?? null) : null;
}

/**
 * One test per line for everything above plus the secret screen of the
 * redactor: most lines of a log match none, and then no other pattern runs.
 */
const MAY_MATTER = anyOfWords([...ERROR_HINT_WORDS, ...INFRA_HINT_WORDS, ...SECRET_HINT_WORDS]);

export function mayMatter(line: string): boolean {
  return MAY_MATTER.test(line) || ERROR_HINT_SHAPES.test(line);
}

/**
 * Evidence of which repository files a failure is about, read from CI output.
 *
 * Path shapes (`file:line` of compilers, linters, Node/Go/Rust/C/Ruby/PHP/Swift
 * traces) come from the context's RefCollector; this module adds the shapes that
 * name a file without spelling its path: JVM stack frames (package + file name),
 * Python tracebacks and pytest/unittest ids, .NET `in path:line N`, PHP `on line N`,
 * test names in runner summaries (JUnit/Surefire/Gradle classes, Go packages).
 * Each piece keeps the line it came from and a weight; resolving it against the
 * repository tree happens in tree.ts.
 */
import { BARE_NAMES, EXTENSIONS, normalizeRepoPath, RefCollector } from "../context/paths.js";

export type Target =
  /**
   * A path as a log writes it. `whole`: a bare token (`prove ./t0001.sh`, `bin/test test/x_test.rb`),
   * which counts only when the tree has a file at that path or ending with it, never a shorter tail.
   */
  | {
      type: "path";
      path: string;
      whole?: boolean;
      /** The directory a `cd` of the log had moved to (repo-relative): a relative path is first tried from there. */
      cwd?: string;
    }
  /** A JVM class (`org.acme.Foo$Bar`) and, when the frame says it, its source file name (`Foo.kt`). */
  | { type: "jvm-class"; name: string; file: string | null }
  /** A dotted Python module, possibly followed by class names (`tests.test_x.TestCase`). */
  | { type: "python-module"; name: string }
  /** A Go import path (`github.com/acme/app/internal/cart`). */
  | { type: "go-package"; name: string }
  /** A sharness (git's test-lib) test script by number: `0060` of `expecting success of 0060.218` → `t/t0060-*.sh`. */
  | { type: "test-script"; number: string };

export type EvidenceKind =
  /** A stack frame of the failure (exception or panic trace). */
  | "frame"
  /** A compiler, type checker or linter diagnostic. */
  | "diagnostic"
  /** A failing test named by the runner (node id, test class, package). */
  | "failing-test"
  /** Any other mention of a file in an error block. */
  | "mention";

export interface Evidence {
  kind: EvidenceKind;
  target: Target;
  line: number | null;
  /** The log line it was read from (trimmed), for the prompt's "why". */
  text: string;
  /** Which trace (stack) the frame belongs to, in order of appearance; -1 for other kinds. */
  trace: number;
  /** Position of the frame within its trace, 0 = innermost (where it was thrown). */
  depth: number;
  /** Order of appearance over all evidence. */
  order: number;
  /** Read from the context text the prompt shows (rather than from elsewhere in the log). */
  inContext?: boolean;
  /** From a line reporting a test that passed or was skipped (`… PASSED`): a mention, never what failed. */
  passing?: boolean;
}

const MAX_TEXT = 200;
/** Kept from the start of a log (the first failure) and from its end (summaries, the last failure). */
const KEEP_FIRST = 200;
const KEEP_LAST = 200;

/** `at org.acme.Foo$Bar.baz(Foo.java:42)` — Java, Kotlin, Scala, Groovy; also `(Foo.kt)` without a line. */
const JVM_FRAME = /^\s*(?:\[\w+\]\s*)?at\s+(?:[\w.-]+\/\/?)?((?:[\w$]+\.)+[\w$<>-]+)\(([\w$-]+\.(?:java|kt|kts|scala|groovy|clj))(?::(\d+))?\)/;
/** JDK, test-framework and build-tool frames: never the project's own code. */
const JVM_LIBRARY =
  /^(?:java|javax|jdk|sun|com\.sun|kotlin|kotlinx|scala|groovy|org\.codehaus\.groovy|org\.junit|junit|org\.testng|org\.opentest4j|org\.assertj|org\.hamcrest|org\.mockito\.internal\.junit|org\.apache\.maven|org\.gradle|org\.spockframework|worker\.org\.gradle|org\.springframework\.test|io\.kotest|org\.scalatest|net\.bytebuddy|jdk\.internal)\./;
/** `Caused by:` / `Exception in thread` start a new trace; so does an exception line. */
const TRACE_START = /^\s*(?:Caused by:|Suppressed:|Exception in thread|[\w$.]+(?:Exception|Error|Failure|Throwable)\b(?::|$))/;
/** Defects4J/JUnit listings `--- org.acme.FooTest::testBar`. */
const JUNIT_LISTING = /^---\s+((?:[\w$]+\.)+[\w$]+)::\w+/;
/** Surefire: `Tests run: 3, Failures: 1, … <<< FAILURE! - in org.acme.FooTest` / `-- in org.acme.FooTest`. */
const SUREFIRE_CLASS = /<<<\s*(?:FAILURE|ERROR)!?\s*-+\s*in\s+((?:[\w$]+\.)+[\w$]+)/;
/** Surefire summary `[ERROR]   FooTest.testBar:42 expected…`, and `[ERROR] org.acme.FooTest.testBar -- Time elapsed`. */
const SUREFIRE_SUMMARY = /^\s*(?:\[(?:ERROR|FAIL)\]\s+)((?:[a-z][\w$]*\.)*[A-Z][\w$]*)\.[\w$]+(?::(\d+))?(?:\s|$)/;
/** Gradle: `FooTest > testBar() FAILED`, `org.acme.FooTest > testBar FAILED`. */
const GRADLE_TEST = /^\s*((?:[\w$]+\.)*[A-Z][\w$]*)\s+>\s+.*\bFAILED\s*$/;
/** unittest: `FAIL: test_x (tests.test_mod.TestCase)` / `ERROR: test_x (tests.test_mod.TestCase.test_x)`. */
const UNITTEST = /^(?:FAIL|ERROR):\s+\w+\s+\(([\w.]+)\)/;
/** Go: `FAIL\tgithub.com/acme/app/pkg\t0.01s`, `--- FAIL: TestX` follows its package. */
const GO_FAIL_PACKAGE = /^(?:FAIL|ok)\s+([\w.-]+(?:\/[\w.-]+)+)\s+(?:\d|\[)/;
/** sharness / git test-lib, verbose: `expecting success of 0060.218 'title':`, `checking known breakage of 1234.5 …`. */
const SHARNESS_TEST = /^(?:expecting success|checking known breakage|checking known failure) of (\d{4})\.\d+\b/;
/** A shell's `cd DIR` as a log echoes it (`$ cd guides/x`, `+ cd build && make`). */
const CD_COMMAND = /^\s*(?:\$|\+{1,2}|>|##\[command\])?\s*cd\s+(["']?)([^\s"';&|]+)\1\s*(?:$|&&|;)/;
/** A GitHub Actions step starts in the workspace again. */
const STEP_START = /^\s*##\[group\]Run\b/;

/**
 * The repo-relative directory after `cd arg` from `current` (null: the root, or somewhere
 * unknown — outside the checkout, `$VAR`, `~`, `-`).
 */
export function changeDirectory(current: string | null, arg: string, workspaceRoots: readonly string[] = []): string | null {
  if (/[$~`]/.test(arg) || arg === "-") return null;
  if (arg.startsWith("/")) return normalizeRepoPath(arg, workspaceRoots);
  return joinPath(current ?? "", arg);
}

/** `a/b` + `../c/./d` → `a/c/d`; null when it climbs out of the root or ends there. */
export function joinPath(dir: string, relative: string): string | null {
  const parts = dir === "" ? [] : dir.split("/");
  for (const part of relative.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(part);
  }
  return parts.length === 0 ? null : parts.join("/");
}

/** .NET: `at Ns.Type.Method() in /path/File.cs:line 42`. */
const DOTNET_FRAME = /\bin\s+(\S.*?\.(?:cs|fs|vb)):line\s+(\d+)/;
/** PHP: `in /path/File.php on line 42`, `/path/File.php on line 42`. */
const PHP_ON_LINE = /(\S+\.php)\s+on\s+line\s+(\d+)/;
/** Python frames, to tell frames from other mentions of a path. */
const PYTHON_FRAME = /^\s*File "([^"]+)", line (\d+)/;
/** Where Python keeps installed code: not the project's. */
const PYTHON_LIBRARY = /(?:^|\/)(?:site-packages|dist-packages|lib\/python\d[\d.]*|\.venv|venv|\.tox|\.nox)\/|^<frozen |^<string>/;
const DIAGNOSTIC = /\b(?:error|warning|Error|ERROR)\b[\s:[(]|\berror TS\d|: (?:E|W|F)\d{3}\b|\b(?:SyntaxError|cannot find symbol|undefined reference)\b/;
const WEBPACK_PREFIX = /webpack:\/\/[^/\s]*\/(?:\.\/)?/g;
/**
 * A path the context's collector drops because it is outside any known checkout layout: an
 * absolute path (a developer's or a container's checkout, `/rails/activejob/test/x_test.rb:14`)
 * or one relative to a build directory (`../bulk-checkin.c:286:4` in a sanitizer trace). Kept
 * as written; the tree decides whether its tail is a file of the repository.
 */
const OUTSIDE_PATH = new RegExp(`(?:^|[\\s\\[(])((?:\\/|(?:\\.\\.\\/)+)[^\\s:()'"\`<>\\[\\]]+\\.(?:${EXTENSIONS})):(\\d+)`, "gi");
/** Toolchains, installed packages and system headers: never the project's, wherever they live. */
const OUTSIDE_LIBRARY =
  /\/(?:usr|nix|opt|gems|rubies|\.rbenv|\.rvm|\.rustup|\.cargo|\.nvm|node_modules|site-packages|dist-packages|vendor|Library|Applications|hostedtoolcache|toolcache)\/|\/lib\/(?:ruby|python\d|node)|\/go\/pkg\/mod\//;
/**
 * A path-like token in any position (a test runner's arguments, a message): a file name with an
 * extension worth reading or a build file's bare name, with or without directories, or directories
 * and a name without extension (`t/README`). The tree decides whether it is a file of the project.
 */
const PATH_TOKEN = /^(?:\.{0,2}\/)*\.?[\w@+-][\w.@+-]*(?:\/[\w.@+-]+)*$/;
/**
 * Any extension (`.neon`, `.test` fixtures, `.lock`): the tree, matched as a whole, decides. A
 * build file's bare name (`Makefile`), or directories and an extension-less name (`t/README`).
 */
const TOKEN_NAME = new RegExp(`(?:^|\\/)(?:\\.?[\\w@+-][\\w.@+-]*\\.[A-Za-z][\\w-]*|${BARE_NAMES})$`);
/** Where tokens are cut: whitespace, quotes, brackets, `=` of `--opt=path`, `,`, `;`, `|`. */
const TOKEN_SEPARATORS = /[\s"'`()[\]{}<>=,;|]+/;
const MAX_TOKENS_PER_LINE = 12;
/**
 * A command a CI log echoes before running it (`$ prove t/x.t`, `+ bin/test …`, `> jest src/a.test.ts`,
 * `##[command]…`): its arguments name what ran, whatever else the log says.
 */
const COMMAND_PREFIX = /^\s*(?:\$|\+{1,2}|>|##\[command\]|\[command\]|##\[group\]Run)\s+/;
const COMMAND_LINE = new RegExp(`${COMMAND_PREFIX.source}\\S`);
/** A runner reporting a pass (`✓ src/a.test.ts`, `PASS src/b.test.ts`, TAP `ok 3 - …`): not about the failure. */
const PASSED_LINE = /^\s*(?:✓|✔|√|PASS(?:ED)?\b|ok\s+\d|ok\s+\S+\s+\d[\d.]*m?s\b)|\bPASSED\b|\bpassed\s*(?:\(|\[|$)/;

/** A runner's verdict of failure on the same line: `FAILED …`, `… ERROR`, `✕`. */
const FAILED_WORD = /\b(?:FAILED|FAIL|ERROR|ERRORED|XPASS\(strict\))\b|✕|×/;
/** pytest's and others' verdicts that are not failures: `… SKIPPED (reason)`, `… XFAIL`. */
const NOT_FAILED_WORD = /\b(?:SKIPPED|SKIP|XFAIL|XFAILED)\b/;

/** A line reporting a test that passed or was skipped, not a failure (`tests/a.py::t PASSED [ 50%]`). */
export function isPassingLine(line: string): boolean {
  return (PASSED_LINE.test(line) || NOT_FAILED_WORD.test(line)) && !FAILED_WORD.test(line);
}

/** pytest's own traceback lines `tests/test_x.py:42: in test_fn` (innermost last). */
const PYTEST_FRAME = /^\S+\.py:\d+: (?:in \S|\w*(?:Error|Exception)\b)/;

function clip(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > MAX_TEXT ? `${trimmed.slice(0, MAX_TEXT - 1)}…` : trimmed;
}

/**
 * Path-like tokens of a line, as repo-relative paths (workspace prefixes stripped), minus `skip`
 * (what the line's `path:line` shapes already gave). A `:line` tail is cut off, not kept: the
 * shapes that carry a line are read elsewhere.
 */
export function pathTokens(line: string, skip: ReadonlySet<string>, workspaceRoots: readonly string[] = []): string[] {
  const out: string[] = [];
  // The program a line runs (`bin/test …`, `./gradlew test`, `vendor/bin/phpunit …`) is the runner, not what
  // failed: an extension-less first word is no reference. Its arguments are.
  const program = line.replace(COMMAND_PREFIX, "").trimStart().split(TOKEN_SEPARATORS, 1)[0];
  for (const raw of line.split(TOKEN_SEPARATORS)) {
    if (out.length >= MAX_TOKENS_PER_LINE) break;
    if (raw.length < 3 || raw.length > 300 || raw.includes("://")) continue;
    const token = raw.replace(/(?::\d+)+(?::.*)?$|[:.]+$/, "");
    if (raw === program && !/\.[A-Za-z][\w-]*$/.test(token)) continue;
    if (!PATH_TOKEN.test(token) || !(TOKEN_NAME.test(token) || (token.includes("/") && /\/[\w-]*[A-Za-z][\w-]*$/.test(token)))) continue;
    // An absolute path of no known checkout layout (`/home/travis/build/o/r/src/A.php`) is kept as
    // written: the tree matches its tail (two segments at least), as for `path:line` shapes.
    const path = normalizeRepoPath(token, workspaceRoots) ?? (token.startsWith("/") && !OUTSIDE_LIBRARY.test(token) ? token : null);
    if (path === null || skip.has(path) || out.includes(path)) continue;
    out.push(path);
  }
  return out;
}

export interface EvidenceReaderOptions {
  /**
   * Which lines' bare path tokens count as mentions: every line (the context text: the model reads
   * all of it), command lines only (the whole log: what a runner was told to run), or none.
   */
  tokens?: "all" | "commands" | "none";
}

/** Reads evidence line by line; bounded whatever the input. */
export class EvidenceReader {
  private readonly out: Evidence[] = [];
  private readonly last: Evidence[] = [];
  private trace = -1;
  private depth = 0;
  private inTrace = false;
  private order = 0;
  /** Traces printed innermost-last (Python, pytest): their depths are reversed in finish(). */
  private readonly innermostLast = new Set<number>();

  private readonly tokens: "all" | "commands" | "none";
  /** Where the log's last `cd` went (repo-relative), null at the root or when unknown. */
  private cwd: string | null = null;

  constructor(
    private readonly workspaceRoots: readonly string[] = [],
    options: EvidenceReaderOptions = {},
  ) {
    this.tokens = options.tokens ?? "commands";
  }

  private push(kind: EvidenceKind, target: Target, line: number | null, text: string, frame = false, passing = false): void {
    if (frame && !this.inTrace) this.startTrace();
    if (this.cwd !== null && target.type === "path" && !target.path.startsWith("/")) target = { ...target, cwd: this.cwd };
    const evidence: Evidence = { kind, target, line, text: clip(text), trace: frame ? this.trace : -1, depth: frame ? this.depth++ : 0, order: this.order++ };
    if (passing) evidence.passing = true;
    if (this.out.length < KEEP_FIRST) this.out.push(evidence);
    else {
      // A ring of the latest: memory stays bounded on any log.
      if (this.last.length >= KEEP_LAST) this.last.shift();
      this.last.push(evidence);
    }
  }

  private startTrace(): void {
    this.trace += 1;
    this.depth = 0;
    this.inTrace = true;
  }

  /** Paths in the line as the context's own collector finds them (workspace prefixes stripped, dependencies dropped). */
  private pathsOf(line: string) {
    const refs = new RefCollector(this.workspaceRoots, 20);
    refs.addLine(line);
    return refs.result();
  }

  addLine(raw: string): void {
    let line = raw.length > 4000 ? raw.slice(0, 4000) : raw;
    // Bundler paths in Node traces: webpack:///./src/a.ts, webpack://app/./src/a.ts, vite's /@fs/<absolute path>.
    if (line.includes("webpack:") || line.includes("/@fs/")) line = line.replace(WEBPACK_PREFIX, "").replace(/\/@fs(?=\/)/g, "");

    if (STEP_START.test(line)) this.cwd = null;
    const cd = CD_COMMAND.exec(line);
    if (cd) this.cwd = changeDirectory(this.cwd, cd[2], this.workspaceRoots);

    const jvm = JVM_FRAME.exec(line);
    if (jvm) {
      const [, qualified, file, lineNo] = jvm;
      const owner = qualified.slice(0, qualified.lastIndexOf(".")); // drop the method
      if (!JVM_LIBRARY.test(owner)) this.push("frame", { type: "jvm-class", name: owner, file }, lineNo ? Number(lineNo) : null, line, true);
      else if (!this.inTrace) this.startTrace();
      else this.depth += 1;
      return;
    }
    const python = PYTHON_FRAME.exec(line);
    if (python) {
      // Python prints the innermost frame last: depth is fixed up in finish().
      if (!this.inTrace) this.startTrace();
      this.innermostLast.add(this.trace);
      if (!PYTHON_LIBRARY.test(python[1].replace(/\\/g, "/"))) {
        for (const ref of this.pathsOf(line)) this.push("frame", { type: "path", path: ref.path }, ref.line, line, true);
      } else this.depth += 1;
      return;
    }
    if (/^\s*Traceback \(most recent call last\)/.test(line)) {
      this.startTrace();
      this.innermostLast.add(this.trace);
    } else if (TRACE_START.test(line)) this.startTrace();
    else if (line.trim() === "" || (!/^\s/.test(line) && !PYTEST_FRAME.test(line))) this.inTrace = false;

    const listing = JUNIT_LISTING.exec(line) ?? SUREFIRE_CLASS.exec(line) ?? GRADLE_TEST.exec(line);
    if (listing) this.push("failing-test", { type: "jvm-class", name: listing[1], file: null }, null, line);
    const summary = !listing ? SUREFIRE_SUMMARY.exec(line) : null;
    if (summary) this.push("failing-test", { type: "jvm-class", name: summary[1], file: null }, summary[2] ? Number(summary[2]) : null, line);
    const unit = UNITTEST.exec(line);
    if (unit) this.push("failing-test", { type: "python-module", name: unit[1] }, null, line);
    const go = GO_FAIL_PACKAGE.exec(line);
    if (go && line.startsWith("FAIL")) this.push("failing-test", { type: "go-package", name: go[1] }, null, line);
    const sharness = SHARNESS_TEST.exec(line);
    if (sharness) this.push("failing-test", { type: "test-script", number: sharness[1] }, null, line);
    const dotnet = DOTNET_FRAME.exec(line);
    if (dotnet) {
      for (const ref of this.pathsOf(`${dotnet[1]}:${dotnet[2]}`)) this.push("frame", { type: "path", path: ref.path }, ref.line, line, true);
      return;
    }
    const php = PHP_ON_LINE.exec(line);
    if (php) {
      const refs = this.pathsOf(`${php[1]}:${php[2]}`);
      for (const ref of refs) this.push("diagnostic", { type: "path", path: ref.path }, ref.line, line);
      // A checkout of no known layout (`/home/travis/build/o/r/…`): the tree decides by the tail.
      if (refs.length === 0 && php[1].startsWith("/") && !OUTSIDE_LIBRARY.test(php[1])) this.push("diagnostic", { type: "path", path: php[1] }, Number(php[2]), line);
    }

    const refs = this.pathsOf(line);
    if (refs.length > 0 && refs.every((r) => r.line === null) && isPassingLine(line)) {
      // A test that passed (or was skipped) is no evidence of the failure: a weak mention, kept
      // only so that a file the context text names is still shown.
      for (const ref of refs) this.push("mention", { type: "path", path: ref.path }, ref.line, line, false, true);
      return;
    }
    if (this.tokens === "all" ? !PASSED_LINE.test(line) : this.tokens === "commands" && COMMAND_LINE.test(line)) {
      const known = new Set(refs.map((r) => r.path));
      const diagnostic = DIAGNOSTIC.test(line);
      for (const path of pathTokens(line, known, this.workspaceRoots)) {
        this.push(diagnostic ? "diagnostic" : "mention", path.startsWith("/") ? { type: "path", path } : { type: "path", path, whole: true }, null, line);
      }
    }
    if (refs.length === 0) {
      this.outsidePaths(line);
      return;
    }
    const pytestFrame = PYTEST_FRAME.test(line);
    if (pytestFrame) {
      if (!this.inTrace) this.startTrace();
      this.innermostLast.add(this.trace);
    }
    const isFrame = pytestFrame || /^\s*(?:at\s|#\d+\s|from\s|\S+\.(?:go|rs):\d+\s+\+0x)/.test(line) || /^\s+\S+:\d+(?::\d+)?\s*$/.test(line);
    const isTest = /^\s*(?:FAIL|FAILED|✕|×|ERROR)\b/.test(line) || /::/.test(line);
    for (const ref of refs) {
      const kind: EvidenceKind = isTest && ref.line === null ? "failing-test" : isFrame ? "frame" : DIAGNOSTIC.test(line) ? "diagnostic" : "mention";
      this.push(kind, { type: "path", path: ref.path }, ref.line, line, kind === "frame");
    }
  }

  private outsidePaths(line: string): void {
    if (!line.includes("/")) return;
    const isFrame = /^\s*(?:at\s|#\d+\s|from\s)|:in [`']|^\s+\S+:\d+(?::\d+)?\s*$/.test(line);
    const isAssertion = /\[\S+:\d+\]:?\s*$/.test(line);
    for (const m of line.matchAll(OUTSIDE_PATH)) {
      const path = m[1];
      if (OUTSIDE_LIBRARY.test(path)) continue;
      const kind: EvidenceKind = isFrame ? "frame" : isAssertion ? "failing-test" : DIAGNOSTIC.test(line) ? "diagnostic" : "mention";
      this.push(kind, { type: "path", path }, Number(m[2]), line, kind === "frame");
    }
  }

  finish(): Evidence[] {
    const all = [...this.out, ...this.last];
    const deepest = new Map<number, number>();
    for (const e of all) if (e.trace >= 0) deepest.set(e.trace, Math.max(deepest.get(e.trace) ?? 0, e.depth));
    return all.map((e) => (this.innermostLast.has(e.trace) ? { ...e, depth: (deepest.get(e.trace) ?? 0) - e.depth } : e));
  }
}

/** Evidence from a whole text (a log excerpt, the context the prompt shows). */
export function readEvidence(text: string, workspaceRoots: readonly string[] = [], options: EvidenceReaderOptions = {}): Evidence[] {
  const reader = new EvidenceReader(workspaceRoots, options);
  for (const line of text.split("\n")) reader.addLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  return reader.finish();
}

/** One `from … import …` of a package's `__init__.py`. */
export interface Reexport {
  /** Candidate files of the module imported from, in order (`.mod` → `pkg/mod.py`, `pkg/mod/__init__.py`). */
  paths: string[];
  /** An absolute module (`pkg.mod`) to resolve against the tree when `paths` is empty. */
  module: string | null;
  names: string[] | "*";
  /** Lines the statement spans, 1-based. */
  from: number;
  to: number;
}

/**
 * What a package's `__init__.py` imports from its modules: `from .mod import A, B`,
 * `from .mod import (A,\n B)`, `from ..other import *`, `from pkg.mod import A as B`.
 */
export function pythonReexports(initPath: string, content: string): Reexport[] {
  const out: Reexport[] = [];
  const text = content.length > 200_000 ? content.slice(0, 200_000) : content;
  const packageDir = initPath.includes("/") ? initPath.slice(0, initPath.lastIndexOf("/")).split("/") : [];
  for (const m of text.matchAll(/^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)/gm)) {
    const [, dots, dotted, imported] = m;
    const from = text.slice(0, m.index).split("\n").length;
    const to = from + (m[0].match(/\n/g)?.length ?? 0);
    // `A as B` exports B: the name importers use.
    const names = imported.trim() === "*" ? "*" : imported.replace(/[()\\]/g, " ").split(",").map((n) => n.trim().split(/\s+/).at(-1) ?? "").filter((n) => /^\w+$/.test(n));
    if (dots === "") {
      out.push({ paths: [], module: dotted, names, from, to });
      continue;
    }
    const base = packageDir.slice(0, Math.max(0, packageDir.length - (dots.length - 1)));
    if (dotted === "") {
      // `from . import mod`: each name is a module of the package.
      if (names !== "*") for (const name of names) out.push({ paths: [[...base, `${name}.py`].join("/"), [...base, name, "__init__.py"].join("/")], module: null, names: [name], from, to });
      continue;
    }
    const stem = [...base, ...dotted.split(".")];
    out.push({ paths: [`${stem.join("/")}.py`, [...stem, "__init__.py"].join("/")], module: null, names, from, to });
  }
  return out;
}

export interface Imported {
  target: Target;
  /** How often the test uses the imported name: what it exercises most. */
  uses: number;
}

function countUses(text: string, name: string): number {
  if (!/^\w+$/.test(name)) return 1;
  return Math.max(1, text.match(new RegExp(`\\b${name}\\b`, "g"))?.length ?? 1) ;
}

/** How often `prefix.name` is used, per name, the most used first (at most MAX_ATTRIBUTES names). */
function attributeUses(text: string, prefix: string): [string, number][] {
  const counts = new Map<string, number>();
  const escaped = prefix.replace(/\./g, "\\.");
  for (const m of text.matchAll(new RegExp(`(?<![\\w.])${escaped}\\.([A-Za-z_]\\w*)`, "g"))) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, MAX_ATTRIBUTES);
}
const MAX_ATTRIBUTES = 12;

/**
 * What a failing test loads: Python `import`/`from … import`, JVM imports and the
 * classes of its own (and wildcard-imported) packages it names, relative JS/TS imports.
 */
export function importsOf(path: string, content: string): Imported[] {
  const out: Imported[] = [];
  const text = content.length > 200_000 ? content.slice(0, 200_000) : content;
  if (/\.py$/.test(path)) {
    for (const m of text.matchAll(/^\s*from\s+([\w.]+)\s+import\s+\(?([\w, ]+)/gm)) {
      if (m[1].startsWith(".")) continue;
      for (const name of m[2].split(",").map((s) => s.trim().split(/\s+/)[0]).filter(Boolean)) {
        // `from pkg import module` names a module; `from module import Class` its module.
        out.push({ target: { type: "python-module", name: `${m[1]}.${name}` }, uses: countUses(text, name) });
      }
    }
    for (const m of text.matchAll(/^\s*import\s+([\w.]+)(?:\s+as\s+(\w+))?/gm)) {
      out.push({ target: { type: "python-module", name: m[1] }, uses: countUses(text, m[2] ?? m[1].split(".").pop()!) });
      // `import pkg` then `pkg.snoop(…)`: the names it uses, which the package may re-export from a module.
      for (const [name, uses] of attributeUses(text, m[2] ?? m[1])) out.push({ target: { type: "python-module", name: `${m[1]}.${name}` }, uses });
    }
  } else if (/\.(?:java|kt|kts|scala|groovy)$/.test(path)) {
    const packages: string[] = [];
    const own = /^\s*package\s+([\w.]+)/m.exec(text);
    if (own) packages.push(own[1]);
    const imported = new Set<string>();
    for (const m of text.matchAll(/^\s*import\s+(static\s+)?([\w.]+?)(\.\*)?\s*;?\s*$/gm)) {
      if (m[3] && !m[1]) packages.push(m[2]);
      else {
        const name = m[1] ? m[2].slice(0, m[2].lastIndexOf(".")) : m[2];
        imported.add(name);
        out.push({ target: { type: "jvm-class", name, file: null }, uses: countUses(text, name.split(".").pop()!) });
      }
    }
    // Classes of the same package need no import: every capitalised name the code uses may be one.
    const body = text.replace(/^\s*(?:import|package)\s.*$/gm, "");
    const names = new Map<string, number>();
    for (const m of body.matchAll(/\b([A-Z][A-Za-z0-9_]*[a-z][A-Za-z0-9_]*)\b/g)) names.set(m[1], (names.get(m[1]) ?? 0) + 1);
    const simpleImported = new Set([...imported].map((n) => n.split(".").pop()));
    for (const [name, uses] of [...names].slice(0, 300)) {
      if (simpleImported.has(name)) continue;
      for (const pkg of packages) out.push({ target: { type: "jvm-class", name: `${pkg}.${name}`, file: null }, uses });
    }
  } else if (/\.[cm]?[jt]sx?$/.test(path)) {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    for (const m of text.matchAll(/\b(?:from|require\(|import\()\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const parts: string[] = [];
      for (const part of [...dir.split("/").filter(Boolean), ...m[1].split("/")]) {
        if (part === ".") continue;
        if (part === "..") parts.pop();
        else parts.push(part);
      }
      out.push({ target: { type: "path", path: parts.join("/") }, uses: 1 });
    }
  }
  return out;
}

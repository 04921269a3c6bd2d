import { describe, expect, it } from "vitest";
import { BaselineLines, buildFailureContext } from "../src/fix/context/index.js";
import { errorScore } from "../src/fix/context/patterns.js";

/** A GitHub Actions log line as the logs endpoint returns it. */
const stamped = (lines: string[]) => lines.map((line, i) => `2024-05-01T12:00:${String(i % 60).padStart(2, "0")}.1234567Z ${line}`).join("\n");

describe("error lines by each tool's documented format", () => {
  it.each([
    ["TAP: a failed assertion whatever its description says", "not ok 6 no errors", 3],
    ["TAP: a failed subtest", "    not ok 2 - rejects empty input", 3],
    ["a summary with only zero failure counts", "[info] Passed: Total 1399, Failed 0, Errors 0, Passed 1394, Skipped 5", 0],
    ["JUnit: zero failures and errors", "[info] Test run finished: 0 failed, 0 ignored, 3 total, 7.94s", 0],
    ["Surefire: one error among zero failures", "Tests run: 3, Failures: 0, Errors: 1, Skipped: 0", 3],
    ["eslint summary", "✖ 3 problems (3 errors, 0 warnings)", 2],
    ["stylelint string formatter", "  47:6   ✖  Expected indentation of 2 spaces   indentation", 3],
    ["unix format with a path of the standard linter", "  /home/travis/build/o/r/lib/app.js:12:4: Unexpected token ILLEGAL", 2],
    ["swiftlint, a '+' in the file name", "/Users/travis/build/o/r/Object+Combine.swift:88:42: warning: Colon Violation: Colons should be next to the identifier", 2],
    ["ScalaTest: a failed test", "[info] - should parse an empty body *** FAILED ***", 3],
    ["ScalaTest: a passed test", "[info] - should parse an empty body", 0],
    ["AddressSanitizer report", "==16563==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x4f1c2b bp 0x7ffc sp 0x7ffc", 3],
    ["UndefinedBehaviorSanitizer report", "src/eval.c:812:17: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'", 3],
    ["sanitizer summary", "SUMMARY: AddressSanitizer: heap-use-after-free src/buffer.c:42:3 in buf_free", 2],
    ["a sanitizer log file shown with a prefix", "= ==16550==ERROR: AddressSanitizer: SEGV on unknown address 0x000001d548d0 (pc 0x000000455084 T0)", 3],
    ["googletest: a failed test", "[  FAILED  ] BufferTest.GrowsOnWrite (12 ms)", 3],
    ["Elixir: a throw (no error word in it)", '** (throw) "Words not in order \\"weather\\" and \\"web\\""', 3],
    ["xcpretty: a compiler error", "❌  /Users/travis/build/o/r/Sources/Cache.swift:47:19: 'value' is inaccessible due to 'internal' protection level", 3],
    ["autoconf: configure gave up", "configure: error: C compiler cannot create executables", 2],
    ["sbt: failed test tasks", "[error] 1 of 13 test tasks failed:", 2],
    ["PHP run-tests: a failed test", "FAIL Test lstat() and stat() functions: usage variations [ext/standard/tests/file/lstat_stat_variation15.phpt] ", 3],
    ["PHP run-tests: a skipped test that names a failure", 'SKIP Translit failure [ext/iconv/tests/translit-failure.phpt] reason: ICONV_IMPL != "libiconv"', 0],
    ["PHP run-tests: an expected failure", "XFAIL Inconsistencies when accessing protected members [Zend/tests/access_modifiers_008.phpt]   XFAIL REASON: Discussion", 0],
    ["PHP run-tests diff: an error the test expected", "001- Fatal error: Call to protected method B1::f() from context 'B2' in %s on line %d", 0],
    ["PHP run-tests diff: an error the test printed", "005+ Error: stat1 do not match with stat2 at key value: 8", 1],
    ["sbt: the failing task's exception", "[error] (Test / test) sbt.TestsFailedException: Tests unsuccessful", 2],
    ["googletest: a passed test", "[       OK ] BufferTest.FailsOnOverflow (3 ms)", 0],
    ["a runner in googletest's format, verdict after the name", "[ RUN      ] fs.c os_dirname returns FAIL if the buffer is too small: 46.94 ms OK", 0],
    ["a check printing the change it wants", "diff --git a/docs/README.org b/docs/README.org", 2],
    ["a log level after other output on the line", "Building sites … ERROR 2019/08/01 15:12:45 [en] REF_NOT_FOUND: Ref \"/docs/intro\"", 1],
    ["a word with ERROR inside is no log level", "export ERROR_LEVEL=3", 0],
    ["CMake: an error with its place", "CMake Error at /usr/share/cmake-3.2/Modules/FindBoost.cmake:1201 (message):", 3],
    ["CMake: an error without a place", "CMake Error: The source directory \"/src/app\" does not exist.", 2],
    ["PureScript: a compiler error, its place below", "Error found:", 3],
    ["PureScript: the n-th of several compiler errors", "  Error 2 of 3:", 3],
    ["PureScript: a compiler error under a test's name", ":print: Error found:", 3],
    ["Pester: a failed test", "    [-] Adds two numbers 645ms (581ms|64ms)", 3],
    ["Pester: a passed test", "    [+] Adds two numbers 12ms (8ms|4ms)", 0],
    ["a linter message ending with a plugin's rule id", "src/grammar-registry.js:1 Replace `\"grim\"` with `'grim'` (prettier/prettier)", 2],
    ["a linter message ending with a core rule id", "lib/app.js:12:4: 'x' is assigned a value but never used. (no-unused-vars)", 2],
    ["a source place with a parenthesised word is no linter message", "src/main.c:12 in main (discriminator)", 0],
    ["awesome_bot: its list of failing links follows", "Issues :-(", 2],
    ["PHPUnit: risky tests, which fail a strict run", "OK, but incomplete, skipped, or risky tests!", 1],
  ])("%s", (_what, line, score) => {
    expect(errorScore(line)).toBe(score);
  });

  it("keeps the YAML block under a TAP `not ok` with it", async () => {
    const log = [
      "$ npm test",
      "ok 5 no warnings",
      "not ok 6 no errors",
      "  ---",
      "    operator: notOk",
      "    expected: false",
      "    actual:   1",
      "    at: Test.<anonymous> (test/test-react-order.js:57:7)",
      "    stack: |-",
      "      Error: no errors",
      "          at Test.assert (node_modules/tape/lib/test.js:225:54)",
      "  ...",
      "ok 7 fails",
      "# tests 8",
    ].join("\n");
    const context = await buildFailureContext(log);
    for (const line of ["not ok 6 no errors", "operator: notOk", "actual:   1", "test-react-order.js:57:7"]) expect(context.context).toContain(line);
  });
});

describe("Travis CI logs", () => {
  const travis = (lines: string[]) => lines.join("\r\n");
  it("a tool that echoes `$ command` inside a timed command does not start a step of its own", async () => {
    const log = travis([
      "travis_fold:start:install\r\x1b[0Ktravis_time:start:1a2b\r\x1b[0K$ yarn install",
      "Done in 3.1s.",
      "travis_time:end:1a2b:start=1,finish=2,duration=1\r\x1b[0Ktravis_fold:end:install",
      "travis_time:start:3c4d\r\x1b[0K$ npx lefthook run lints",
      "EXECUTE > eslint-assets",
      "$ /home/travis/build/o/r/node_modules/.bin/eslint --ext .es6 app/assets/javascripts",
      "",
      "/home/travis/build/o/r/app/assets/javascripts/controllers/users.js.es6",
      "  3:8  error  'showModal' is defined but never used  no-unused-vars",
      "",
      "✖ 1 problem (1 error, 0 warnings)",
      "$ /home/travis/build/o/r/node_modules/.bin/eslint app/assets/javascripts test/javascripts",
      "Done in 4.75s.",
      "SUMMARY: (done in 112.11 seconds)",
      "travis_time:end:3c4d:start=3,finish=4,duration=1\r\x1b[0K\x1b[31;1mThe command \"npx lefthook run lints\" exited with 1.\x1b[0m",
      "",
      "Done. Your build exited with 1.",
    ]);
    const context = await buildFailureContext(log);
    expect(context.failingStep).toBe("$ npx lefthook run lints");
    expect(context.context).toContain("app/assets/javascripts/controllers/users.js.es6");
    expect(context.context).toContain("'showModal' is defined but never used");
  });

  it("an untimed `$ command` between timed ones is still a step", async () => {
    const log = travis(["travis_fold:start:worker_info\r\x1b[0KWorker information", "travis_fold:end:worker_info\r\x1b[0K", "$ export PATH=./node_modules/.bin:$PATH", "travis_time:start:9f\r\x1b[0K$ make check", "src/a.c:3:5: error: 'x' undeclared", "travis_time:end:9f:start=1,finish=2,duration=1\r\x1b[0KThe command \"make check\" exited with 2."]);
    expect((await buildFailureContext(log)).failingStep).toBe("$ make check");
  });
});

describe("filling the budget by value", () => {
  const steps = (output: string[]) =>
    stamped([
      "##[group]Run ./ci/check.sh",
      "./ci/check.sh",
      'echo "checks done"',
      "shell: /usr/bin/bash -e {0}",
      "env:",
      "  GOROOT: /opt/go",
      "##[endgroup]",
      ...output,
      "##[error]Process completed with exit code 1.",
    ]);
  const scene = Array.from({ length: 30 }, (_, i) => `scene line ${String.fromCharCode(97 + (i % 26))}${i} of the check`);
  const log = steps([...scene, "Traceback (most recent call last):", '  File "ci/check.py", line 3, in <module>', "NameError: name 'Github' is not defined"]);

  it("spends spare budget on the lines before the error, nearest first, and on what the step ran", async () => {
    const roomy = await buildFailureContext(log, { budgetTokens: 2000 });
    expect(roomy.context).toContain("scene line a0 of the check");
    expect(roomy.context).toContain("./ci/check.sh");
    expect(roomy.context).not.toContain("GOROOT");
    const tight = await buildFailureContext(log, { budgetTokens: 90 });
    expect(tight.context).toContain("NameError: name 'Github' is not defined");
    expect(tight.context).not.toContain("scene line a0 of the check");
    expect(tight.context.length).toBeLessThanOrEqual(360);
  });

  it("more budget never means less evidence", async () => {
    let previous = "";
    for (const budgetTokens of [60, 120, 250, 500, 1000, 2000]) {
      const text = (await buildFailureContext(log, { budgetTokens })).context;
      for (const line of previous.split("\n").filter((l) => l !== "…" && l.trim() !== "")) expect(text).toContain(line);
      previous = text;
    }
  });

  it("with a baseline, shows what changed in the other steps of the job after the failing step's evidence", async () => {
    const job = (installed: string) =>
      stamped([
        "##[group]Run npm ci",
        "npm ci",
        "##[endgroup]",
        "added 812 packages in 9s",
        installed,
        "##[group]Run npm test",
        "npm test",
        "##[endgroup]",
        "> app@1.0.0 test",
        "> jest",
      ]);
    const passing = job("resolved left-pad from the registry mirror");
    const failing = `${job("resolved left-pad from a git fork")}\n${stamped(["  ● pad › pads on the left", "    Expected: \"  1\"", "##[error]Process completed with exit code 1."])}`;
    const context = await buildFailureContext(failing, { baseline: await BaselineLines.fromLog(passing) });
    expect(context.context).toContain("● pad › pads on the left");
    expect(context.context).toContain("resolved left-pad from a git fork");
    expect(context.context).not.toContain("added 812 packages");
    expect(context.context.indexOf("git fork")).toBeLessThan(context.context.indexOf("● pad"));
  });
});

describe("the same error at many places", () => {
  const places = Array.from({ length: 300 }, (_, i) => `internal/command/cliconfig/file_${i % 7}_test.go:${10 + i}:${1 + (i % 5)}`);
  const log = stamped([
    "##[group]Run make staticcheck",
    "make staticcheck",
    "##[endgroup]",
    "==> Checking that code complies with static analysis requirements...",
    ...places.map((place) => `##[error]${place}: undeclared name: os (compile)`),
    "exit status 1",
    "make: *** [Makefile:24: staticcheck] Error 1",
    "##[error]Process completed with exit code 2.",
  ]);

  it("shows every place in full when the budget allows", async () => {
    const context = await buildFailureContext(log, { budgetTokens: 20_000 });
    for (const place of places) expect(context.context).toContain(`${place}: undeclared name: os (compile)`);
    expect(context.context).not.toContain("the same error at");
  });

  it("else the first ones in full and the other places as one compact list, within the budget", async () => {
    const context = await buildFailureContext(log, { budgetTokens: 500 });
    expect(context.context.length).toBeLessThanOrEqual(2000);
    expect(context.context).toContain(`${places[0]}: undeclared name: os (compile)`);
    const list = context.context.split("\n").find((line) => line.includes("the same error at"));
    expect(list).toBeDefined();
    const full = places.filter((place) => context.context.includes(`${place}: undeclared name: os`));
    const listed = places.filter((place) => list?.includes(`${place},`) || list?.includes(`${place} and`));
    // The list follows the first places in full, names only places not shown, and says how many it could not name.
    expect(full.slice(0, 5)).toEqual(places.slice(0, 5));
    expect(listed[0]).toBe(places.find((place) => !full.includes(place)));
    expect(listed.filter((place) => full.includes(place))).toEqual([]);
    expect(full.length + listed.length).toBeLessThan(300);
    expect(context.context.indexOf(list as string)).toBeLessThan(context.context.indexOf(`${full[5]}: undeclared`));
    expect(list).toMatch(new RegExp(`the same error at ${300 - full.length} more places: .* and ${300 - full.length - listed.length} more$`));
    expect(context.truncated).toBe(true);
    expect(context.context).toContain("make: *** [Makefile:24: staticcheck] Error 1");
  });

  it("keeps different messages at the same place apart", async () => {
    const two = stamped(["##[group]Run go vet", "go vet", "##[endgroup]", "a.go:3:1: undeclared name: os", "a.go:3:1: unused variable x", "##[error]Process completed with exit code 1."]);
    const context = await buildFailureContext(two, { budgetTokens: 50 });
    expect(context.context).toContain("undeclared name: os");
    expect(context.context).toContain("unused variable x");
    expect(context.context).not.toContain("the same error at");
  });
});

describe("a check that prints a diff", () => {
  it("keeps the diff's headers, hunk and changed lines with the `diff --git` line", async () => {
    const log = [
      "$ .ci/check-format.sh",
      "Formatting documentation...",
      "Done.",
      "PLEASE APPLY CHANGES BELOW:",
      "diff --git a/docs/setup.org b/docs/setup.org",
      "index 1d2fdfb..d6eb235 100644",
      "--- a/docs/setup.org",
      "+++ b/docs/setup.org",
      "@@ -12,7 +12,7 @@ Install",
      " context line",
      "-a badly indented line",
      "+a well indented line",
      'The command ".ci/check-format.sh" exited with 2.',
    ].join("\n");
    const context = await buildFailureContext(log);
    for (const line of ["diff --git a/docs/setup.org b/docs/setup.org", "@@ -12,7 +12,7 @@ Install", "-a badly indented line", "+a well indented line"]) expect(context.context).toContain(line);
    expect(context.errorLines).toContain("diff --git a/docs/setup.org b/docs/setup.org");
  });
});

describe("earlier steps' errors", () => {
  const log = [
    "travis_fold:start:install\r\x1b[0Ktravis_time:start:1a2b\r\x1b[0K$ npm install",
    "> dugite@1.49.0 postinstall /home/travis/build/o/r/node_modules/dugite",
    "module.js:327",
    "    throw err;",
    "Error: Cannot find module 'fast-deep-equal'",
    "    at Function.Module._resolveFilename (module.js:325:15)",
    "npm ERR! code ELIFECYCLE",
    'The command "npm install" failed. Retrying, 2 of 3.',
    "added 812 packages",
    "travis_time:end:1a2b:start=1,finish=2,duration=1\r\x1b[0Ktravis_fold:end:install",
    "travis_time:start:3c4d\r\x1b[0K$ ./script/build",
    ...Array.from({ length: 30 }, (_, i) => `Compiling unit ${i} of the build`),
    "Traceback (most recent call last):",
    '  File "./script/build", line 63, in main',
    "subprocess.CalledProcessError: Command '['make']' returned non-zero exit status 2",
    "travis_time:end:3c4d:start=3,finish=4,duration=1\r\x1b[0K\x1b[31;1mThe command \"./script/build\" exited with 1.\x1b[0m",
  ].join("\r\n");

  it("a step that failed and was retried, or whose status was swallowed, fills the budget the failed step leaves", async () => {
    const roomy = await buildFailureContext(log, { budgetTokens: 2000 });
    expect(roomy.failingStep).toBe("$ ./script/build");
    expect(roomy.context).toContain("Error: Cannot find module 'fast-deep-equal'");
    expect(roomy.context.indexOf("Cannot find module")).toBeLessThan(roomy.context.indexOf("Traceback"));
  });

  it("never before the failed step's own evidence", async () => {
    const tight = await buildFailureContext(log, { budgetTokens: 120 });
    expect(tight.context).toContain("subprocess.CalledProcessError");
    expect(tight.context).not.toContain("Cannot find module");
  });
});

describe("outages named by the tool that met them", () => {
  it.each([
    ["cargo: a crate download failed", ["    Updating crates.io index", "error: failed to download from `https://crates.io/api/v1/crates/euclid/0.19.9/download`", "", "Caused by:", "  [35] SSL connect error (error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure)"], "registry"],
    ["Maven resolver (Leiningen): an artifact transfer refused by TLS", ["Could not find artifact clojure-complete:clojure-complete:jar:0.2.4 in central (https://repo1.maven.org/maven2/)", "Could not transfer artifact clojure-complete:clojure-complete:jar:0.2.4 from/to clojars (https://repo.clojars.org/): Received fatal alert: protocol_version", "This could be due to a typo in :dependencies, file system permissions, or network issues."], "network"],
    ["curl: a TLS connection that failed", ["curl: (35) SSL connect error"], "network"],
  ])("%s", async (_what, lines, kind) => {
    const log = ["$ ci/script.sh", ...lines, 'The command "ci/script.sh" exited with 1.'].join("\n");
    expect(await buildFailureContext(log)).toMatchObject({ class: "infra", infraKind: kind });
  });

  it("a link checker's report of a link it could not reach is the check's finding (code)", async () => {
    const log = ["$ bundle exec htmlproofer ./_site", "- ./_site/index.html", "  *  External link https://gone.example.org failed: response code 0 means something's wrong.", "             It's possible libcurl couldn't connect to the server or perhaps the request timed out.", "             Either way, the return message (if any) from the server is: SSL connect error", "htmlproofer 3.10.2 | Error:  HTML-Proofer found 1 failure!", 'The command "bundle exec htmlproofer ./_site" exited with 1.'].join("\n");
    expect(await buildFailureContext(log)).toMatchObject({ class: "code", infraKind: null });
  });

  it("an artifact that is not in the repository is the build's (code)", async () => {
    const log = ["$ mvn -B verify", "[ERROR] Failed to execute goal on project app: Could not resolve dependencies for project o:app:jar:1.0: Could not find artifact o:lib:jar:9.9 in central (https://repo1.maven.org/maven2/)", 'The command "mvn -B verify" exited with 1.'].join("\n");
    expect(await buildFailureContext(log)).toMatchObject({ class: "code", infraKind: null });
  });
});

describe("what is not an outage", () => {
  it("a link checker's dead link is what the check found (code), not a network outage", async () => {
    const log = ["$ awesome_bot README.md", "> Links", "  1. https://example.org/moved 301", '  2. http://gone.example.org/ Connection timed out - connect(2) for "gone.example.org" port 80', 'The command "awesome_bot README.md" exited with 1.'].join("\n");
    expect(await buildFailureContext(log)).toMatchObject({ class: "code", infraKind: null });
  });

  it("a test browser that stops answering (Karma) is the runner's failure", async () => {
    const log = [
      "$ npm run js-test-cloud",
      "Chrome 75.0.3770 (Windows 10.0.0): Executed 437 of 437 SUCCESS (9.441 secs / 7.308 secs)",
      "Chrome 75.0.3770 (Mac OS X 10.13.6) ERROR",
      "  Disconnected, because no message in 30000 ms.",
      'The command "npm run js-test-cloud" exited with 1.',
    ].join("\n");
    expect(await buildFailureContext(log)).toMatchObject({ class: "infra", infraKind: "runner-lost" });
  });
});

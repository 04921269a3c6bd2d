import { describe, expect, it } from "vitest";
import { BaselineLines, buildFailureContext, lineFingerprint } from "../src/fix/context/index.js";

describe("baseline fingerprints", () => {
  it("ignore what differs between two runs of the same job: numbers, durations, hex ids, ports, temp names, blanks", () => {
    const same = [
      ["Downloaded 1412 packages in 19s", "Downloaded 1388 packages in 7s"],
      ["listening on 127.0.0.1:43121 (pid 8812)", "listening on 127.0.0.1:39002 (pid 611)"],
      ["HEAD is now at 3f2c1a9 Merge pull request #12", "HEAD is now at e80b84a Merge pull request #19"],
      ["writing /tmp/tmp.qBeGnnVmPh/out.json", "writing /tmp/tmp.J90LRjpRsY/out.json"],
      ["Tests  7 passed   (7)", "Tests 9 passed (9)"],
    ];
    for (const [a, b] of same) expect(lineFingerprint(a)).toBe(lineFingerprint(b));
  });

  it("keep words apart: a different message is a different line", () => {
    expect(lineFingerprint("Error: cannot find module 'a'")).not.toBe(lineFingerprint("Error: cannot find module 'b'"));
    expect(lineFingerprint("expected true")).not.toBe(lineFingerprint("expected false"));
  });

  it("read a passing log with timestamps and colours like the failing one", async () => {
    const baseline = await BaselineLines.fromLog("2024-05-01T12:00:00.1234567Z \x1b[32mok\x1b[0m 12 tests\n\n");
    expect(baseline.size).toBe(1);
    expect(baseline.hasRaw("2025-01-01T00:00:00.0000000Z ok 40 tests")).toBe(true);
    expect(baseline.has("not ok 1 - adds")).toBe(false);
  });

  it("an empty baseline is not used: the context is what it is without one", async () => {
    const log = "##[group]Run npm test\n##[endgroup]\nError: boom\n##[error]Process completed with exit code 1.\n";
    const empty = await BaselineLines.fromLog("");
    const withEmpty = await buildFailureContext(log, { baseline: empty });
    const without = await buildFailureContext(log);
    expect(withEmpty.baselineUsed).toBe(false);
    expect(withEmpty.context).toBe(without.context);
  });

  it("a passing log of another workflow shares nothing and changes nothing", async () => {
    const log = "##[group]Run npm test\n##[endgroup]\nTypeError: x is not a function\n##[error]Process completed with exit code 1.\n";
    const other = await BaselineLines.fromLog("Compiling docs\nWrote 12 pages\n");
    const context = await buildFailureContext(log, { baseline: other });
    expect(context.baselineUsed).toBe(true);
    expect(context.sharedLinesDropped).toBe(0);
    expect(context.context).toBe((await buildFailureContext(log)).context);
  });

  it("a flood the passing run printed too cannot push out the new error", async () => {
    const flood = Array.from({ length: 3000 }, (_, i) => `[ERROR] deprecated API used in Module${i % 7}.java`);
    const passing = ["[INFO] Building", ...flood, "[INFO] BUILD SUCCESS"].join("\n");
    const failing = ["[INFO] Building", ...flood, "[ERROR] /src/main/java/a/B.java:[12,5] cannot find symbol", "[INFO] BUILD FAILURE"].join("\n");
    const context = await buildFailureContext(failing, { baseline: await BaselineLines.fromLog(passing), budgetTokens: 100 });
    expect(context.context).toContain("B.java:[12,5] cannot find symbol");
    expect(context.context).not.toContain("deprecated API");
    expect(context.sharedLinesDropped).toBeGreaterThanOrEqual(3000);
  });

  it("memory stays bounded: past the table's bound, further lines are not remembered", async () => {
    const baseline = new BaselineLines();
    for (let i = 0; i < 40_000; i += 1) baseline.addRaw(`line ${"abcdefghij"[i % 10]}${"klmnopqrst"[Math.floor(i / 10) % 10]}${"uvwxyzABCD"[Math.floor(i / 100) % 10]}${"EFGHIJKLMN"[Math.floor(i / 1000) % 10]}x`);
    expect(baseline.size).toBeLessThanOrEqual(40_000);
    expect(baseline.saturated).toBe(false);
  });
});

describe("Travis CI logs", () => {
  it("the first failing command is the step; a later failed command's errors follow its own, and only when they fit", async () => {
    const log = [
      "travis_fold:start:install\r\x1b[0Ktravis_time:start:01\r\x1b[0K$ npm install",
      "added 10 packages",
      "travis_time:end:01:start=1,finish=2,duration=1\r\x1b[0K\x1b[32;1mThe command \"npm install\" exited with 0.\x1b[0m",
      "travis_time:start:02\r\x1b[0K$ npm test",
      "  1) parser splits",
      "  AssertionError: expected [ '' ] to deeply equal []",
      "      at Context.<anonymous> (test/parser.test.js:9:32)",
      "travis_time:end:02:start=1,finish=2,duration=1\r\x1b[0K\x1b[31;1mThe command \"npm test\" exited with 1.\x1b[0m",
      "travis_time:start:03\r\x1b[0K$ npm run lint",
      "warning: something unrelated failed",
      "travis_time:end:03:start=1,finish=2,duration=1\r\x1b[0K\x1b[31;1mThe command \"npm run lint\" exited with 1.\x1b[0m",
      "travis_time:start:04\r\x1b[0K$ npm run docs",
      "error: a warning the docs build survived",
      "travis_time:end:04:start=1,finish=2,duration=1\r\x1b[0K\x1b[32;1mThe command \"npm run docs\" exited with 0.\x1b[0m",
      "Done. Your build exited with 1.",
    ].join("\n");
    const context = await buildFailureContext(log);
    expect(context.failingStep).toBe("$ npm test");
    const text = context.context;
    expect(text).toContain("AssertionError: expected [ '' ] to deeply equal []");
    // Travis runs every script command: the lint failure is evidence too, after the test failure.
    expect(text.indexOf("something unrelated failed")).toBeGreaterThan(text.indexOf("AssertionError"));
    expect(text).toContain('The command "npm run lint" exited with 1.');
    expect(text).not.toContain("the docs build survived");
    expect(text).not.toContain("travis_time");
    // A budget that holds only the first failure keeps the first failure.
    const tight = await buildFailureContext(log, { budgetTokens: 40 });
    expect(tight.context).toContain("AssertionError");
    expect(tight.context).not.toContain("something unrelated");
  });

  it("a command under `travis_retry` that failed every attempt is a failed step", async () => {
    const log = [
      "travis_fold:start:x\r\x1b[0K$ bash ci/build.sh",
      "site built",
      'The command "bash ci/build.sh" exited with 0.',
      '$ travis_retry bundle exec s3_website push',
      'Exception in thread "main" java.lang.ExceptionInInitializerError',
      '\x1b[31;1mThe command "bundle exec s3_website push" failed. Retrying, 2 of 3.\x1b[0m',
      'Exception in thread "main" java.lang.ExceptionInInitializerError',
      '\x1b[31;1mThe command "bundle exec s3_website push" failed 3 times.\x1b[0m',
      "$ echo cleanup",
      "ERROR: a later command's noise",
    ].join("\n");
    const context = await buildFailureContext(log);
    expect(context.failingStep).toBe("$ travis_retry bundle exec s3_website push");
    expect(context.context).toContain('Exception in thread "main" java.lang.ExceptionInInitializerError');
    expect(context.context).not.toContain("a later command's noise");
  });

  it("when no command says it failed, the errors of an earlier step fill the budget the last one leaves", async () => {
    const log = [
      "travis_fold:start:R-check\r\x1b[0K$ R CMD check pkg_1.0.tar.gz --as-cran; CHECK_RET=$?",
      "* checking tests ...",
      "  Running ‘testthat.R’",
      " ERROR",
      "Running the tests in ‘tests/testthat.R’ failed.",
      "── 1. Failure: parses dates (@test-dates.R#12) ──",
      "$ for name in $(find pkg.Rcheck -name '*out'); do cat $name; done",
      ">>> Filename: pkg.Rcheck/tests/testthat.Rout <<<",
      "Error: testthat unit tests failed",
      "Execution halted",
    ].join("\n");
    const context = await buildFailureContext(log);
    expect(context.failingStep).toContain("$ for name in");
    expect(context.context).toContain("Error: testthat unit tests failed");
    expect(context.context).toContain("Running the tests in ‘tests/testthat.R’ failed.");
    // The chosen step's errors come first: a budget for one excerpt keeps them.
    const tight = await buildFailureContext(log, { budgetTokens: 20 });
    expect(tight.context).toContain("Error: testthat unit tests failed");
    expect(tight.context).not.toContain("Running the tests in");
  });

  it("a job killed by `timeout` (exit 124) is infra, not code", async () => {
    const log = ["travis_fold:start:x\r\x1b[0K", "$ timeout 35m ci/build.sh", "compiling 3/90", 'The command "timeout 35m ci/build.sh" exited with 124.'].join("\n");
    expect(await buildFailureContext(log)).toMatchObject({ class: "infra", infraKind: "timeout" });
  });
});

describe("infra first", () => {
  it("a registry outage that is the step's first error explains the code errors after it", async () => {
    const log = [
      "##[group]Run go build ./...",
      "##[endgroup]",
      'main.go:4:2: github.com/acme/lib@v1.2.0: Get "https://proxy.golang.org/github.com/acme/lib/@v/v1.2.0.zip": read tcp 10.1.0.8:52774->74.125.124.141:443: read: connection reset by peer',
      "main.go:12:3: undefined: lib.Parse",
      "##[error]Process completed with exit code 1.",
    ].join("\n");
    expect(await buildFailureContext(log)).toMatchObject({ class: "infra", infraKind: "network" });
  });

  it("more budget never means less evidence", async () => {
    const lines = ["##[group]Run make", "##[endgroup]"];
    for (let i = 0; i < 60; i += 1) lines.push(`src/m${i}.c:${i + 1}:5: error: unknown type name 'foo${i}'`, `   ${i} | foo${i} x;`);
    lines.push("make: *** [Makefile:12: all] Error 1", "##[error]Process completed with exit code 2.");
    const log = lines.join("\n");
    let previous = -1;
    for (const budget of [200, 500, 1000, 2000, 4000]) {
      const context = await buildFailureContext(log, { budgetTokens: budget });
      const kept = Array.from({ length: 60 }, (_, i) => context.context.includes(`unknown type name 'foo${i}'`)).filter(Boolean).length;
      expect(kept).toBeGreaterThanOrEqual(previous);
      previous = kept;
    }
    expect(previous).toBe(60);
  });
});

import { createReadStream, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  buildFailureContext,
  contextFromCheckRuns,
  estimateTokens,
  mergeFailureContexts,
  type FailureContext,
} from "../src/fix/context/index.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/logs/${name}`, import.meta.url));
const read = (name: string) => readFileSync(fixture(name), "utf8");
const fromFile = (name: string, options = {}) => buildFailureContext(createReadStream(fixture(name)), options);

/** A GitHub Actions log line as the logs endpoint returns it. */
const stamped = (lines: string[]) => lines.map((line, i) => `2024-05-01T12:00:${String(i % 60).padStart(2, "0")}.1234567Z ${line}`).join("\n");

const TIMESTAMP_AT_LINE_START = /^\uFEFF?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/m;

function expectClean(context: FailureContext): void {
  expect(context.context).not.toMatch(TIMESTAMP_AT_LINE_START);
  expect(context.context).not.toContain("\x1b");
  expect(context.context).not.toContain("##[");
  expect(context.context).not.toContain("section_start");
  expect(context.context).not.toContain("/home/runner/work/");
  for (const line of context.errorLines) expect(line).not.toMatch(TIMESTAMP_AT_LINE_START);
}

describe("code failures in GitHub Actions logs", () => {
  const cases: {
    fixture: string;
    step: string;
    errorLine: string;
    files: { path: string; line: number | null }[];
    inContext: string[];
  }[] = [
    {
      fixture: "github-tsc.log",
      step: "Run npm run build",
      errorLine: "src/pricing.ts:42:7 - error TS2322",
      files: [
        { path: "src/pricing.ts", line: 42 },
        { path: "src/cart/index.ts", line: 17 },
      ],
      inContext: ["error TS2322: Type 'string' is not assignable to type 'number'.", "src/cart/index.ts(17,3): error TS2345"],
    },
    {
      fixture: "github-jest.log",
      step: "Run npm test",
      errorLine: "● pricing › applies the discount",
      files: [{ path: "src/pricing.test.ts", line: 12 }],
      inContext: ["Expected: 90", "Received: 100", "> 12 |     expect(price).toBe(90);"],
    },
    {
      fixture: "github-vitest.log",
      step: "Run npx vitest run",
      errorLine: "AssertionError: expected 107 to be 108",
      files: [{ path: "src/cart/cart.test.ts", line: 21 }],
      inContext: ["- Expected", "+ Received", "❯ src/cart/cart.test.ts:21:33"],
    },
    {
      fixture: "github-pytest.log",
      step: "Run pytest -q",
      errorLine: "E       assert 75 == 125",
      files: [{ path: "tests/test_account.py", line: 14 }],
      inContext: [">       assert account.balance == 125", "FAILED tests/test_account.py::test_balance_after_refund"],
    },
    {
      fixture: "github-python-traceback.log",
      step: "Run python -m ledger.migrate --check",
      errorLine: "TypeError: '<' not supported between instances of 'NoneType' and 'int'",
      files: [
        { path: "ledger/migrate.py", line: 88 },
        { path: "ledger/migrate.py", line: 81 },
        { path: "ledger/plan.py", line: 23 },
      ],
      inContext: ["Traceback (most recent call last):", 'File "ledger/plan.py", line 23, in build_plan'],
    },
    {
      fixture: "github-go-test.log",
      step: "Run go test ./...",
      errorLine: "--- FAIL: TestDivide",
      files: [{ path: "divide_test.go", line: 27 }],
      inContext: ["divide_test.go:27: Divide(1, 0) error = <nil>, want ErrDivByZero"],
    },
    {
      fixture: "github-rust.log",
      step: "Run cargo build --locked",
      errorLine: "error[E0308]: mismatched types",
      files: [{ path: "src/inventory.rs", line: 58 }],
      inContext: ["--> src/inventory.rs:58:24", "expected `u32`, found `i64`"],
    },
    {
      fixture: "github-gcc.log",
      step: "Run make",
      errorLine: "src/parser.c:112:9: error: 'len' undeclared",
      files: [
        { path: "src/parser.c", line: 112 },
        { path: "Makefile", line: 23 },
      ],
      inContext: ["src/parser.c: In function 'parse_header':", "112 |         len = strlen(line);"],
    },
    {
      fixture: "github-eslint.log",
      step: "Run npm run lint",
      errorLine: "14:7   error  'retries' is assigned a value but never used",
      files: [
        { path: "src/api/client.ts", line: 14 },
        { path: "src/api/client.ts", line: 31 },
      ],
      inContext: ["src/api/client.ts", "✖ 3 problems (2 errors, 1 warning)"],
    },
    {
      fixture: "github-maven.log",
      step: "Run mvn -B verify",
      errorLine: "OrderService.java:[57,24] cannot find symbol",
      files: [{ path: "src/main/java/com/acme/orders/OrderService.java", line: 57 }],
      inContext: ["symbol:   method totalWithTax(java.math.BigDecimal)"],
    },
  ];

  it.each(cases)("$fixture", async ({ fixture: name, step, errorLine, files, inContext }) => {
    const context = await fromFile(name);
    expect(context.class).toBe("code");
    expect(context.infraReason).toBeNull();
    expect(context.failingStep).toBe(step);
    expect(context.errorLines.some((line) => line.includes(errorLine))).toBe(true);
    expect(context.errorLines.length).toBeLessThanOrEqual(8);
    for (const file of files) expect(context.files).toContainEqual(expect.objectContaining(file));
    for (const text of inContext) expect(context.context).toContain(text);
    // Setup and earlier steps stay out.
    expect(context.context).not.toContain("Download action repository");
    expect(context.context).not.toContain("npm WARN deprecated");
    expect(context.bytesRead).toBe(statSync(fixture(name)).size);
    expectClean(context);
  });

  it("ends the context with the exit code and leaves post-job steps out", async () => {
    const context = await fromFile("github-jest.log");
    expect(context.context.split("\n").at(-1)).toBe("Process completed with exit code 1.");
    expect(context.context).not.toContain("Post job cleanup");
    expect(context.context).not.toContain("safe.directory");
  });
});

describe("infrastructure failures", () => {
  const cases = [
    { fixture: "github-network.log", kind: "network", step: "Run npm ci" },
    { fixture: "github-registry-503.log", kind: "registry", step: "Run pip install -r requirements.txt" },
    { fixture: "github-runner-lost.log", kind: "runner-lost", step: "Run npm test" },
    { fixture: "github-cancelled.log", kind: "cancelled", step: "Run npm test" },
    { fixture: "github-timeout.log", kind: "timeout", step: "Run go test -race ./..." },
    { fixture: "github-disk-full.log", kind: "disk-full", step: "Run docker build -t shelf:ci ." },
    { fixture: "github-rate-limit.log", kind: "rate-limit", step: expect.stringContaining("Run gh release download") },
    { fixture: "gitlab-timeout.log", kind: "timeout", step: "$ ./scripts/integration.sh" },
  ];

  it.each(cases)("$fixture is infra ($kind)", async ({ fixture: name, kind, step }) => {
    const context = await fromFile(name);
    expect(context.class).toBe("infra");
    expect(context.infraKind).toBe(kind);
    expect(context.infraReason).toMatch(new RegExp(`^${kind}: \\S`));
    expect(context.failingStep).toEqual(step);
    expectClean(context);
  });

  it("lets the run's conclusion decide: cancelled and timed_out are infra, failure is not", async () => {
    expect((await fromFile("github-tsc.log", { conclusion: "cancelled" })).infraKind).toBe("cancelled");
    expect((await fromFile("github-tsc.log", { conclusion: "timed_out" })).infraKind).toBe("timeout");
    expect((await fromFile("github-tsc.log", { conclusion: "failure" })).class).toBe("code");
  });

  it("ignores network trouble in earlier passing steps and next to real code errors", async () => {
    const log = stamped([
      "##[group]Run npm ci",
      "npm ci",
      "##[endgroup]",
      "npm WARN retry will retry, error on last attempt: Error: read ECONNRESET",
      "added 412 packages in 9s",
      "##[group]Run npm test",
      "npm test",
      "##[endgroup]",
      "  ● client › retries after a reset",
      "",
      "    expect(received).toBe(expected) // Object.is equality",
      "    Expected: 3",
      "    Received: 2",
      "    (the fake server answered with ECONNRESET twice)",
      "##[error]Process completed with exit code 1.",
    ]);
    const context = await buildFailureContext(log);
    expect(context.class).toBe("code");
    expect(context.failingStep).toBe("Run npm test");
  });

  it("treats a network error long before the real error of the same step as not the cause", async () => {
    const noise = Array.from({ length: 80 }, (_, i) => `  compiled module ${i}`);
    const log = stamped([
      "##[group]Run ./build.sh",
      "./build.sh",
      "##[endgroup]",
      "warning: fetch failed (ETIMEDOUT), using the cached copy",
      ...noise,
      "Error: Cannot find module './config/defaults'",
      "##[error]Process completed with exit code 1.",
    ]);
    expect((await buildFailureContext(log)).class).toBe("code");
  });
});

describe("GitLab and Gitea logs", () => {
  it("reads a GitLab trace: sections, $ commands, colours, carriage returns, after_script", async () => {
    const context = await fromFile("gitlab-pytest.log");
    expect(context.class).toBe("code");
    expect(context.failingStep).toBe("$ pytest -q");
    expect(context.files).toContainEqual({ path: "tests/test_parse.py", line: 8, column: null });
    expect(context.files).toContainEqual({ path: "ledger/parse.py", line: 19, column: null });
    expect(context.context).toContain("E   decimal.InvalidOperation");
    expect(context.context).toContain("ERROR: Job failed: exit code 1");
    // after_script and artifact upload are not the failure.
    expect(context.context).not.toContain("No files to upload");
    expect(context.context).not.toContain("collecting reports");
    expectClean(context);
  });

  it("reads a Gitea (act_runner) log: step markers and raw ::error commands", async () => {
    const context = await fromFile("gitea-go.log");
    expect(context.class).toBe("code");
    expect(context.failingStep).toBe("Run Main go vet ./... && go test ./...");
    expect(context.files).toContainEqual({ path: "calc.go", line: 31, column: 9 });
    expect(context.errorLines[0]).toContain("./calc.go:31:9: cannot use fmt.Sprint(result)");
    expect(context.context).not.toContain("Success - Main actions/checkout@v4");
    expectClean(context);
  });

  it("reads a Gitea log without step markers as one unnamed step", async () => {
    const log = stamped([
      "gitea-runner-01(version:v0.2.10) received task 4813 of job 3178, be triggered by event: push",
      "🚀  Start image=gitea/runner-images:ubuntu-latest",
      "::group::Run go test ./...",
      "--- FAIL: TestParse (0.00s)",
      "    parse_test.go:19: Parse(\"1,5\") = 15, want 1.5",
      "FAIL",
      "::endgroup::",
      "::error file=internal/parse/parse.go,line=42::Parse ignores the decimal comma",
      "🏁  Job failed",
    ]);
    const context = await buildFailureContext(log);
    expect(context.class).toBe("code");
    expect(context.failingStep).toBeNull();
    expect(context.files).toContainEqual({ path: "internal/parse/parse.go", line: 42, column: null });
    expect(context.files).toContainEqual({ path: "parse_test.go", line: 19, column: null });
    expect(context.context).toContain("--- FAIL: TestParse");
    expect(context.context).not.toContain("::group::");
  });

  it("blames the job setup when an action cannot be downloaded", async () => {
    const log = stamped([
      "Current runner version: '2.316.1'",
      "Prepare all required actions",
      "Getting action download info",
      "##[error]Failed to download action 'https://api.github.com/repos/actions/checkout/tarball/0ad4b8f'. Error: Response status code does not indicate success: 503 (Service Unavailable).",
      "Cleaning up orphan processes",
    ]);
    const context = await buildFailureContext(log);
    expect(context).toMatchObject({ class: "infra", infraKind: "registry", failingStep: "Set up job" });
  });

  it("honours an explicit format: without gitlab, `$ ` lines are just output", async () => {
    const log = ["$ make test", "cc -c a.c", "a.c:3:5: error: expected ';' before '}' token", "$ echo done", "done"].join("\n");
    expect((await buildFailureContext(log, { format: "gitlab" })).failingStep).toBe("$ make test");
    expect((await buildFailureContext(log, { format: "github" })).failingStep).toBeNull();
  });

  it("works on a plain log without any CI markers", async () => {
    const log = ["collected 3 items", "", "tests/test_a.py .F.", "", "E       assert 1 == 2", "tests/test_a.py:7: AssertionError", "1 failed, 2 passed"].join("\n");
    const context = await buildFailureContext(log);
    expect(context.class).toBe("code");
    expect(context.failingStep).toBeNull();
    expect(context.files).toContainEqual({ path: "tests/test_a.py", line: 7, column: null });
    expect(context.context).toContain("E       assert 1 == 2");
  });
});

describe("budget, repeats and streaming", () => {
  const all = ["github-tsc.log", "github-jest.log", "github-vitest.log", "github-pytest.log", "github-python-traceback.log", "github-rust.log", "github-eslint.log", "gitlab-pytest.log"];

  it.each([30, 60, 120, 250, 500, 2000])("keeps every context within a budget of %i tokens", async (budget) => {
    for (const name of all) {
      for (const charsPerToken of [4, 3]) {
        const context = await buildFailureContext(read(name), { budgetTokens: budget, charsPerToken });
        expect(estimateTokens(context.context, charsPerToken)).toBeLessThanOrEqual(budget);
        expect(context.context.length).toBeGreaterThan(0);
      }
    }
  });

  it("keeps the telling lines when the budget is tight", async () => {
    const context = await fromFile("github-jest.log", { budgetTokens: 100 });
    expect(context.truncated).toBe(true);
    expect(context.context).toContain("Expected: 90");
    expect(context.context).toContain("Received: 100");
    expect(estimateTokens(context.context)).toBeLessThanOrEqual(100);
  });

  it("says when nothing was cut", async () => {
    expect((await fromFile("github-rust.log")).truncated).toBe(false);
  });

  it("collapses repeated lines and repeated errors", async () => {
    const warning = "(node:2817) ExperimentalWarning: VM Modules is an experimental feature";
    const error = "Error: ENOENT: no such file or directory, open 'dist/manifest.json'";
    const lines = ["##[group]Run npm run build", "npm run build", "##[endgroup]"];
    for (let i = 0; i < 40; i += 1) lines.push("Retrying download...");
    for (let i = 0; i < 200; i += 1) lines.push(warning, `  bundling chunk-${i}.js`, error, `  wrote chunk-${i}.js.map`);
    lines.push("##[error]Process completed with exit code 1.");
    const context = await buildFailureContext(stamped(lines), { budgetTokens: 2000 });
    expect(context.context.split(error).length - 1).toBe(1);
    expect(context.context).toContain(`${error} [repeated ×200]`);
    expect(context.context).not.toContain("Retrying download...\nRetrying download...");
    expect(context.errorLines.filter((line) => line === error)).toHaveLength(1);
  });

  it("collapses a run of identical lines in the tail", async () => {
    const lines = ["##[group]Run ./wait.sh", "./wait.sh", "##[endgroup]", ...Array.from({ length: 12 }, () => "waiting for service..."), "##[error]Process completed with exit code 1."];
    const context = await buildFailureContext(stamped(lines));
    expect(context.context).toContain("waiting for service... [repeated ×12]");
  });

  it("reads Buffers cut anywhere, even inside a multi-byte character, the same as a string", async () => {
    const bytes = readFileSync(fixture("github-jest.log"));
    async function* chunks() {
      for (let at = 0; at < bytes.length; at += 7) yield bytes.subarray(at, at + 7);
    }
    const fromChunks = await buildFailureContext(chunks());
    const fromString = await buildFailureContext(bytes.toString("utf8"));
    expect(fromChunks).toEqual(fromString);
    expect(fromChunks.context).toContain("● pricing › applies the discount");
    expect(fromChunks.bytesRead).toBe(bytes.length);
  });

  it("handles CRLF line ends", async () => {
    const log = read("github-gcc.log").replace(/\n/g, "\r\n");
    const context = await buildFailureContext(log);
    expect(context.failingStep).toBe("Run make");
    expect(context.context).not.toContain("\r");
  });

  it("cuts a giant single line instead of holding it", async () => {
    const giant = `Error: ${"x".repeat(2_000_000)}`;
    const context = await buildFailureContext(stamped(["##[group]Run node build.js", "node build.js", "##[endgroup]", giant, "##[error]Process completed with exit code 1."]), { budgetTokens: 500 });
    expect(estimateTokens(context.context)).toBeLessThanOrEqual(500);
    expect(context.context).toContain("Error: xxx");
  });

  it("cuts a giant line that arrives in many chunks", async () => {
    const head = stamped(["##[group]Run node build.js", "node build.js", "##[endgroup]"]);
    async function* chunks() {
      yield Buffer.from(`${head}\n2024-05-01T12:00:05.0000000Z TypeError: bad input `);
      for (let i = 0; i < 200; i += 1) yield Buffer.from("y".repeat(10_000));
      yield Buffer.from("\n2024-05-01T12:00:06.0000000Z ##[error]Process completed with exit code 1.\n");
    }
    const context = await buildFailureContext(chunks(), { budgetTokens: 300 });
    expect(context.failingStep).toBe("Run node build.js");
    expect(context.context).toContain("TypeError: bad input yyy");
    expect(context.context).toContain("Process completed with exit code 1.");
    expect(estimateTokens(context.context)).toBeLessThanOrEqual(300);
  });

  it("learns the checkout directory from the log (GitLab subgroups)", async () => {
    const log = [
      "Running with gitlab-runner 16.11.0 (91a27b2a)",
      "Initialized empty Git repository in /builds/acme/platform/ledger/.git/",
      "$ pytest -q",
      "/builds/acme/platform/ledger/tests/test_parse.py:8: AssertionError",
      "E   assert 1 == 2",
      "ERROR: Job failed: exit code 1",
    ].join("\n");
    const context = await buildFailureContext(log);
    expect(context.files).toEqual([{ path: "tests/test_parse.py", line: 8, column: null }]);
    expect(context.context).toContain("tests/test_parse.py:8: AssertionError");
    expect(context.context).not.toContain("/builds/");
  });

  it("returns an empty code context for an empty log", async () => {
    const context = await buildFailureContext("");
    expect(context).toMatchObject({ class: "code", failingStep: null, context: "", errorLines: [], files: [], bytesRead: 0 });
  });
});

describe("secrets in logs", () => {
  const token = `ghp_${"Zq3Wx8Yv1Ut5Sr7Qp9On2Ml4Kj6Ih0Gf".padEnd(36, "a")}`;

  it("redacts secrets before they reach the context, the error lines or the reason", async () => {
    const log = stamped([
      "##[group]Run ./deploy.sh",
      "./deploy.sh",
      "env:",
      `  DEPLOY_TOKEN: ${token}`,
      "##[endgroup]",
      `fatal: could not read from https://x-access-token:${token}@github.com/acme/widgets.git`,
      `Error: deploy failed with token=${token}`,
      "##[error]Process completed with exit code 1.",
    ]);
    const context = await buildFailureContext(log);
    const everything = JSON.stringify(context);
    expect(everything).not.toContain(token);
    expect(context.redactions).toBeGreaterThanOrEqual(3);
    expect(context.context).toContain("[REDACTED");
  });

  it("drops a printed private key even when its lines sit inside an error excerpt", async () => {
    const body = ["MIIEowIBAAKCAQEA1c7+Lx0qOQ0Jg2uE7l0RqfKQZ3u8mB1Q9xk4v6oXr2c0b7e", "Yt3Jp0q9xk1mQ8nWb2Lr5Vt7Zc4Hs6Df0Ga8Ke3Ji1Mo9Pu2Qw5Ry7Tz1Vx3Bn4"];
    const log = stamped([
      "##[group]Run ./sign.sh",
      "./sign.sh",
      "##[endgroup]",
      "Error: could not parse key file:",
      "-----BEGIN RSA PRIVATE KEY-----",
      ...body,
      "-----END RSA PRIVATE KEY-----",
      "##[error]Process completed with exit code 1.",
    ]);
    const context = await buildFailureContext(log);
    for (const line of body) expect(context.context).not.toContain(line);
    expect(context.context).toContain("[REDACTED:private-key]");
  });
});

describe("check runs and merging", () => {
  const lintRun = {
    name: "lint (circleci)",
    conclusion: "failure",
    output: { title: "2 problems", summary: "ESLint found 2 errors", text: `Details: https://app.circleci.com/x\napi_key=${"Qm9vZ2llV29vZ2llMTIz"}` },
    annotations: [
      { path: "src/api/client.ts", start_line: 14, annotation_level: "failure", message: "'retries' is assigned a value but never used", title: "no-unused-vars" },
      { path: "src/format.ts", start_line: 3, annotation_level: "warning", message: "Unexpected console statement" },
      { path: "README.md", start_line: 1, annotation_level: "notice", message: "Consider a badge" },
    ],
  };

  it("builds the same shape from a check run's output and annotations", () => {
    const context = contextFromCheckRuns([lintRun]);
    expect(context.class).toBe("code");
    expect(context.failingStep).toBe("lint (circleci)");
    expect(context.files[0]).toEqual({ path: "src/api/client.ts", line: 14, column: null });
    expect(context.context).toContain("src/api/client.ts:14: failure: no-unused-vars: 'retries' is assigned a value but never used");
    expect(context.context).not.toContain("Consider a badge");
    expect(JSON.stringify(context)).not.toContain("Qm9vZ2llV29vZ2llMTIz");
    expect(context.redactions).toBe(1);
  });

  it("prefers the code failure over a run cancelled by fail-fast", () => {
    const cancelled = {
      name: "test (node 22)",
      conclusion: "cancelled",
      output: { title: null, summary: null, text: null },
      annotations: [{ path: ".github", start_line: 1, annotation_level: "failure", message: "The operation was canceled." }],
    };
    const context = contextFromCheckRuns([cancelled, lintRun, { ...lintRun, name: "build", conclusion: "success" }]);
    expect(context.class).toBe("code");
    expect(context.failingStep).toBe("lint (circleci)");
  });

  it("is infra when every failed run was the platform's fault", () => {
    const lost = {
      name: "test",
      conclusion: "failure",
      output: { title: null, summary: null, text: null },
      annotations: [
        { path: ".github", start_line: 1, annotation_level: "failure", message: "The runner has received a shutdown signal. This can happen when the runner service is stopped." },
        { path: ".github", start_line: 1, annotation_level: "failure", message: "Process completed with exit code 143." },
      ],
    };
    const timedOut = { name: "e2e", conclusion: "timed_out", output: { title: "Timed out", summary: null, text: null }, annotations: [] };
    const context = contextFromCheckRuns([lost, timedOut]);
    expect(context.class).toBe("infra");
    expect(context.infraKind).toBe("runner-lost");
    expect(context.files).toEqual([]);
  });

  it("merges several jobs within one budget, with a header per job", async () => {
    const contexts = await Promise.all(["github-tsc.log", "github-jest.log", "github-network.log"].map((name) => fromFile(name)));
    const merged = mergeFailureContexts(contexts, 150);
    expect(merged.class).toBe("code");
    expect(estimateTokens(merged.context)).toBeLessThanOrEqual(150);
    expect(merged.context).toContain("### Run npm run build");
    expect(merged.context).toContain("### Run npm test");
    expect(merged.context).not.toContain("### Run npm ci");
    expect(merged.failingStep).toBe("Run npm run build; Run npm test");
    expect(merged.files.map((f) => f.path)).toEqual(["src/pricing.ts", "src/cart/index.ts", "src/pricing.test.ts"]);
    expect(merged.bytesRead).toBe(contexts.reduce((sum, c) => sum + c.bytesRead, 0));
  });

  it("merges infra-only jobs into an infra context", async () => {
    const contexts = await Promise.all(["github-network.log", "github-timeout.log"].map((name) => fromFile(name)));
    const merged = mergeFailureContexts(contexts);
    expect(merged.class).toBe("infra");
    expect(merged.infraKind).toBe("network");
  });
});

describe("estimateTokens", () => {
  it("rounds characters per token up", () => {
    expect(estimateTokens("")).toBe(0);
    expect(estimateTokens("abcd")).toBe(1);
    expect(estimateTokens("abcde")).toBe(2);
    expect(estimateTokens("abcdef", 3)).toBe(2);
  });
});

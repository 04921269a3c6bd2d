import { describe, expect, it } from "vitest";
import { estimateTokens, normalizeRepoPath, selectFilesForPrompt, type PromptFile } from "../src/fix/context/index.js";

describe("normalizeRepoPath", () => {
  it.each([
    ["/home/runner/work/widgets/widgets/src/a.ts", "src/a.ts"],
    ["/Users/runner/work/widgets/widgets/src/a.ts", "src/a.ts"],
    ["/home/runner/_work/widgets/widgets/lib/b.py", "lib/b.py"],
    ["/__w/widgets/widgets/src/c.go", "src/c.go"],
    ["D:\\a\\widgets\\widgets\\src\\Program.cs", "src/Program.cs"],
    ["file:///home/runner/work/widgets/widgets/src/a.ts", "src/a.ts"],
    ["/github/workspace/app/main.py", "app/main.py"],
    ["/builds/acme/ledger/tests/test_parse.py", "tests/test_parse.py"],
    ["/workspace/acme/calc/calc.go", "calc.go"],
    ["./src/a.ts", "src/a.ts"],
    ["src/./nested/a.ts", "src/nested/a.ts"],
    ["src/a.ts", "src/a.ts"],
  ])("%s → %s", (raw, expected) => {
    expect(normalizeRepoPath(raw)).toBe(expected);
  });

  it.each([
    "../outside.ts",
    "src/../../etc/passwd",
    "/etc/passwd",
    "/usr/lib/node_modules/npm/index.js",
    "/opt/hostedtoolcache/Python/3.12.3/x64/lib/python3.12/runpy.py",
    "/home/runner/work/_temp/script.sh",
    "node_modules/react/index.js",
    "packages/app/node_modules/lodash/lodash.js",
    "vendor/github.com/pkg/errors/errors.go",
    ".venv/lib/python3.12/site-packages/requests/api.py",
    "node:internal/modules/cjs/loader",
    ".git/config",
    "C:\\Windows\\system32\\a.dll",
    "~/.ssh/id_rsa",
    "",
  ])("drops %j", (raw) => {
    expect(normalizeRepoPath(raw)).toBeNull();
  });

  it("strips a checkout directory the caller knows (GitLab subgroups)", () => {
    expect(normalizeRepoPath("/builds/acme/platform/ledger/tests/a.py", ["/builds/acme/platform/ledger"])).toBe("tests/a.py");
  });
});

function numbered(count: number, prefix = "line"): string {
  return Array.from({ length: count }, (_, i) => `${prefix} ${i + 1}: const value${i + 1} = compute(${i + 1});`).join("\n");
}

function totalCost(files: PromptFile[]): number {
  // What the budget covers: the content plus a small header allowance per excerpt.
  return files.reduce((sum, f) => sum + f.content.length + f.path.length + 16, 0);
}

describe("selectFilesForPrompt", () => {
  it("includes small referenced and changed files whole, referenced ones first", () => {
    const fetched = { "src/a.ts": "export const a = 1;\n", "src/b.ts": "export const b = 2;\n", "src/c.ts": "export const c = 3;\n" };
    const files = selectFilesForPrompt([{ path: "src/b.ts", line: 1, column: 1 }], ["src/c.ts", "src/a.ts"], fetched, 2000);
    expect(files.map((f) => f.path)).toEqual(["src/b.ts", "src/c.ts", "src/a.ts"]);
    expect(files[0]).toEqual({ path: "src/b.ts", content: "export const b = 2;", startLine: 1, endLine: 1, truncated: false, redactions: 0 });
  });

  it("puts referenced files the commit changed before other referenced files", () => {
    const fetched = { "src/test.ts": "t\n", "src/impl.ts": "i\n" };
    const refs = [
      { path: "src/test.ts", line: 1, column: null },
      { path: "src/impl.ts", line: 1, column: null },
    ];
    expect(selectFilesForPrompt(refs, ["src/impl.ts"], fetched, 1000).map((f) => f.path)).toEqual(["src/impl.ts", "src/test.ts"]);
  });

  it("shows a window around the referenced lines of a big file, with the right line numbers", () => {
    const content = numbered(2000);
    const files = selectFilesForPrompt([{ path: "/home/runner/work/w/w/src/big.ts", line: 1200, column: 5 }], [], { "src/big.ts": content }, 500);
    expect(files).toHaveLength(1);
    const [excerpt] = files;
    expect(excerpt.truncated).toBe(true);
    expect(excerpt.startLine).toBeLessThanOrEqual(1200);
    expect(excerpt.endLine).toBeGreaterThanOrEqual(1200);
    const lines = content.split("\n");
    expect(excerpt.content).toBe(lines.slice(excerpt.startLine - 1, excerpt.endLine).join("\n"));
    expect(excerpt.content).toContain("line 1200:");
    expect(totalCost(files)).toBeLessThanOrEqual(500 * 4);
  });

  it("gives distant references their own excerpts and keeps everything within the budget", () => {
    const refs = [10, 900, 1800].map((line) => ({ path: "src/big.ts", line, column: null }));
    const fetched = { "src/big.ts": numbered(2000), "src/other.ts": numbered(400, "other"), "src/changed.ts": numbered(300, "changed") };
    for (const budget of [150, 400, 1000, 3000]) {
      const files = selectFilesForPrompt([...refs, { path: "src/other.ts", line: 200, column: null }], ["src/changed.ts"], fetched, budget);
      expect(totalCost(files)).toBeLessThanOrEqual(budget * 4);
      const big = files.filter((f) => f.path === "src/big.ts");
      expect(big.length).toBeGreaterThan(0);
      for (const f of files) expect(f.startLine).toBeLessThanOrEqual(f.endLine);
    }
    const roomy = selectFilesForPrompt(refs, [], fetched, 3000).filter((f) => f.path === "src/big.ts");
    expect(roomy.map((f) => [f.startLine <= 10 && f.endLine >= 10, f.startLine <= 900 && f.endLine >= 900, f.startLine <= 1800 && f.endLine >= 1800])).toEqual([
      [true, false, false],
      [false, true, false],
      [false, false, true],
    ]);
  });

  it("shows the head of a big changed file nobody referenced", () => {
    const files = selectFilesForPrompt([], ["src/changed.ts"], { "src/changed.ts": numbered(3000) }, 300);
    expect(files).toHaveLength(1);
    expect(files[0].startLine).toBe(1);
    expect(files[0].truncated).toBe(true);
    expect(files[0].content.startsWith("line 1:")).toBe(true);
  });

  it("redacts secrets in file contents and keeps line numbers", () => {
    const key = ["-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA1c7Lx0qOQ0Jg2uE7l0RqfKQZ3u8mB1Q9xk4v6oXr2c0b7eYt3", "-----END RSA PRIVATE KEY-----"];
    const content = ["const config = {", '  password: "correct-horse-battery",', ...key, "};", "export default config;"].join("\n");
    const [file] = selectFilesForPrompt([{ path: "src/config.ts", line: 7, column: null }], [], { "src/config.ts": content }, 1000);
    expect(file.content).not.toContain("correct-horse-battery");
    expect(file.content).not.toContain("MIIEowIBAAKCAQEA");
    expect(file.redactions).toBe(2);
    expect(file.content.split("\n")).toHaveLength(content.split("\n").length);
    expect(file.content.split("\n")[5]).toBe("};");
  });

  it("drops unsafe and dependency paths, whatever was fetched", () => {
    const fetched = {
      "../secrets.env": "TOKEN=1",
      "node_modules/lib/index.js": "module.exports = 1;",
      "vendor/pkg/a.go": "package a",
      "src/ok.ts": "ok",
    };
    const refs = [
      { path: "../secrets.env", line: 1, column: null },
      { path: "/home/runner/work/w/w/node_modules/lib/index.js", line: 1, column: null },
      { path: "vendor/pkg/a.go", line: 1, column: null },
    ];
    expect(selectFilesForPrompt(refs, ["src/ok.ts", "../secrets.env"], fetched, 1000).map((f) => f.path)).toEqual(["src/ok.ts"]);
  });

  it("matches a reference by file name when it is unique among the fetched files", () => {
    const fetched = { "calc/divide_test.go": "package calc\n\nfunc TestDivide(t *testing.T) {}\n", "calc/divide.go": "package calc\n" };
    const files = selectFilesForPrompt([{ path: "divide_test.go", line: 3, column: null }], [], fetched, 1000);
    expect(files.map((f) => f.path)).toEqual(["calc/divide_test.go"]);
    const ambiguous = selectFilesForPrompt([{ path: "a.go", line: 1, column: null }], [], { "x/a.go": "x", "y/a.go": "y" }, 1000);
    expect(ambiguous).toEqual([]);
  });

  it("skips binary content and missing files, and returns nothing without a budget", () => {
    const fetched: Record<string, string | undefined> = { "img/logo.png": "\u0089PNG\u0000\u0000", "src/missing.ts": undefined };
    expect(selectFilesForPrompt([{ path: "img/logo.png", line: null, column: null }], ["src/missing.ts"], fetched, 1000)).toEqual([]);
    expect(selectFilesForPrompt([{ path: "src/a.ts", line: 1, column: null }], [], { "src/a.ts": "a" }, 0)).toEqual([]);
  });

  it("cuts minified lines", () => {
    const [file] = selectFilesForPrompt([{ path: "dist/app.min.js", line: 1, column: null }], [], { "dist/app.min.js": "x".repeat(10_000) }, 1000);
    expect(file.content.length).toBeLessThanOrEqual(400);
    expect(file.truncated).toBe(true);
    expect(estimateTokens(file.content)).toBeLessThanOrEqual(100);
  });
});

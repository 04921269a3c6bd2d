import { describe, expect, it } from "vitest";
import { DEFAULT_SAFETY_RULES, checkPatchSafety, parsePatch, type SafetyRules } from "../src/patch/index.js";

function edit(path: string, removed = ["old"], added = ["new"]): string {
  return [`--- a/${path}`, `+++ b/${path}`, "@@ -1 +1 @@", ...removed.map((l) => `-${l}`), ...added.map((l) => `+${l}`), ""].join("\n");
}

function rules(over: Partial<SafetyRules> = {}): SafetyRules {
  return { ...DEFAULT_SAFETY_RULES, ...over };
}

function violated(diff: string, over: Partial<SafetyRules> = {}, originals: Record<string, string | undefined> = {}): string[] {
  return checkPatchSafety(parsePatch(diff), rules(over), originals).map((v) => `${v.rule}:${v.path ?? "-"}`);
}

describe("checkPatchSafety", () => {
  it("accepts an ordinary source change", () => {
    expect(violated(edit("src/app.ts"))).toEqual([]);
  });

  it("rejects paths outside the repo, absolute paths and .git", () => {
    expect(violated(edit("../outside.txt"))).toEqual(["path-traversal:../outside.txt"]);
    expect(violated(edit("src/../../etc/passwd"))).toEqual(["path-traversal:src/../../etc/passwd"]);
    expect(violated(["--- /etc/passwd", "+++ /etc/passwd", "@@ -1 +1 @@", "-a", "+b"].join("\n"))).toEqual(["absolute-path:/etc/passwd"]);
    expect(violated(["--- C:\\Windows\\x.ini", "+++ C:\\Windows\\x.ini", "@@ -1 +1 @@", "-a", "+b"].join("\n"))).toEqual(["absolute-path:C:\\Windows\\x.ini"]);
    expect(violated(edit(".git/hooks/pre-commit"))).toEqual(["git-dir:.git/hooks/pre-commit"]);
    expect(violated(edit("vendor/lib/.GIT/config"))).toEqual(["git-dir:vendor/lib/.GIT/config"]);
    expect(violated(edit("src\\..\\..\\x"))).toEqual(["path-traversal:src\\..\\..\\x"]);
  });

  it("rejects binary files and symlinks", () => {
    expect(violated("diff --git a/logo.png b/logo.png\nBinary files a/logo.png and b/logo.png differ\n")).toEqual(["binary-file:logo.png"]);
    expect(violated(edit("data.bin"), {}, { "data.bin": "a\u0000b" })).toEqual(["binary-file:data.bin"]);
    expect(violated("diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc/passwd\n")).toEqual(["symlink:link"]);
  });

  it("rejects excluded paths (globs, base-name patterns)", () => {
    expect(violated(edit("vendor/x.js"), { exclude: ["vendor/**"] })).toEqual(["excluded-path:vendor/x.js"]);
    expect(violated(edit("src/deep/app.min.js"), { exclude: ["*.min.js"] })).toEqual(["excluded-path:src/deep/app.min.js"]);
    expect(violated(edit("src/app.js"), { exclude: ["vendor/**", "*.min.js"] })).toEqual([]);
  });

  it("rejects workflow files unless allowed", () => {
    expect(violated(edit(".github/workflows/ci.yml"))).toEqual(["workflow-file:.github/workflows/ci.yml"]);
    expect(violated(edit(".github/workflows/ci.yml"), { allowWorkflows: true })).toEqual([]);
    expect(violated(edit(".github/CODEOWNERS"))).toEqual(["repo-settings:.github/CODEOWNERS"]);
    expect(violated(edit(".github/CODEOWNERS"), { allowRepoSettings: true })).toEqual([]);
  });

  it("rejects lock files unless allowed", () => {
    for (const lockfile of ["package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "poetry.lock", "Gemfile.lock", "go.sum", "composer.lock"]) {
      expect(violated(edit(`sub/${lockfile}`))).toEqual([`lockfile:sub/${lockfile}`]);
    }
    expect(violated(edit("yarn.lock"), { allowLockfiles: true })).toEqual([]);
  });

  it("enforces the changed-lines and files limits", () => {
    const big = edit("src/a.ts", ["a", "b", "c"], ["d", "e", "f"]);
    expect(violated(big, { maxChangedLines: 6 })).toEqual([]);
    expect(violated(big, { maxChangedLines: 5 })).toEqual(["max-changed-lines:-"]);
    const three = edit("a.ts") + edit("b.ts") + edit("c.ts");
    expect(violated(three, { maxFiles: 3 })).toEqual([]);
    expect(violated(three, { maxFiles: 2 })).toEqual(["max-files:-"]);
    const deletion = "diff --git a/big.txt b/big.txt\ndeleted file mode 100644\n";
    expect(violated(deletion, { maxChangedLines: 3 }, { "big.txt": "1\n2\n3\n4\n" })).toEqual(["max-changed-lines:-"]);
  });

  it("rejects patches that only skip tests", () => {
    const skips: [string, string, string][] = [
      ["test/app.test.ts", "it('loads', () => {", "it.skip('loads', () => {"],
      ["test/app.test.ts", "describe('config', () => {", "describe.skip('config', () => {"],
      ["spec/app.spec.js", "it('loads', () => {", "xit('loads', () => {"],
      ["src/app.test.ts", "test('loads', () => {", "test.only('loads', () => {"],
      ["tests/test_app.py", "def test_loads():", "@pytest.mark.skip(reason='flaky')\ndef test_loads():"],
      ["src/lib_test.go", "func TestLoads(t *testing.T) {", "func TestLoads(t *testing.T) {\n\tt.Skip(\"flaky\")"],
      ["tests/loads.rs", "#[test]", "#[test]\n#[ignore]"],
    ];
    for (const [path, before, after] of skips) {
      expect(violated(edit(path, [before], after.split("\n"))), path + after).toEqual(["disables-tests:-"]);
    }
  });

  it("rejects patches that only delete test files or remove tests", () => {
    expect(violated("diff --git a/test/app.test.ts b/test/app.test.ts\ndeleted file mode 100644\n--- a/test/app.test.ts\n+++ /dev/null\n@@ -1 +0,0 @@\n-it('x', () => {});\n")).toEqual([
      "disables-tests:-",
    ]);
    expect(violated(edit("test/app.test.ts", ["it('works', () => expect(f()).toBe(1));"], []))).toEqual(["weakens-tests:test/app.test.ts", "disables-tests:-"]);
  });

  it("accepts test changes that fix tests, and skips that come with a source fix", () => {
    expect(violated(edit("test/app.test.ts", ["expect(f()).toBe(1);"], ["expect(f()).toBe(2);"]))).toEqual([]);
    expect(violated(edit("src/app.ts") + edit("test/app.test.ts", ["it('old', () => {"], ["it.skip('old', () => {"]))).toEqual([]);
    expect(violated(edit("test/app.test.ts", ["it('loads', () => {"], ["it('loads the file', () => {"]))).toEqual([]);
  });
});

describe("hostile diffs found by the fault suite", () => {
  const rules = { ...DEFAULT_SAFETY_RULES };
  const rulesOf = (diff: string) => checkPatchSafety(parsePatch(diff), rules).map((v) => v.rule);

  it("percent-encoded dots and separators in paths", () => {
    expect(rulesOf("--- /dev/null\n+++ b/%2e%2e/%2e%2e/etc/passwd\n@@ -0,0 +1 @@\n+root::0:0::/:/bin/sh\n")).toContain("encoded-path");
    expect(rulesOf("--- a/src/..%2f..%2fx.ts\n+++ b/src/..%2f..%2fx.ts\n@@ -1 +1 @@\n-a\n+b\n")).toContain("encoded-path");
  });

  it("NUL bytes in added lines", () => {
    expect(rulesOf("--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-a\n+b\u0000c\n")).toContain("binary-content");
  });

  it("a submodule (mode 160000)", () => {
    const diff = "diff --git a/vendor/lib b/vendor/lib\nnew file mode 160000\nindex 0000000..1234567\n--- /dev/null\n+++ b/vendor/lib\n@@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n";
    expect(rulesOf(diff)).toContain("submodule");
  });

  it("#[ignore] on an inline Rust test in a source file", () => {
    const diff = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -10,3 +10,4 @@\n     #[test]\n+    #[ignore]\n     fn parses_empty() {\n         assert_eq!(parse(\"\"), vec![]);\n";
    expect(rulesOf(diff)).toContain("disables-tests");
  });

  it("a real source change beside a skip marker is not refused for it", () => {
    const diff = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,2 +1,3 @@\n-pub fn parse(s: &str) -> Vec<&str> { s.split(',').collect() }\n+pub fn parse(s: &str) -> Vec<&str> { if s.is_empty() { return vec![]; } s.split(',').collect() }\n+#[ignore]\n #[test]\n";
    expect(rulesOf(diff)).not.toContain("disables-tests");
  });
});

import { describe, expect, test } from "vitest";
import { evidenceOfFailure, filesToShow, importsOf, localize, locateFiles, pythonReexports, readEvidence, RepoTree, type Evidence } from "../src/fix/localize/index.js";
import { changeDirectory, joinPath } from "../src/fix/localize/evidence.js";

function targets(text: string) {
  return readEvidence(text).map((e) => ({ kind: e.kind, target: e.target, line: e.line }));
}

describe("evidence: every common shape, with its line", () => {
  test.each([
    ["java frame", "\tat org.acme.cart.Cart.total(Cart.java:42)", { type: "jvm-class", name: "org.acme.cart.Cart", file: "Cart.java" }, 42],
    ["kotlin frame (file name differs from class)", "    at org.acme.UtilKt.pad(Util.kt:7)", { type: "jvm-class", name: "org.acme.UtilKt", file: "Util.kt" }, 7],
    ["scala frame, nested class", "  at org.acme.Parser$Inner.run(Parser.scala:3)", { type: "jvm-class", name: "org.acme.Parser$Inner", file: "Parser.scala" }, 3],
    ["python frame", '  File "/home/runner/work/app/app/app/models.py", line 12, in save', { type: "path", path: "app/models.py" }, 12],
    ["pytest node id", "FAILED tests/test_models.py::test_save - AssertionError", { type: "path", path: "tests/test_models.py" }, null],
    ["unittest id", "FAIL: test_save (tests.test_models.ModelTest)", { type: "python-module", name: "tests.test_models.ModelTest" }, null],
    ["node frame", "    at Object.<anonymous> (/home/runner/work/app/app/src/cart.ts:14:9)", { type: "path", path: "src/cart.ts" }, 14],
    ["webpack frame", "    at render (webpack:///./src/components/Cart.tsx:12:7)", { type: "path", path: "src/components/Cart.tsx" }, 12],
    ["vite frame", "    at /@fs/home/runner/work/app/app/src/cart.ts:5:3", { type: "path", path: "src/cart.ts" }, 5],
    ["go test line", "    cart_test.go:31: got 3, want 4", { type: "path", path: "cart_test.go" }, 31],
    ["go package", "FAIL\tgithub.com/acme/app/internal/cart\t0.012s", { type: "go-package", name: "github.com/acme/app/internal/cart" }, null],
    ["rust", "   --> src/lib.rs:10:5", { type: "path", path: "src/lib.rs" }, 10],
    ["clang", "src/main.c:7:3: error: use of undeclared identifier 'x'", { type: "path", path: "src/main.c" }, 7],
    ["msvc", "src\\main.cpp(12): error C2065: 'x': undeclared identifier", { type: "path", path: "src/main.cpp" }, 12],
    [".NET", "   at Acme.Cart.Total() in /home/runner/work/app/app/src/Cart.cs:line 42", { type: "path", path: "src/Cart.cs" }, 42],
    ["ruby", "# ./spec/models/cart_spec.rb:12:in `block (2 levels)'", { type: "path", path: "spec/models/cart_spec.rb" }, 12],
    ["php", "PHP Fatal error:  Uncaught Error in /home/runner/work/app/app/src/Cart.php on line 9", { type: "path", path: "src/Cart.php" }, 9],
    ["swift", "/Users/runner/work/app/app/Sources/App/Cart.swift:20:7: error: cannot find 'x' in scope", { type: "path", path: "Sources/App/Cart.swift" }, 20],
    ["maven", "[ERROR] /home/runner/work/app/app/src/main/java/org/acme/Cart.java:[42,17] cannot find symbol", { type: "path", path: "src/main/java/org/acme/Cart.java" }, 42],
    ["tsc", "src/cart.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.", { type: "path", path: "src/cart.ts" }, 3],
    ["mypy", "app/cart.py:8: error: Incompatible return value type", { type: "path", path: "app/cart.py" }, 8],
    ["ruff", "app/cart.py:1:8: F401 [*] `os` imported but unused", { type: "path", path: "app/cart.py" }, 1],
    ["surefire summary", "[ERROR]   CartTest.totalsItems:42 expected:<3> but was:<4>", { type: "jvm-class", name: "CartTest", file: null }, 42],
    ["surefire class", "[ERROR] Tests run: 3, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.1 s <<< FAILURE! - in org.acme.CartTest", { type: "jvm-class", name: "org.acme.CartTest", file: null }, null],
    ["gradle", "CartTest > totalsItems() FAILED", { type: "jvm-class", name: "CartTest", file: null }, null],
    ["jest", "FAIL src/cart.test.ts", { type: "path", path: "src/cart.test.ts" }, null],
    ["sharness (git test-lib)", "expecting success of 0060.218 '%(prefix)/ works':", { type: "test-script", number: "0060" }, null],
  ])("%s", (_name, line, target, lineNo) => {
    expect(targets(line)).toContainEqual(expect.objectContaining({ target, line: lineNo }));
  });

  test("library frames are not evidence: JDK, test frameworks, site-packages", () => {
    const text = [
      "java.lang.AssertionError: boom",
      "\tat org.junit.Assert.fail(Assert.java:88)",
      "\tat java.base/java.util.ArrayList.get(ArrayList.java:427)",
      "Traceback (most recent call last):",
      '  File "/opt/hostedtoolcache/Python/3.12.1/x64/lib/python3.12/site-packages/requests/api.py", line 59, in request',
    ].join("\n");
    expect(readEvidence(text)).toEqual([]);
  });

  test("frames are ordered innermost first, for Java (printed first) and Python (printed last)", () => {
    const java = readEvidence(["java.lang.IllegalStateException", "\tat a.b.Inner.x(Inner.java:1)", "\tat a.b.Outer.y(Outer.java:2)"].join("\n"));
    expect(java.map((e) => [(e.target as { name: string }).name, e.depth])).toEqual([["a.b.Inner", 0], ["a.b.Outer", 1]]);
    const python = readEvidence(['Traceback (most recent call last):', '  File "app/outer.py", line 2, in y', "    inner()", '  File "app/inner.py", line 1, in x', "    raise ValueError()", "ValueError"].join("\n"));
    expect(python.map((e) => [(e.target as { path: string }).path, e.depth])).toEqual([["app/outer.py", 1], ["app/inner.py", 0]]);
  });

  test("a test the runner reports as passed or skipped is a weak mention, never a failing test", () => {
    const log = [
      "tests/test_a.py::test_ok PASSED                                   [ 33%]",
      "[gw0] [ 50%] PASSED tests/test_c.py::test_y",
      "tests/test_d.py::test_z SKIPPED (needs network)                   [ 66%]",
      "PASS src/ok.test.ts",
      "tests/test_b.py::test_bad FAILED                                  [100%]",
    ].join("\n");
    const evidence = readEvidence(log);
    expect(evidence.filter((e) => e.kind === "failing-test").map((e) => e.target)).toEqual([{ type: "path", path: "tests/test_b.py" }]);
    expect(evidence.filter((e) => e.passing).map((e) => [e.kind, (e.target as { path: string }).path])).toEqual([
      ["mention", "tests/test_a.py"],
      ["mention", "tests/test_c.py"],
      ["mention", "tests/test_d.py"],
    ]);
    const tree = new RepoTree(["tests/test_a.py", "tests/test_b.py", "tests/test_c.py", "tests/test_d.py", "src/ok.test.ts"]);
    const result = localize({ evidence: evidenceOfFailure({ context: log }), tree });
    // The failing test leads and alone is read for its imports; the passing ones stay shown (the context names them).
    expect(result.files[0].path).toBe("tests/test_b.py");
    expect(result.testsToRead).toEqual(["tests/test_b.py"]);
    expect(result.files.find((f) => f.path === "tests/test_a.py")?.why).toEqual([expect.stringMatching(/^named in the log by a test that passed/)]);
    expect(filesToShow(result.files, 8).map((f) => f.path)).toContain("tests/test_a.py");
  });

  test("evidence stays bounded on a huge log: the first and the last pieces are kept", () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `\tat org.acme.C${i}.m(C${i}.java:1)`);
    const evidence = readEvidence(lines.join("\n"));
    expect(evidence.length).toBeLessThanOrEqual(400);
    expect(evidence.at(-1)?.target).toMatchObject({ name: "org.acme.C49999" });
  });
});

describe("tree: names to real paths", () => {
  const tree = new RepoTree([
    "core/src/main/java/org/acme/Cart.java",
    "core/src/test/java/org/acme/CartTest.java",
    "core/target/generated-sources/org/acme/Cart.java",
    "node_modules/left-pad/index.js",
    "app/util.py",
    "lib/util.py",
    "src/pkg/models/__init__.py",
    "src/pkg/models/cart.py",
    "internal/cart/cart.go",
    "internal/cart/cart_test.go",
  ]);

  test("package-qualified names, module paths and Go packages", () => {
    expect(tree.resolveJvmClass("org.acme.Cart$Line", null)).toEqual(["core/src/main/java/org/acme/Cart.java"]);
    expect(tree.resolvePythonModule("pkg.models.cart.CartTest")).toEqual(["src/pkg/models/cart.py"]);
    expect(tree.resolvePythonModule("pkg.models")).toEqual(["src/pkg/models/__init__.py"]);
    expect(tree.resolveGoPackage("github.com/acme/app/internal/cart")).toEqual(["internal/cart/cart.go", "internal/cart/cart_test.go"]);
  });

  test("a path from another root resolves by its tail; build output and dependencies are not the project", () => {
    expect(tree.resolvePath("/build/work/core/src/main/java/org/acme/Cart.java")).toEqual(["core/src/main/java/org/acme/Cart.java"]);
    expect(tree.has("core/target/generated-sources/org/acme/Cart.java")).toBe(false);
    expect(tree.resolvePath("left-pad/index.js")).toEqual([]);
  });

  test("an ambiguous name returns every candidate", () => {
    expect(tree.resolvePath("util.py").sort()).toEqual(["app/util.py", "lib/util.py"]);
  });

  test("companions: the source a test exercises", () => {
    expect(tree.companionsOf("core/src/test/java/org/acme/CartTest.java")).toEqual(["core/src/main/java/org/acme/Cart.java"]);
    expect(tree.companionsOf("internal/cart/cart_test.go")).toEqual(["internal/cart/cart.go"]);
  });
});

test("a sharness test number resolves to its script", () => {
  const tree = new RepoTree(["t/t0060-path-utils.sh", "t/t0061-run-command.sh", "t/test-lib.sh", "t0060-elsewhere.txt"]);
  expect(tree.resolve({ type: "test-script", number: "0060" })).toEqual(["t/t0060-path-utils.sh"]);
  const { files } = localize({ evidence: readEvidence("expecting success of 0060.218 'works':\nnot ok 218 - works"), tree });
  expect(files.map((f) => f.path)).toEqual(["t/t0060-path-utils.sh"]);
});

describe("a `cd` of the log: relative paths after it are read from that directory", () => {
  const tree = new RepoTree(["actionpack/lib/action_controller.rb", "guides/bug_report_templates/action_controller.rb", "web/src/app.ts", "src/app.ts"]);

  test("directories: relative, `..`, a runner's absolute checkout path; unknown ones are dropped", () => {
    expect(joinPath("a/b", "../c/./d")).toBe("a/c/d");
    expect(joinPath("", "..")).toBeNull();
    expect(changeDirectory("guides", "bug_report_templates")).toBe("guides/bug_report_templates");
    expect(changeDirectory(null, "/home/runner/work/app/app/web")).toBe("web");
    expect(changeDirectory("web", "$HOME")).toBeNull();
    expect(changeDirectory("web", "..")).toBeNull();
  });

  test("a name that matches two files is the one under the directory the log moved to, even when the excerpt left the `cd` out", () => {
    // From the corpus (bench/localize-corpus, rails/rails e3a28aa3dc): the bug report template run from its directory.
    const log = ["$ cd guides/bug_report_templates", "$ ruby action_controller.rb", "action_controller.rb:5:in `<main>': boom (RuntimeError)"].join("\n");
    const context = log.split("\n").slice(1).join("\n");
    const { files, ambiguous } = localize({ evidence: evidenceOfFailure({ context, log: readEvidence(log) }), tree });
    expect(files.map((f) => f.path)).toEqual(["guides/bug_report_templates/action_controller.rb"]);
    expect(ambiguous).toEqual([]);
  });

  test("a new Actions step starts at the workspace again; a path that is no file under the directory resolves as before", () => {
    const log = ["##[group]Run cd web && npm test", "+ cd web", "##[group]Run npx tsc", "src/app.ts(3,5): error TS2322: nope"].join("\n");
    expect(localize({ evidence: readEvidence(log), tree }).files.map((f) => f.path)).toEqual(["src/app.ts"]);
    const inWeb = ["+ cd web", "src/app.ts(3,5): error TS2322: nope", "lib/missing.ts(1,1): error TS1005: ';' expected"].join("\n");
    expect(readEvidence(inWeb)[0].target).toEqual({ type: "path", path: "src/app.ts", cwd: "web" });
    expect(localize({ evidence: readEvidence(inWeb), tree }).files.map((f) => f.path)).toEqual(["web/src/app.ts"]);
  });
});

describe("rank: the files a fix needs, each with why", () => {
  const tree = new RepoTree(["app/util.py", "lib/util.py", "lib/core.py", "tests/test_core.py", "src/a.ts", "src/b.ts", "docs/x.md"]);

  test("an ambiguous name is settled by the other evidence and says so", () => {
    const evidence = readEvidence(['Traceback (most recent call last):', '  File "lib/core.py", line 3, in run', '  File "util.py", line 9, in helper', "ValueError: x"].join("\n"));
    const { files, ambiguous } = localize({ evidence, tree });
    const util = files.find((f) => f.path.endsWith("util.py"));
    expect(util?.path).toBe("lib/util.py");
    expect(util?.why[0]).toMatch(/matches 2 files; this one fits the other evidence/);
    expect(ambiguous).toEqual([]);
  });

  test("undecidable names are kept as 'one of N', never silently picked", () => {
    const { files, ambiguous } = localize({ evidence: readEvidence("  File \"util.py\", line 9, in helper"), tree });
    expect(ambiguous).toHaveLength(1);
    expect(files.map((f) => f.path).sort()).toEqual(["app/util.py", "lib/util.py"]);
    expect(files[0].why[0]).toMatch(/ambiguous: one of 2 files/);
  });

  test("the failing test's source comes in by name and by import; changed-since-green adds weight, not noise", () => {
    const evidence = readEvidence("FAILED tests/test_core.py::test_run - assert 1 == 2");
    const contents = new Map([["tests/test_core.py", "from lib.core import run\n\ndef test_run():\n    assert run() == 2\n"]]);
    const { files } = localize({ evidence, tree, contents, changedSinceGreen: ["lib/core.py", "docs/x.md"], greenRange: { base: "a".repeat(40), head: "b".repeat(40) } });
    const core = files.find((f) => f.path === "lib/core.py")!;
    expect(core.why).toEqual(expect.arrayContaining([expect.stringMatching(/source under test of tests\/test_core.py/), expect.stringMatching(/used by the failing test/), "changed since the last green run (aaaaaaa..bbbbbbb)"]));
    expect(files[0].path).toBe("lib/core.py");
    expect(files.at(-1)?.path).toBe("docs/x.md");
  });

  test("no log evidence: the changed files lead", () => {
    const { files } = localize({ evidence: [], tree, changedSinceGreen: ["src/a.ts"], prFiles: ["src/b.ts"] });
    expect(files.map((f) => f.path)).toEqual(["src/a.ts", "src/b.ts"]);
  });

  test("every file the context names is shown, even past the usual number", () => {
    const many = Array.from({ length: 12 }, (_, i) => `src/f${i}.ts`);
    const evidence = evidenceOfFailure({ context: many.map((p) => `${p}:1:1 - error TS2322: nope`).join("\n") });
    const { files } = localize({ evidence, tree: new RepoTree(many) });
    expect(filesToShow(files, 8)).toHaveLength(12);
  });

  test("evidence outside the context counts, a little less", () => {
    const log: Evidence[] = readEvidence("src/b.ts:3:1 - error TS1005: ';' expected.");
    const evidence = evidenceOfFailure({ context: "src/a.ts:3:1 - error TS1005: ';' expected.", log });
    const { files } = localize({ evidence, tree });
    expect(files.map((f) => [f.path, f.inContext])).toEqual([["src/a.ts", true], ["src/b.ts", false]]);
  });
});

test("a test whose name spells a path brings the sources on that path (plural or singular), when they are few", () => {
  const tree = new RepoTree([
    "lib/net/eos/config/vlans/vlans.py",
    "lib/net/eos/facts/vlans/vlans.py",
    "lib/net/ios/config/vlans/vlans.py",
    "app/pipelines/media.py",
    "app/utils/log.py",
    "tests/test_eos_vlans.py",
    "tests/test_pipeline_media.py",
    "tests/test_log.py",
  ]);
  expect(tree.nestedCompanionsOf("tests/test_eos_vlans.py")).toEqual(["lib/net/eos/config/vlans/vlans.py", "lib/net/eos/facts/vlans/vlans.py"]);
  expect(tree.nestedCompanionsOf("tests/test_pipeline_media.py")).toEqual(["app/pipelines/media.py"]);
  expect(tree.nestedCompanionsOf("tests/test_log.py")).toEqual([]); // one word: the plain companion's job
  const { files } = localize({ evidence: readEvidence("FAILED tests/test_eos_vlans.py::test_replaced"), tree });
  expect(files.map((f) => [f.path, f.why.at(-1)])).toEqual([
    ["tests/test_eos_vlans.py", expect.stringMatching(/^failing test/)],
    ["lib/net/eos/config/vlans/vlans.py", "source under test of tests/test_eos_vlans.py (its name spells the path; one of 2)"],
    ["lib/net/eos/facts/vlans/vlans.py", "source under test of tests/test_eos_vlans.py (its name spells the path; one of 2)"],
  ]);
});

test("a dependency manifest the log names brings its lock file (a workspace's at the root), and a lock file its manifest", () => {
  const tree = new RepoTree(["Gemfile", "Gemfile.lock", "Cargo.lock", "Cargo.toml", "crates/term/Cargo.toml", "web/package.json", "web/yarn.lock", "src/app.rb"]);
  expect(tree.dependencyCompanionsOf("crates/term/Cargo.toml")).toEqual(["Cargo.lock"]);
  expect(tree.dependencyCompanionsOf("web/yarn.lock")).toEqual(["web/package.json"]);
  expect(tree.dependencyCompanionsOf("src/app.rb")).toEqual([]);
  const log = "bundler/runtime.rb:304:in 'check_for_activated_spec!': You have already activated stringio 3.1.0, but your Gemfile requires stringio 3.1.1. (Gem::LoadError)";
  const { files } = localize({ evidence: evidenceOfFailure({ context: log }), tree });
  expect(files.map((f) => [f.path, f.why[0]])).toEqual([
    ["Gemfile", expect.stringMatching(/^named in the log/)],
    ["Gemfile.lock", "goes with Gemfile (dependency manifest and lock file)"],
  ]);
});

test("imports of a failing test: Python, JVM (same-package classes too), relative JS", () => {
  expect(importsOf("t/test_x.py", "from pkg.mod import thing\nimport pkg.other as o\nthing(); o.x()\n").map((i) => i.target)).toEqual([
    { type: "python-module", name: "pkg.mod.thing" },
    { type: "python-module", name: "pkg.other" },
    { type: "python-module", name: "pkg.other.x" },
  ]);
  const java = importsOf("CartTest.java", "package org.acme;\nimport org.acme.util.Money;\nclass CartTest { Cart c = new Cart(); Money m; }\n").map((i) => i.target);
  expect(java).toEqual(expect.arrayContaining([{ type: "jvm-class", name: "org.acme.util.Money", file: null }, { type: "jvm-class", name: "org.acme.Cart", file: null }]));
  expect(importsOf("src/a.test.ts", 'import { a } from "./a";\nimport x from "../lib/x.js";').map((i) => i.target)).toEqual([
    { type: "path", path: "src/a" },
    { type: "path", path: "lib/x.js" },
  ]);
});

describe("paths outside any checkout layout: the tree decides", () => {
  const tree = new RepoTree(["activerecord/test/cases/serialized_attribute_test.rb", "activejob/test/integration/queuing_test.rb", "bulk-checkin.c", "object-file.c", "lib/json.rb"]);

  test("a developer's absolute Ruby frame, a container's minitest location and a sanitizer frame relative to the build directory resolve by their tail", () => {
    const evidence = readEvidence(
      [
        "/home/dev/src/github.com/rails/rails/activerecord/test/cases/serialized_attribute_test.rb:380:in `<class:FrozenBinaryField>'",
        "QueuingTest#test_should_run [/rails/activejob/test/integration/queuing_test.rb:14]:",
        "    #4 0x555555b9905d in deflate_blob_to_pack ../bulk-checkin.c:286:4",
        "    #0 0x7ffff7a01a99 in EVP_MD_CTX_copy_ex (/nix/store/h1y-openssl-3.3.2/include/openssl/evp.h:12)",
        "/usr/local/lib/ruby/3.3.0/json.rb:50:in `parse'",
      ].join("\n"),
    );
    expect(evidence.map((e) => [e.kind, e.target.type === "path" ? e.target.path : null, e.line])).toEqual([
      ["frame", "/home/dev/src/github.com/rails/rails/activerecord/test/cases/serialized_attribute_test.rb", 380],
      ["failing-test", "/rails/activejob/test/integration/queuing_test.rb", 14],
      ["frame", "../bulk-checkin.c", 286],
    ]);
    expect(evidence.map((e) => tree.resolve(e.target))).toEqual([
      ["activerecord/test/cases/serialized_attribute_test.rb"],
      ["activejob/test/integration/queuing_test.rb"],
      ["bulk-checkin.c"],
    ]);
  });

  test("an absolute path whose only match would be a lone file name is not the repository's file", () => {
    expect(tree.resolvePath("/somewhere/else/entirely/json.rb")).toEqual([]);
    expect(tree.resolvePath("/somewhere/lib/json.rb")).toEqual(["lib/json.rb"]);
    // Without a tree an outside path is never shown as written.
    const ranked = localize({ evidence: readEvidence("/home/dev/app/lib/cart.rb:3:in `total'"), tree: null });
    expect(ranked.files).toEqual([]);
  });
});

describe("Python packages: re-exports in __init__.py are followed to the defining module", () => {
  const tree = new RepoTree(["shop/__init__.py", "shop/cart.py", "shop/money/__init__.py", "shop/money/currency.py", "shop/util.py", "tests/test_cart.py"]);
  const INIT = "from .cart import (\n    Cart,\n    total as cart_total,\n)\nfrom shop.util import *\nfrom . import money\n";

  test("pythonReexports reads relative, parenthesised, absolute and star imports with their lines", () => {
    expect(pythonReexports("shop/__init__.py", INIT)).toEqual([
      { paths: ["shop/cart.py", "shop/cart/__init__.py"], module: null, names: ["Cart", "cart_total"], from: 1, to: 4 },
      { paths: [], module: "shop.util", names: "*", from: 5, to: 5 },
      { paths: ["shop/money.py", "shop/money/__init__.py"], module: null, names: ["money"], from: 6, to: 6 },
    ]);
    expect(pythonReexports("shop/money/__init__.py", "from ..util import fmt\n")[0].paths).toEqual(["shop/util.py", "shop/util/__init__.py"]);
  });

  test("`pkg.Name` resolves to the package's __init__.py; the import through it lands on the defining module once the init is read", async () => {
    expect(tree.resolvePythonModule("shop.Cart")).toEqual(["shop/__init__.py"]);
    const evidence = readEvidence("FAILED tests/test_cart.py::test_total - assert 1 == 2");
    const sources = new Map([
      ["tests/test_cart.py", "from shop import Cart, fmt\n\ndef test_total():\n    assert Cart().total() == 2\n"],
      ["shop/__init__.py", INIT],
    ]);
    const reads: string[][] = [];
    const located = await locateFiles(evidence, {
      tree,
      readContents: async (paths) => {
        reads.push(paths);
        return new Map(paths.map((p) => [p, sources.get(p)!] as const));
      },
    });
    // One read of the test, then one of the package it imports from: within the read budget.
    expect(reads).toEqual([["tests/test_cart.py"], ["shop/__init__.py"]]);
    const cart = located.files.find((f) => f.path === "shop/cart.py")!;
    expect(cart.why).toEqual(expect.arrayContaining([expect.stringMatching(/used by the failing test tests\/test_cart.py \(2 mentions; Cart re-exported by shop\/__init__.py\)/)]));
    // `fmt` comes through the star import of shop.util.
    expect(located.files.map((f) => f.path)).toContain("shop/util.py");
    expect(located.files.map((f) => f.path)).not.toContain("shop/__init__.py");
  });

  test("`import pkg` then `pkg.name(…)`: the names used are followed through the package's re-exports, aliases included", () => {
    const test_ = "import shop\nimport shop.money as m\n\ndef test_total():\n    assert shop.cart_total([1]) == shop.cart_total([])\n    m.currency\n";
    expect(importsOf("tests/test_cart.py", test_)).toEqual(
      expect.arrayContaining([
        { target: { type: "python-module", name: "shop" }, uses: 4 },
        { target: { type: "python-module", name: "shop.cart_total" }, uses: 2 },
        { target: { type: "python-module", name: "shop.money.currency" }, uses: 1 },
      ]),
    );
    const { files } = localize({
      evidence: readEvidence("FAILED tests/test_cart.py::test_total - assert 1 == 2"),
      tree,
      contents: new Map([["tests/test_cart.py", test_], ["shop/__init__.py", INIT]]),
    });
    const cart = files.find((f) => f.path === "shop/cart.py");
    expect(cart?.why).toContainEqual(expect.stringMatching(/used by the failing test tests\/test_cart.py \(2 mentions; cart_total re-exported by shop\/__init__.py\)/));
    expect(files.map((f) => f.path)).toContain("shop/money/currency.py");
  });

  test("a traceback frame on an import line of __init__.py points at the module it imports", () => {
    const evidence = readEvidence(['Traceback (most recent call last):', '  File "shop/__init__.py", line 2, in <module>', "    Cart,", "ImportError: cannot import name 'Cart'"].join("\n"));
    const first = localize({ evidence, tree });
    expect(first.initsToRead).toEqual(["shop/__init__.py"]);
    const { files } = localize({ evidence, tree, contents: new Map([["shop/__init__.py", INIT]]) });
    expect(files.map((f) => [f.path, f.why[0]])).toEqual([
      ["shop/__init__.py", expect.stringMatching(/innermost project frame/)],
      ["shop/cart.py", "imported at shop/__init__.py:2, a frame of the failure"],
    ]);
  });
});

describe("path-like tokens: a file the context names in any shape is shown", () => {
  // From the corpus (bench/localize-corpus): git/git 5beca49a0b and rails/rails d6f96a9d7c quote these command lines.
  const tree = new RepoTree([
    "t/t9700-perl-git.sh",
    "t/test-lib.sh",
    "t/README",
    "README",
    "actionview/test/template/test_case_test.rb",
    "actionview/test/template/render_test.rb",
    "actionview/lib/action_view/base.rb",
    "actionview/bin/test",
    "lib/a/util.rb",
    "lib/b/util.rb",
  ]);

  function shownFor(context: string, log = context): string[] {
    const evidence = evidenceOfFailure({ context, log: readEvidence(log) });
    return filesToShow(localize({ evidence, tree }).files, 1).map((f) => f.path);
  }

  test("a test runner's arguments are references, whatever the runner", () => {
    expect(shownFor("$ prove ./t9700-perl-git.sh :: -v\nBailout called.  Further testing stopped:  verbose mode forbidden under TAP harness")).toContain("t/t9700-perl-git.sh");
    const rails = shownFor(
      [
        'bin/test test/template/test_case_test.rb test/template/render_test.rb -n "/^(?:HelperInclusionTest)$/" --seed 41598',
        "/home/dev/rails/actionview/lib/action_view/base.rb:244:in `public_send'",
      ].join("\n"),
    );
    expect(rails).toEqual(expect.arrayContaining(["actionview/test/template/test_case_test.rb", "actionview/test/template/render_test.rb", "actionview/lib/action_view/base.rb"]));
  });

  test("a token counts only when the tree has it as a whole: no shortening to a file name", () => {
    const evidence = readEvidence("see t/README and docs/README, send application/json to origin/main, then run make.sh or npm test", [], { tokens: "all" });
    expect(evidence.map((e) => (e.target.type === "path" ? e.target.path : null))).toEqual(["t/README", "docs/README", "application/json", "origin/main", "make.sh"]);
    expect(evidence.map((e) => tree.resolve(e.target))).toEqual([["t/README"], [], [], [], []]);
    // Without a tree nothing is guessed from a bare token.
    expect(localize({ evidence, tree: null }).files).toEqual([]);
  });

  test("the program a line runs is not a reference, its arguments are; a path that starts a message is", () => {
    const paths = (text: string) => readEvidence(text, [], { tokens: "all" }).map((e) => (e.target.type === "path" ? e.target.path : null));
    expect(paths("$ bin/test test/template/render_test.rb -n test_x")).toEqual(["test/template/render_test.rb"]);
    expect(paths("##[group]Run ./gradlew test --tests WidgetTest")).toEqual([]);
    expect(paths("+ ./run-tests.sh --fast")).toEqual(["run-tests.sh"]);
    // LogChunks, airbnb/javascript Travis job 556125301: markdownlint's `file: line: rule` (the rule id is a candidate the tree turns down).
    expect(paths('react/README.md: 750: MD034/no-bare-urls Bare URL used [Context: "https://reactjs.org/blog/2017/..."]')).toEqual(["react/README.md", "MD034/no-bare-urls"]);
  });

  test("a runner's pass lines name files that did not fail: not references", () => {
    const text = [" ✓ src/format.test.ts  (4 tests) 3ms", "PASS src/cart.test.ts", "ok 3 - t/t9700-perl-git.sh", "✗ src/parser.test.ts"].join("\n");
    expect(readEvidence(text, [], { tokens: "all" }).map((e) => (e.target.type === "path" ? e.target.path : null))).toEqual(["src/parser.test.ts"]);
  });

  test("any extension counts (fixtures, config), and an absolute path of an unknown checkout resolves by its tail", () => {
    // LogChunks (lacinoire/master-thesis), composer/composer Travis jobs 547593737 and 567101801.
    const php = new RepoTree(["tests/Composer/Test/Fixtures/installer/solver-problems.test", "phpstan/config.neon", "src/Composer/Util/RemoteFilesystem.php"]);
    const context = [
      '1) Composer\\Test\\InstallerTest::testIntegration with data set "solver-problems.test" (\'solver-problems.test\', \'Test the error output\')',
      "$ vendor/bin/phpstan analyse --configuration=phpstan/config.neon",
      "PHP Fatal error:  Class 'Composer\\Util\\Response' not found in /home/travis/build/composer/composer/src/Composer/Util/RemoteFilesystem.php on line 286",
      "see /usr/share/php/Composer/Util/RemoteFilesystem.php and /elsewhere/RemoteFilesystem.php",
    ].join("\n");
    const located = localize({ evidence: evidenceOfFailure({ context }), tree: php });
    expect(filesToShow(located.files, 1).map((f) => f.path).sort()).toEqual(["phpstan/config.neon", "src/Composer/Util/RemoteFilesystem.php", "tests/Composer/Test/Fixtures/installer/solver-problems.test"]);
    expect(located.files.find((f) => f.path === "src/Composer/Util/RemoteFilesystem.php")?.lines).toEqual([286]);
  });

  test("in the whole log, only echoed commands' tokens count; prose outside the context does not", () => {
    const log = ["+ prove t/t9700-perl-git.sh", "note: t/test-lib.sh sets the harness up"].join("\n");
    const paths = readEvidence(log).map((e) => (e.target.type === "path" ? e.target.path : null));
    expect(paths).toEqual(["t/t9700-perl-git.sh"]);
  });

  test("a test file only named by a token is shown but not read for its imports (it is not known to have failed)", () => {
    const context = "stderr | actionview/test/template/test_case_test.rb > setup\nFailure: actionview/test/template/render_test.rb:12";
    const located = localize({ evidence: evidenceOfFailure({ context }), tree });
    expect(located.files.map((f) => f.path).sort()).toEqual(["actionview/test/template/render_test.rb", "actionview/test/template/test_case_test.rb"]);
    expect(located.testsToRead).toEqual(["actionview/test/template/render_test.rb"]);
  });

  test("a name the context gives that matches a few files shows them all; the ranker still says it is undecided", () => {
    const located = localize({ evidence: evidenceOfFailure({ context: "NoMethodError raised while loading util.rb" }), tree });
    expect(filesToShow(located.files, 0).map((f) => f.path).sort()).toEqual(["lib/a/util.rb", "lib/b/util.rb"]);
    expect(located.ambiguous).toEqual([{ text: "NoMethodError raised while loading util.rb", candidates: ["lib/a/util.rb", "lib/b/util.rb"] }]);
  });
});

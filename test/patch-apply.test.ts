import { describe, expect, it } from "vitest";
import { applyPatch, extractDiff, parsePatch, type ApplyResult } from "../src/patch/index.js";

const SOURCE = [
  'import { readFile } from "node:fs/promises";',
  "",
  "export async function loadConfig(path) {",
  '  const text = await readFile(path, "utf8");',
  "  const parsed = JSON.parse(text);",
  "  return parsed;",
  "}",
  "",
  "export function mergeConfig(base, extra) {",
  "  const merged = { ...base };",
  "  for (const key of Object.keys(extra)) {",
  "    merged[key] = extra[key];",
  "  }",
  "  return merged;",
  "}",
  "",
  "export function describeConfig(config) {",
  "  const keys = Object.keys(config);",
  '  return keys.join(", ");',
  "}",
  "",
].join("\n");

/** The same edits, rendered correctly: two hunks. */
const HUNK_1 = [
  "@@ -3,5 +3,6 @@",
  " export async function loadConfig(path) {",
  '   const text = await readFile(path, "utf8");',
  "-  const parsed = JSON.parse(text);",
  "+  const parsed = JSON.parse(text || \"{}\");",
  "+  if (parsed === null) return {};",
  "   return parsed;",
  " }",
];
const HUNK_2 = [
  "@@ -16,4 +17,4 @@",
  " ",
  " export function describeConfig(config) {",
  "-  const keys = Object.keys(config);",
  "+  const keys = Object.keys(config).sort();",
  '   return keys.join(", ");',
];
const EXPECTED = SOURCE.replace("JSON.parse(text);", 'JSON.parse(text || "{}");\n  if (parsed === null) return {};').replace(
  "Object.keys(config);",
  "Object.keys(config).sort();",
);
const HEADERS = ["diff --git a/src/config.js b/src/config.js", "--- a/src/config.js", "+++ b/src/config.js"];

function run(answer: string, originals: Record<string, string | undefined> = { "src/config.js": SOURCE }): ApplyResult {
  const diff = extractDiff(answer);
  if (diff === null) throw new Error("no diff");
  return applyPatch(parsePatch(diff), originals);
}

function expectApplied(result: ApplyResult, content = EXPECTED, path = "src/config.js"): void {
  expect(result).toEqual({ ok: true, changes: [{ path, content }], changedLines: expect.any(Number) });
}

describe("applyPatch: model flaws", () => {
  it("applies a correct diff", () => {
    const result = run([...HEADERS, ...HUNK_1, ...HUNK_2, ""].join("\n"));
    expectApplied(result);
    expect(result.ok && result.changedLines).toBe(5);
  });

  it("applies with wrong hunk line numbers", () => {
    const shifted = [HUNK_1[0].replace("-3,5 +3,6", "-40,5 +41,6"), ...HUNK_1.slice(1), HUNK_2[0].replace("-16,4 +17,4", "-2,4 +2,4"), ...HUNK_2.slice(1)];
    expectApplied(run([...HEADERS, ...shifted].join("\n")));
  });

  it("applies with missing hunk line numbers", () => {
    expectApplied(run([...HEADERS, "@@ @@", ...HUNK_1.slice(1), "@@", ...HUNK_2.slice(1)].join("\n")));
  });

  it("applies with wrong hunk counts", () => {
    const miscounted = ["@@ -3,2 +3,9 @@", ...HUNK_1.slice(1), "@@ -16,7 +17,1 @@", ...HUNK_2.slice(1)];
    expectApplied(run([...HEADERS, ...miscounted].join("\n")));
  });

  it("applies without a/ b/ prefixes", () => {
    expectApplied(run(["--- src/config.js", "+++ src/config.js", ...HUNK_1, ...HUNK_2].join("\n")));
  });

  it("applies with only a diff --git header", () => {
    expectApplied(run([HEADERS[0], ...HUNK_1, ...HUNK_2].join("\n")));
  });

  it("applies hunks only, for a file named in the prose", () => {
    expectApplied(run(["In `src/config.js`:", "```diff", ...HUNK_1, ...HUNK_2, "```"].join("\n")));
  });

  it("applies a CRLF diff to an LF file and keeps LF", () => {
    expectApplied(run([...HEADERS, ...HUNK_1, ...HUNK_2, ""].join("\r\n")));
  });

  it("applies an LF diff to a CRLF file and keeps CRLF, added lines included", () => {
    const crlf = SOURCE.replace(/\n/g, "\r\n");
    expectApplied(run([...HEADERS, ...HUNK_1, ...HUNK_2].join("\n"), { "src/config.js": crlf }), EXPECTED.replace(/\n/g, "\r\n"));
  });

  it("applies git's diff of a CRLF file (CR inside the diff lines)", () => {
    const crlf = SOURCE.replace(/\n/g, "\r\n");
    const diff = [...HEADERS, HUNK_1[0], ...HUNK_1.slice(1).map((line) => `${line}\r`), HUNK_2[0], ...HUNK_2.slice(1).map((line) => `${line}\r`)];
    expectApplied(run(diff.join("\n"), { "src/config.js": crlf }), EXPECTED.replace(/\n/g, "\r\n"));
  });

  it("applies with whitespace drift in context lines and keeps the file's own whitespace", () => {
    const drifted = HUNK_1.map((line) => (line.startsWith("   const text") ? " \tconst text = await readFile(path,\"utf8\");  " : line));
    const blankStripped = HUNK_2.map((line) => (line === " " ? "" : line));
    expectApplied(run([...HEADERS, ...drifted, ...blankStripped].join("\n")));
  });

  it("applies hunks given out of order", () => {
    expectApplied(run([...HEADERS, ...HUNK_2, ...HUNK_1].join("\n")));
  });

  it("applies with one stale context line and keeps the file's version of it", () => {
    const stale = HUNK_1.map((line) => (line.startsWith("   const text") ? '   const text = await readFile(path, "latin1");' : line));
    expectApplied(run([...HEADERS, ...stale, ...HUNK_2].join("\n")));
  });

  it("applies a diff fenced in markdown with prose around it", () => {
    const answer = ["The parse fails on empty files.", "", "```diff", ...HEADERS, ...HUNK_1, ...HUNK_2, "```", "", "- handles empty input", "- sorts keys"].join("\n");
    expectApplied(run(answer));
  });

  it("applies several flaws at once", () => {
    const answer = ["Fix for `src/config.js`:", "```", "@@ @@", ...HUNK_2.slice(1), "@@ -90,1 +90,1 @@", ...HUNK_1.slice(1), "```"].join("\r\n");
    expectApplied(run(answer));
  });
});

describe("applyPatch: one context line off", () => {
  const MERGE_HUNK = [
    "--- a/src/config.js",
    "+++ b/src/config.js",
    "@@ -9,8 +9,8 @@",
    " export function mergeConfig(base, extra) {",
    "   const merged = { ...base };",
    "   for (const key of Object.keys(extra)) {",
    "-    merged[key] = extra[key];",
    "+    merged[key] = extra[key] ?? merged[key];",
    "   }",
    "   return merged;",
    " }",
  ];
  const MERGED = SOURCE.replace("merged[key] = extra[key];", "merged[key] = extra[key] ?? merged[key];");

  it("applies when the model dropped a context line between two context lines", () => {
    expectApplied(run(MERGE_HUNK.filter((line) => !line.includes("const merged")).join("\n")), MERGED);
  });

  it("applies when the model repeated a context line", () => {
    const repeated = [...MERGE_HUNK.slice(0, 9), "   }", ...MERGE_HUNK.slice(9)];
    expectApplied(run(repeated.join("\n")), MERGED);
  });

  it("refuses when the file has a line the hunk lacks next to a removed line: it may be a dropped removal", () => {
    const result = run("--- a/f\n+++ b/f\n@@ @@\n a\n b\n c\n-d\n+D\n e\n", { f: "a\nb\nc\nX\nd\ne\n" });
    expect(result.ok).toBe(false);
  });

  it("refuses when the file has a line the hunk lacks exactly where it adds lines: the order is unknown", () => {
    const result = run("--- a/f\n+++ b/f\n@@ @@\n a\n b\n c\n+Z\n d\n e\n f\n", { f: "a\nb\nc\nX\nd\ne\nf\n" });
    expect(!result.ok && result.failures[0].reason).toMatch(/read in more than one way/);
  });

  it("refuses a one-line-off match when another place comes within two differences", () => {
    const twins = "function a() {\n  const x = 1;\n  const y = 2;\n  return x + y;\n}\nfunction b() {\n  const x = 1;\n  const y = 3;\n  return x + y;\n}\n";
    const stale = "--- a/f.js\n+++ b/f.js\n@@ @@\n function a() {\n   const x = 1;\n   const y = 9;\n-  return x + y;\n+  return x * y;\n }\n";
    expect(run(stale, { "f.js": twins })).toEqual({
      ok: false,
      failures: [{ path: "f.js", hunk: 1, reason: expect.stringMatching(/fits line 1 with one line off, but also nearly fits line 6/) }],
    });
    const alone = twins.replace("function b() {\n  const x = 1;\n  const y = 3;\n  return x + y;\n}\n", "");
    expect(run(stale, { "f.js": alone })).toMatchObject({ ok: true, changes: [{ content: alone.replace("return x + y", "return x * y") }] });
  });

  it("does not take closing brackets at other depths for the hunk's place", () => {
    const file = ["          })", "        })", "      })", "    })", "  })", "", "  test('next', () => {", ""].join("\n");
    // The model repeated "  })": no exact match; ignoring indentation, the hunk also lines up one bracket higher.
    const diff = ["--- a/t.js", "+++ b/t.js", "@@ @@", "         })", "       })", "     })", "+    cleanup()", "   })", "   })", " ", "   test('next', () => {"].join("\n");
    expect(run(diff, { "t.js": file })).toMatchObject({
      ok: true,
      changes: [{ content: ["          })", "        })", "      })", "    })", "    cleanup()", "  })", "", "  test('next', () => {", ""].join("\n") }],
    });
  });
});

describe("applyPatch: hunks retyped with other indentation", () => {
  const python = ["def load(path):", "    with open(path) as f:", "        data = f.read()", "    return data", ""].join("\n");

  it("re-indents added lines when the model re-indented the whole hunk (2 spaces for 4)", () => {
    const diff = ["--- a/m.py", "+++ b/m.py", "@@ @@", " def load(path):", "   with open(path) as f:", "     data = f.read()", "+    if not data:", "+      return None", "   return data"].join("\n");
    expect(run(diff, { "m.py": python })).toMatchObject({
      ok: true,
      changes: [{ content: ["def load(path):", "    with open(path) as f:", "        data = f.read()", "        if not data:", "            return None", "    return data", ""].join("\n") }],
    });
  });

  it("re-indents spaces to the file's tabs", () => {
    const tabbed = "func f() {\n\tif x {\n\t\ty()\n\t}\n}\n";
    const diff = ["--- a/f.go", "+++ b/f.go", "@@ @@", " func f() {", "     if x {", "         y()", "+        z()", "     }"].join("\n");
    expect(run(diff, { "f.go": tabbed })).toMatchObject({ ok: true, changes: [{ content: "func f() {\n\tif x {\n\t\ty()\n\t\tz()\n\t}\n}\n" }] });
  });

  it("leaves added lines alone when only some context lines drifted", () => {
    const diff = ["--- a/m.py", "+++ b/m.py", "@@ @@", " def load(path):", "  with open(path) as f:", "        data = f.read()  ", "+        print(data)", "     return data"].join("\n");
    // "    return data" matches the file exactly, so the drift above is scattered, not a re-indented hunk.
    expect(run(diff, { "m.py": python })).toMatchObject({
      ok: true,
      changes: [{ content: ["def load(path):", "    with open(path) as f:", "        data = f.read()", "        print(data)", "    return data", ""].join("\n") }],
    });
  });
});

describe("applyPatch: line endings and final newline", () => {
  const diff = (body: string[]): string => ["--- a/f.txt", "+++ b/f.txt", "@@ @@", ...body].join("\n");

  it("keeps a missing final newline when the edit is in the middle or at the end", () => {
    expect(run(diff([" a", "-b", "+B", " c"]), { "f.txt": "a\nb\nc" })).toMatchObject({ changes: [{ content: "a\nB\nc" }] });
    expect(run(diff([" b", "-c", "+C"]), { "f.txt": "a\nb\nc" })).toMatchObject({ changes: [{ content: "a\nb\nC" }] });
    expect(run(diff([" b", " c", "+d"]), { "f.txt": "a\nb\nc" })).toMatchObject({ changes: [{ content: "a\nb\nc\nd" }] });
  });

  it("follows '\\ No newline at end of file' markers on the hunk that ends the file", () => {
    const addNewline = diff([" b", "-c", "\\ No newline at end of file", "+c"]);
    expect(run(addNewline, { "f.txt": "a\nb\nc" })).toMatchObject({ changes: [{ content: "a\nb\nc\n" }] });
    const dropNewline = diff([" b", "-c", "+c", "\\ No newline at end of file"]);
    expect(run(dropNewline, { "f.txt": "a\nb\nc\n" })).toMatchObject({ changes: [{ content: "a\nb\nc" }] });
  });

  it("gives added lines the ending most of a mixed file uses and leaves other lines' endings alone", () => {
    const mixed = "a\r\nb\r\nc\nd\r\n";
    expect(run(diff([" a", "+x", " b"]), { "f.txt": mixed })).toMatchObject({ changes: [{ content: "a\r\nx\r\nb\r\nc\nd\r\n" }] });
  });
});

describe("applyPatch: refusals with a reason per hunk", () => {
  it("refuses a hunk whose context occurs more than once, even with a plausible line number", () => {
    const repeated = "a\nb\nc\nx\ny\na\nb\nc\n";
    const result = run("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", { f: repeated });
    expect(result).toEqual({ ok: false, failures: [{ path: "f", hunk: 1, reason: expect.stringMatching(/ambiguous.*2 places.*lines 1, 6/) }] });
  });

  it("refuses a hunk whose removed line is not in the file", () => {
    const result = run([...HEADERS, ...HUNK_1.map((line) => line.replace("JSON.parse(text);", "JSON.parse(body);"))].join("\n"));
    expect(result).toEqual({ ok: false, failures: [{ path: "src/config.js", hunk: 1, reason: expect.stringMatching(/removes is not in the file: "const parsed = JSON.parse\(body\);"/) }] });
  });

  it("refuses a hunk with two stale context lines and names the closest place", () => {
    const stale = HUNK_1.map((line) => line.replace("loadConfig(path)", "loadConfig(file)").replace("readFile(path", "readFile(file"));
    const result = run([...HEADERS, ...stale].join("\n"));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.failures[0].reason).toMatch(/context not found; the closest place, line 3, differs in 2 of 5 lines/);
  });

  it("says when a hunk looks already applied", () => {
    const result = run([...HEADERS, ...HUNK_1].join("\n"), { "src/config.js": EXPECTED });
    expect(!result.ok && result.failures[0].reason).toMatch(/already applied/);
  });

  it("refuses a hunk that only adds lines to an existing file, since nothing places it", () => {
    const result = run("--- a/f\n+++ b/f\n@@ -2,0 +3,1 @@\n+new line\n", { f: "a\nb\n" });
    expect(!result.ok && result.failures[0]).toEqual({ path: "f", hunk: 1, reason: expect.stringMatching(/only adds lines/) });
  });

  it("refuses overlapping hunks", () => {
    const result = run("--- a/f\n+++ b/f\n@@ @@\n a\n-b\n+B\n c\n@@ @@\n b\n-c\n+C\n d\n", { f: "a\nb\nc\nd\n" });
    expect(!result.ok && result.failures).toEqual([{ path: "f", hunk: 2, reason: expect.stringMatching(/overlaps hunk 1/) }]);
  });

  it("reports every failing hunk and applies nothing: all files or none", () => {
    const good = "--- a/ok.txt\n+++ b/ok.txt\n@@ @@\n one\n-two\n+2\n three\n";
    const bad = "--- a/bad.txt\n+++ b/bad.txt\n@@ @@\n alpha\n-beta\n+BETA\n@@ @@\n gamma\n-missing\n+x\n@@ @@\n delta\n-epsilon\n+E\n";
    const result = run(good + bad, { "ok.txt": "one\ntwo\nthree\n", "bad.txt": "alpha\nbeta\ngamma\ndelta\nepsilon\n" });
    expect(result).toEqual({
      ok: false,
      failures: [{ path: "bad.txt", hunk: 2, reason: expect.stringMatching(/removes is not in the file: "missing"/) }],
    });
  });
});

describe("applyPatch: whole files", () => {
  it("creates a new file, and refuses to create one that exists", () => {
    const created = "diff --git a/n.ts b/n.ts\nnew file mode 100644\n--- /dev/null\n+++ b/n.ts\n@@ -0,0 +1,2 @@\n+x\n+y\n";
    expect(run(created, {})).toEqual({ ok: true, changes: [{ path: "n.ts", content: "x\ny\n" }], changedLines: 2 });
    expect(run(created, { "n.ts": "old\n" })).toEqual({ ok: false, failures: [{ path: "n.ts", hunk: null, reason: expect.stringMatching(/already exists/) }] });
  });

  it("creates a file the model marked with ordinary headers when its hunk only adds lines", () => {
    expect(run("--- a/n.ts\n+++ b/n.ts\n@@ -0,0 +1,2 @@\n+x\n+y\n", {})).toMatchObject({ ok: true, changes: [{ path: "n.ts", content: "x\ny\n" }] });
    expect(run("--- a/n.ts\n+++ b/n.ts\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n", {})).toEqual({
      ok: false,
      failures: [{ path: "n.ts", hunk: null, reason: "file not found" }],
    });
  });

  it("deletes a file only when the removed lines are its content", () => {
    const deletion = "diff --git a/d.ts b/d.ts\ndeleted file mode 100644\n--- a/d.ts\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n";
    expect(run(deletion, { "d.ts": "x\ny\n" })).toEqual({ ok: true, changes: [{ path: "d.ts", content: null }], changedLines: 2 });
    expect(run(deletion, { "d.ts": "x\ny\nz\n" }).ok).toBe(false);
    expect(run(deletion, {}).ok).toBe(false);
  });

  it("renames with changes", () => {
    const rename = "diff --git a/o.ts b/n.ts\nsimilarity index 90%\nrename from o.ts\nrename to n.ts\n--- a/o.ts\n+++ b/n.ts\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n";
    expect(run(rename, { "o.ts": "a\nb\nc\n" })).toEqual({
      ok: true,
      changes: [
        { path: "o.ts", content: null },
        { path: "n.ts", content: "a\nB\nc\n" },
      ],
      changedLines: 2,
    });
    expect(run(rename, { "o.ts": "a\nb\nc\n", "n.ts": "taken\n" }).ok).toBe(false);
  });

  it("refuses binary and symlink patches", () => {
    expect(run("diff --git a/i.png b/i.png\nBinary files a/i.png and b/i.png differ\n", { "i.png": "x" })).toMatchObject({ ok: false, failures: [{ reason: expect.stringMatching(/binary/) }] });
    expect(run("diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc\n", {})).toMatchObject({
      ok: false,
      failures: [{ reason: expect.stringMatching(/symlink/) }],
    });
  });

  it("places hunks in a large file by content", () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => (i % 10 === 0 ? "}" : `  value${i} = compute(${i});`));
    const diff = "--- a/big.js\n+++ b/big.js\n@@ -12,3 +12,3 @@\n   value77771 = compute(77771);\n-  value77772 = compute(77772);\n+  value77772 = compute(0);\n   value77773 = compute(77773);\n";
    const result = run(diff, { "big.js": `${lines.join("\n")}\n` });
    expect(result.ok).toBe(true);
    const content = result.ok ? result.changes[0].content! : "";
    expect(content.split("\n")[77772]).toBe("  value77772 = compute(0);");
    expect(content.length).toBe(lines.join("\n").length + 1 - "77772".length + 1);
  });
});

import { describe, expect, it } from "vitest";
import { PatchParseError, parsePatch, pathsToFetch, type PatchFile } from "../src/patch/index.js";

const BODY = [" one", "-two", "+TWO", " three"];
const LINES = [
  { kind: " ", text: "one" },
  { kind: "-", text: "two" },
  { kind: "+", text: "TWO" },
  { kind: " ", text: "three" },
];

function only(files: PatchFile[]): PatchFile {
  expect(files).toHaveLength(1);
  return files[0];
}

describe("parsePatch", () => {
  it("reads a git diff", () => {
    const file = only(
      parsePatch(["diff --git a/src/app.ts b/src/app.ts", "index 1234567..89abcde 100644", "--- a/src/app.ts", "+++ b/src/app.ts", "@@ -10,3 +10,3 @@ function f() {", ...BODY, ""].join("\n")),
    );
    expect(file).toEqual({
      oldPath: "src/app.ts",
      newPath: "src/app.ts",
      isNew: false,
      isDeleted: false,
      isBinary: false,
      isSymlink: false,
      isSubmodule: false,
      hunks: [{ oldStart: 10, anchor: "function f() {", lines: LINES }],
    });
  });

  it("keeps paths whole when the a/ b/ prefixes are missing", () => {
    expect(only(parsePatch(["--- src/app.ts", "+++ src/app.ts", "@@ -1,3 +1,3 @@", ...BODY].join("\n"))).newPath).toBe("src/app.ts");
    expect(only(parsePatch(["diff --git src/app.ts src/app.ts", "@@ -1,3 +1,3 @@", ...BODY].join("\n"))).newPath).toBe("src/app.ts");
    // A real top-level directory named "a" is not mistaken for a prefix when the other side has none.
    expect(only(parsePatch(["--- a/x.ts", "+++ a/x.ts", "@@ -1,3 +1,3 @@", ...BODY].join("\n"))).newPath).toBe("a/x.ts");
  });

  it("accepts hunk headers without line numbers", () => {
    for (const header of ["@@ @@", "@@", "@@ ... @@"]) {
      const text = ["--- a/x.ts", "+++ b/x.ts", header === "@@ ... @@" ? "@@ -1,3 +1,3 @@" : header, ...BODY].join("\n");
      expect(only(parsePatch(text)).hunks).toEqual([{ oldStart: header === "@@ ... @@" ? 1 : null, lines: LINES }]);
    }
  });

  it("reads a hunk with no @@ line straight after the file headers", () => {
    expect(only(parsePatch(["--- a/x.ts", "+++ b/x.ts", ...BODY].join("\n"))).hunks).toEqual([{ oldStart: null, lines: LINES }]);
  });

  it("reads hunk bodies by their lines when the counts are wrong", () => {
    const tooSmall = ["--- a/x.ts", "+++ b/x.ts", "@@ -1,1 +1,1 @@", ...BODY, "@@ -20,9 +20,2 @@", " four", "+five", " six"].join("\n");
    expect(only(parsePatch(tooSmall)).hunks).toEqual([
      { oldStart: 1, lines: LINES },
      { oldStart: 20, lines: [{ kind: " ", text: "four" }, { kind: "+", text: "five" }, { kind: " ", text: "six" }] },
    ]);
    const tooLarge = ["--- a/x.ts", "+++ b/x.ts", "@@ -1,9 +1,9 @@", ...BODY].join("\n");
    expect(only(parsePatch(tooLarge)).hunks[0].lines).toEqual(LINES);
  });

  it("takes the file name from diff --git, a lone ---/+++ line, or the caller when headers are missing", () => {
    expect(only(parsePatch(["diff --git a/src/x.ts b/src/x.ts", "@@ -1,3 +1,3 @@", ...BODY].join("\n"))).oldPath).toBe("src/x.ts");
    expect(only(parsePatch(["--- a/src/x.ts", "@@ -1,3 +1,3 @@", ...BODY].join("\n"))).newPath).toBe("src/x.ts");
    expect(only(parsePatch(["+++ b/src/x.ts", "@@ -1,3 +1,3 @@", ...BODY].join("\n"))).oldPath).toBe("src/x.ts");
    expect(only(parsePatch(["@@ -1,3 +1,3 @@", ...BODY].join("\n"), { defaultPath: "lib/y.js" })).newPath).toBe("lib/y.js");
    expect(() => parsePatch(["@@ -1,3 +1,3 @@", ...BODY].join("\n"))).toThrow(PatchParseError);
  });

  it("strips CR from CRLF diffs", () => {
    const file = only(parsePatch(["--- a/x.ts", "+++ b/x.ts", "@@ -1,3 +1,3 @@", ...BODY, ""].join("\r\n")));
    expect(file.hunks[0].lines).toEqual(LINES);
  });

  it("reads blank lines inside a hunk as blank context and drops blank separators after it", () => {
    const text = ["--- a/x.ts", "+++ b/x.ts", "@@ -1,4 +1,4 @@", " one", "", "-two", "+TWO", "", "", "@@ -9,1 +9,1 @@", "-nine", "+NINE", "", ""].join("\n");
    const file = only(parsePatch(text));
    expect(file.hunks[0].lines).toEqual([
      { kind: " ", text: "one" },
      { kind: " ", text: "" },
      { kind: "-", text: "two" },
      { kind: "+", text: "TWO" },
      { kind: " ", text: "" },
    ]);
    expect(file.hunks[1].lines).toEqual([
      { kind: "-", text: "nine" },
      { kind: "+", text: "NINE" },
    ]);
  });

  it("keeps a trailing blank line as context when the hunk's counts include it", () => {
    const text = ["--- a/x.ts", "+++ b/x.ts", "@@ -9,2 +9,2 @@", "-nine", "+NINE", "", ""].join("\n");
    expect(only(parsePatch(text)).hunks[0].lines).toEqual([
      { kind: "-", text: "nine" },
      { kind: "+", text: "NINE" },
      { kind: " ", text: "" },
    ]);
  });

  it("tells removed '-- x' / added '++ y' lines from file headers", () => {
    const text = ["--- a/notes.md", "+++ b/notes.md", "@@ -1,4 +1,4 @@", " a", "--- old rule", "+++ new rule", " b", ""].join("\n");
    expect(only(parsePatch(text)).hunks[0].lines).toEqual([
      { kind: " ", text: "a" },
      { kind: "-", text: "-- old rule" },
      { kind: "+", text: "++ new rule" },
      { kind: " ", text: "b" },
    ]);
  });

  it("reads new, deleted, renamed, binary and symlink files", () => {
    const created = only(parsePatch("diff --git a/n.ts b/n.ts\nnew file mode 100644\n--- /dev/null\n+++ b/n.ts\n@@ -0,0 +1,2 @@\n+x\n+y\n"));
    expect(created).toMatchObject({ oldPath: null, newPath: "n.ts", isNew: true, isDeleted: false });
    const deleted = only(parsePatch("diff --git a/d.ts b/d.ts\ndeleted file mode 100644\n--- a/d.ts\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"));
    expect(deleted).toMatchObject({ oldPath: "d.ts", newPath: null, isDeleted: true });
    const renamed = only(parsePatch("diff --git a/o.ts b/n.ts\nsimilarity index 100%\nrename from o.ts\nrename to n.ts\n"));
    expect(renamed).toMatchObject({ oldPath: "o.ts", newPath: "n.ts", hunks: [] });
    const binary = only(parsePatch("diff --git a/i.png b/i.png\nindex 1111111..2222222 100644\nBinary files a/i.png and b/i.png differ\n"));
    expect(binary).toMatchObject({ newPath: "i.png", isBinary: true });
    const link = only(parsePatch("diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+../../etc\n\\ No newline at end of file\n"));
    expect(link).toMatchObject({ newPath: "l", isSymlink: true });
  });

  it("records '\\ No newline at end of file' per side", () => {
    const text = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+B\n";
    expect(only(parsePatch(text)).hunks[0]).toMatchObject({ oldNoNewlineAtEnd: true });
    expect(only(parsePatch(text)).hunks[0].newNoNewlineAtEnd).toBeUndefined();
  });

  it("reads quoted names, names with spaces and timestamps", () => {
    expect(only(parsePatch('diff --git "a/sp ace.ts" "b/sp ace.ts"\n--- "a/sp ace.ts"\n+++ "b/sp ace.ts"\n@@ -1 +1 @@\n-a\n+b\n')).newPath).toBe("sp ace.ts");
    expect(only(parsePatch("diff --git a/sp ace.ts b/sp ace.ts\n@@ -1 +1 @@\n-a\n+b\n")).newPath).toBe("sp ace.ts");
    const stamped = "--- src/x.ts\t2024-01-01 10:00:00.000000000 +0000\n+++ src/x.ts\t2024-01-02 10:00:00.000000000 +0000\n@@ -1 +1 @@\n-a\n+b\n";
    expect(only(parsePatch(stamped)).newPath).toBe("src/x.ts");
  });

  it("merges sections that edit the same file and drops hunks that change nothing", () => {
    const text = [
      "--- a/x.ts", "+++ b/x.ts", "@@ -1,3 +1,3 @@", ...BODY,
      "--- a/x.ts", "+++ b/x.ts", "@@ -20,2 +20,2 @@", " same", " also same",
      "--- a/x.ts", "+++ b/x.ts", "@@ -40,1 +40,1 @@", "-old", "+new",
    ].join("\n");
    const file = only(parsePatch(text));
    expect(file.hunks.map((hunk) => hunk.oldStart)).toEqual([1, 40]);
  });

  it("refuses text that is not a diff, unreadable hunk headers and broken hunk bodies", () => {
    expect(() => parsePatch("hello\nthis is prose\n")).toThrow(/no diff found/);
    expect(() => parsePatch("--- a/x\n+++ b/x\n@@@ -1,2 -1,2 +1,3 @@@\n a\n")).toThrow(/unreadable hunk header/);
    // Dropping "-b"/"+c" after the stray line would apply half a hunk.
    expect(() => parsePatch("--- a/x\n+++ b/x\n@@ @@\n a\nfoo\n-b\n+c\n")).toThrow(/not a diff line/);
  });

  it("reads git's extended header lines only before a file's hunks, never from prose after them", () => {
    const text = "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\nnew file\ndeleted file mode 100644\ncopy from y\n";
    expect(only(parsePatch(text))).toMatchObject({ oldPath: "x", newPath: "x", isNew: false, isDeleted: false });
    expect(() => parsePatch("diff --git a/x b/y\ncopy from x\ncopy to y\n")).toThrow(/copies are not supported/);
  });

  it("ignores prose after a hunk whose counts are complete", () => {
    const text = "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\nThis fixes it because:\n- the value is now read later\n";
    expect(only(parsePatch(text)).hunks[0].lines).toHaveLength(4);
  });
});

describe("pathsToFetch", () => {
  it("lists files read and files created, once each", () => {
    const files = parsePatch(
      [
        "diff --git a/o.ts b/n.ts", "rename from o.ts", "rename to n.ts",
        "diff --git a/new.ts b/new.ts", "--- /dev/null", "+++ b/new.ts", "@@ -0,0 +1 @@", "+x",
        "--- a/o.ts", "+++ b/o.ts", "@@ -1 +1 @@", "-a", "+b",
      ].join("\n"),
    );
    expect(pathsToFetch(files)).toEqual(["o.ts", "n.ts", "new.ts"]);
  });
});

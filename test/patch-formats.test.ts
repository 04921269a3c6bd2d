import { describe, expect, it } from "vitest";
import {
  DEFAULT_SAFETY_RULES,
  applyPatch,
  checkPatchSafety,
  editFormatOfVariant,
  readEdits,
  renderChangesAsDiff,
  shownFilesFrom,
  type EditsRead,
} from "../src/patch/index.js";
import { readAnswerEdits } from "../src/patch/answer.js";

const APP = ["import { a } from './a'", "", "function first() {", "  const x = 1", "  return x", "}", "", "function second() {", "  const x = 1", "  return x", "}", ""].join("\n");
const UTIL = ["export function util() {", "  return 42", "}", ""].join("\n");
const SHOWN = { "src/app.ts": APP, "src/util.ts": UTIL };

function read(answer: string, shown: Record<string, string> = SHOWN): EditsRead {
  const result = readEdits(answer, { shown: shownFilesFrom(shown) });
  if (!result) throw new Error("no edits read");
  return result;
}

function applied(answer: string, shown: Record<string, string> = SHOWN): Record<string, string | null> {
  const result = applyPatch(read(answer, shown).files, shown);
  if (!result.ok) throw new Error(result.failures.map((f) => f.reason).join("; "));
  return Object.fromEntries(result.changes.map((change) => [change.path, change.content]));
}

function refusal(answer: string, shown: Record<string, string> = SHOWN): string {
  try {
    const result = applyPatch(read(answer, shown).files, shown);
    if (result.ok) return "applied";
    return result.failures.map((f) => f.reason).join("; ");
  } catch (error) {
    return (error as Error).message;
  }
}

describe("unified diffs without numbers", () => {
  const body = ["   const x = 1", "-  return x", "+  return x + 1", " }"];

  it("reads `@@ ... @@` and bare `@@`, and places the hunk by its lines", () => {
    const hunk = [" function second() {", ...body];
    for (const header of ["@@ ... @@", "@@", "@@ @@"]) {
      const answer = ["--- a/src/util.ts", "+++ b/src/util.ts", header, "   return 42", "-}", "+} // end"].join("\n");
      expect(read(answer).description).toBe("unified diff (hunks without line numbers)");
      expect(applied(answer)["src/util.ts"]).toBe(UTIL.replace("}\n", "} // end\n"));
    }
    const second = ["--- a/src/app.ts", "+++ b/src/app.ts", "@@ ... @@", ...hunk].join("\n");
    expect(applied(second)["src/app.ts"]).toBe(APP.replace("function second() {\n  const x = 1\n  return x", "function second() {\n  const x = 1\n  return x + 1"));
  });

  it("lets a `@@ function header @@` choose between places the lines fit equally, and refuses without it", () => {
    const withAnchor = (header: string) => ["--- a/src/app.ts", "+++ b/src/app.ts", header, ...body].join("\n");
    const result = applied(withAnchor("@@ function second() @@"))["src/app.ts"];
    expect(result).toBe(APP.replace(/(function second\(\) \{\n  const x = 1\n  return x)/, "$1 + 1"));
    expect(applied(withAnchor("@@ -8,4 +8,4 @@ function first() {"))["src/app.ts"]).toBe(APP.replace("return x\n", "return x + 1\n"));
    expect(refusal(withAnchor("@@ ... @@"))).toMatch(/ambiguous: the hunk's context matches 2 places/);
    // An anchor the file lacks decides nothing.
    expect(refusal(withAnchor("@@ function third() @@"))).toMatch(/ambiguous/);
  });
});

describe("hunks without a file name", () => {
  const hunk = ["@@ -1,3 +1,3 @@", " export function util() {", "-  return 42", "+  return 43", " }"].join("\n");

  it("go to the one shown file every hunk fits", () => {
    const result = read(hunk);
    expect(result.description).toBe("unified diff (file found by content: src/util.ts)");
    expect(applied(hunk)["src/util.ts"]).toBe(UTIL.replace("42", "43"));
    expect(read(`\`\`\`diff\n${hunk.replace("@@ -1,3 +1,3 @@", "@@")}\n\`\`\``).description).toBe(
      "unified diff (hunks without line numbers; file found by content: src/util.ts)",
    );
  });

  it("are refused, naming the candidates, when several or none fit", () => {
    const twin = { ...SHOWN, "lib/util.ts": UTIL };
    expect(refusal(hunk, twin)).toMatch(/ambiguous: hunks without a file name fit 2 files \(src\/util\.ts, lib\/util\.ts\)/);
    expect(refusal(hunk.replace("42", "41"))).toMatch(/fit none of the 2 file\(s\) they could belong to \(src\/app\.ts, src\/util\.ts\)/);
    expect(() => readEdits(hunk)).toThrow(/no files to match them against/);
  });

  it("take the file named in the prose or the fence label as their header", () => {
    const twin = { ...SHOWN, "lib/util.ts": UTIL };
    expect(Object.keys(applied(`In \`lib/util.ts\`:\n\`\`\`diff\n${hunk}\n\`\`\``, twin))).toEqual(["lib/util.ts"]);
    expect(Object.keys(applied(`\`\`\`diff lib/util.ts\n${hunk}\n\`\`\``, twin))).toEqual(["lib/util.ts"]);
  });
});

describe("apply_patch (V4A)", () => {
  it("updates with anchors, adds, deletes and moves files", () => {
    const answer = [
      "Here is the patch:",
      "```",
      "*** Begin Patch",
      "*** Update File: src/app.ts",
      "@@ function second() {",
      "   const x = 1",
      "-  return x",
      "+  return x * 2",
      " }",
      "*** Add File: src/new.ts",
      "+export const created = true",
      "*** Delete File: src/util.ts",
      "*** End Patch",
      "```",
    ].join("\n");
    const result = read(answer);
    expect(result.format).toBe("apply-patch");
    expect(result.description).toBe("apply_patch (V4A)");
    expect(applied(answer)).toEqual({
      "src/app.ts": APP.replace(/(function second\(\) \{\n  const x = 1\n  return x)/, "$1 * 2"),
      "src/new.ts": "export const created = true\n",
      "src/util.ts": null,
    });

    const move = ["*** Begin Patch", "*** Update File: src/util.ts", "*** Move to: lib/util.ts", "@@", "-  return 42", "+  return 7", "*** End Patch"].join("\n");
    expect(applied(move)).toEqual({ "src/util.ts": null, "lib/util.ts": UTIL.replace("42", "7") });
  });

  it("reads a markdown file's fence in a context line as context, not as the end of a fenced patch", () => {
    const readme = "# x\n\n```js\nold()\n```\n\ntail\n";
    const answer = "````\n*** Begin Patch\n*** Update File: README.md\n@@\n ```js\n-old()\n+fresh()\n ```\n \n-tail\n+end\n*** End Patch\n````\n";
    expect(applied(answer, { "README.md": readme })).toEqual({ "README.md": "# x\n\n```js\nfresh()\n```\n\nend\n" });
  });

  it("refuses lines without a prefix and sections without changes", () => {
    expect(refusal("*** Begin Patch\n*** Update File: src/util.ts\n@@\nexport function util() {\n-  return 42\n+  return 1\n*** End Patch")).toMatch(
      /is not a patch line/,
    );
    expect(refusal("*** Begin Patch\n*** Update File: src/util.ts\n*** End Patch")).toMatch(/with no changes/);
  });
});

describe("SEARCH/REPLACE blocks", () => {
  const block = (search: string, replace: string) => `<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE`;

  it("reads the path before the fence, inside it, or in its info string", () => {
    const search = "  return 42";
    const replace = "  return 42 + 1";
    const expected = UTIL.replace("return 42", "return 42 + 1");
    for (const answer of [
      `src/util.ts\n\`\`\`ts\n${block(search, replace)}\n\`\`\``,
      `\`\`\`ts\nsrc/util.ts\n${block(search, replace)}\n\`\`\``,
      `\`\`\`ts src/util.ts\n${block(search, replace)}\n\`\`\``,
      `**src/util.ts**\n${block(search, replace)}`,
    ]) {
      expect(read(answer).description).toBe("SEARCH/REPLACE blocks");
      expect(applied(answer)).toEqual({ "src/util.ts": expected });
    }
  });

  it("keeps shared lines as context, so limits count only what changes", () => {
    const answer = `src/app.ts\n${block("function first() {\n  const x = 1\n  return x", "function first() {\n  const x = 2\n  return x")}`;
    const files = read(answer).files;
    expect(files[0].hunks[0].lines.filter((line) => line.kind !== " ")).toHaveLength(2);
  });

  it("needs the SEARCH text to occur once, whitespace-tolerant", () => {
    expect(refusal(`src/app.ts\n${block("  const x = 1\n  return x", "  const x = 3\n  return x")}`)).toMatch(/ambiguous/);
    expect(applied(`src/util.ts\n${block("    return 42", "    return 0")}`)).toEqual({ "src/util.ts": UTIL.replace("42", "0") });
    expect(refusal(`src/util.ts\n<<<<<<< SEARCH\n  return 42\n>>>>>>> REPLACE`)).toMatch(/without its =======/);
  });

  it("creates a file from an empty SEARCH, and refuses one that would edit an existing file nowhere in particular", () => {
    expect(applied(`src/fresh.ts\n${block("", "export const y = 1")}`.replace("SEARCH\n\n=", "SEARCH\n="))).toEqual({ "src/fresh.ts": "export const y = 1\n" });
    expect(refusal(`src/util.ts\n<<<<<<< SEARCH\n=======\nexport const y = 1\n>>>>>>> REPLACE`)).toMatch(/no context to place it by/);
  });
});

describe("whole files", () => {
  const newUtil = UTIL.replace("42", "43");

  it("replace a shown file when the path labels the block, as a diff of only what changed", () => {
    const result = read(`src/util.ts\n\`\`\`ts\n${newUtil}\`\`\``);
    expect(result.format).toBe("whole-file");
    expect(result.files[0].hunks.flatMap((hunk) => hunk.lines.filter((line) => line.kind !== " "))).toHaveLength(2);
    expect(applied(`Here is the full updated file \`src/util.ts\`:\n\`\`\`ts\n${newUtil}\`\`\``)).toEqual({ "src/util.ts": newUtil });
  });

  it("are refused for files not shown, excerpts, elided code and partly shown files", () => {
    expect(refusal(`src/other.ts\n\`\`\`ts\n${newUtil}\`\`\``)).toMatch(/only for a file the model was shown/);
    expect(refusal(`src/app.ts\n\`\`\`ts\nfunction first() {\n  const x = 2\n}\n\`\`\``, { "src/app.ts": APP.repeat(2) })).toMatch(/looks like an excerpt/);
    expect(refusal(`src/app.ts\n\`\`\`ts\n${APP.replace("function second() {", "// ... rest of the file unchanged\nfunction second() {")}\`\`\``)).toMatch(
      /leaves code out/,
    );
    const partly = readAnswerEdits(`src/util.ts\n\`\`\`ts\n${newUtil}\`\`\``, [{ path: "src/util.ts", truncated: true }], SHOWN, null);
    expect(partly).toEqual({ refused: expect.stringMatching(/saw only an excerpt of/) });
  });

  it("are not read from an ordinary code block shown for explanation", () => {
    expect(readEdits("The function `util` in src/util.ts returns:\n```ts\nreturn 42\n```", { shown: shownFilesFrom(SHOWN) })).toBeNull();
  });
});

describe("removing every line of a file", () => {
  const removeAll = ["--- a/src/util.ts", "+++ b/src/util.ts", "@@ -1,3 +0,0 @@", "-export function util() {", "-  return 42", "-}"].join("\n");

  it("is refused as ambiguous unless the header or the answer says the file goes", () => {
    expect(refusal(removeAll)).toMatch(/ambiguous: the patch removes every line of the file without marking it deleted/);
    expect(applied(`\`src/util.ts\` is no longer used; delete it.\n\`\`\`diff\n${removeAll}\n\`\`\``)).toEqual({ "src/util.ts": null });
    expect(applied(removeAll.replace("+++ b/src/util.ts", "+++ /dev/null"))).toEqual({ "src/util.ts": null });
    expect(refusal(`src/util.ts\n<<<<<<< SEARCH\n${UTIL}=======\n>>>>>>> REPLACE`)).toMatch(/ambiguous/);
  });

  it("is not a deletion when the prose deletes something else", () => {
    expect(refusal(`Remove the unused import from \`src/app.ts\`.\n\`\`\`diff\n${removeAll}\n\`\`\``)).toMatch(/ambiguous/);
  });
});

describe("one context line missing", () => {
  it("is not placed where the hunk only fits with other indentation when it fits exactly, one line off, elsewhere", () => {
    // From a fast-uri test file: the model dropped "    }" from the hunk's context.
    const file = ["    )", "  }", "  t.end()", "})", "", "x", "      )", "    }", "  }", "  t.end()", "})", ""].join("\n");
    const answer = ["--- a/t.js", "+++ b/t.js", "@@ -7,5 +7,3 @@", "       )", "   }", "-  t.end()", "-})"].join("\n");
    expect(refusal(answer, { "t.js": file })).toMatch(/ambiguous/);
  });
});

describe("a short hunk with a context line missing", () => {
  const readme = ["# Title", "", "first distinctive sentence of the readme here.", "second line the model left out of its hunk.", "third distinctive sentence closes the section.", ""].join("\n");
  const hunk = ["--- a/README.md", "+++ b/README.md", "@@", " first distinctive sentence of the readme here.", " third distinctive sentence closes the section.", "+", "+A new paragraph."].join("\n");

  it("is placed when each of its lines occurs once in the file", () => {
    expect(applied(hunk, { "README.md": readme })).toEqual({ "README.md": readme.replace("section.\n", "section.\n\nA new paragraph.\n") });
  });

  it("is refused when one of its lines also occurs elsewhere", () => {
    const twice = readme + "third distinctive sentence closes the section.\n";
    expect(refusal(hunk, { "README.md": twice })).toMatch(/not found|ambiguous/);
  });
});

describe("one safety path for every format", () => {
  it("sees a workflow file edited through SEARCH/REPLACE, apply_patch or a whole file alike", () => {
    const workflow = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n";
    const shown = { ".github/workflows/ci.yml": workflow };
    for (const answer of [
      `.github/workflows/ci.yml\n<<<<<<< SEARCH\non: push\n=======\non: [push, pull_request]\n>>>>>>> REPLACE`,
      "*** Begin Patch\n*** Update File: .github/workflows/ci.yml\n@@\n-on: push\n+on: [push, pull_request]\n*** End Patch",
      `.github/workflows/ci.yml\n\`\`\`yaml\n${workflow.replace("on: push", "on: [push, pull_request]")}\`\`\``,
    ]) {
      const violations = checkPatchSafety(read(answer, shown).files, DEFAULT_SAFETY_RULES, shown);
      expect(violations.map((v) => v.rule)).toEqual(["workflow-file"]);
    }
  });
});

describe("formats of variants and the stored diff", () => {
  it("tells the format a variant asks for from its name", () => {
    expect(editFormatOfVariant("claude_sonnet_4_5_search_replace_v2")).toBe("search-replace");
    expect(editFormatOfVariant("gpt_5_mini_apply_patch_v1")).toBe("apply-patch");
    expect(editFormatOfVariant("gpt_5_mini_v1")).toBe("unified-diff");
    expect(editFormatOfVariant(null)).toBeNull();
  });

  it("renders applied changes as a diff git can apply", () => {
    const shown = { "src/util.ts": UTIL };
    const result = applyPatch(read(`src/util.ts\n<<<<<<< SEARCH\n  return 42\n=======\n  return 0\n>>>>>>> REPLACE`, shown).files, shown);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(renderChangesAsDiff(result.changes, shown)).toBe(
      "diff --git a/src/util.ts b/src/util.ts\n--- a/src/util.ts\n+++ b/src/util.ts\n@@ -1,3 +1,3 @@\n export function util() {\n-  return 42\n+  return 0\n }\n",
    );
  });
});

describe("TensorZero variants and the formats they ask for", () => {
  const ASKS: Record<string, RegExp> = {
    "unified-diff": /unified diff/,
    "search-replace": /<<<<<<< SEARCH[\s\S]*=======[\s\S]*>>>>>>> REPLACE/,
    "apply-patch": /\*\*\* Begin Patch/,
    "whole-file": /whole file|entire file/i,
  };

  it("has a SEARCH/REPLACE variant beside the unified-diff ones, each template asking for its variant's format", async () => {
    const { readTensorZeroConfig, DEFAULT_TENSORZERO_CONFIG_PATH } = await import("../src/tensorzero/config.js");
    const { readFileSync } = await import("node:fs");
    const { dirname, join } = await import("node:path");
    const fn = (await readTensorZeroConfig()).functions.find((f) => f.name === "fixloop_patch")!;
    const formats = fn.variants.map((variant) => editFormatOfVariant(variant.name));
    expect(formats).toContain("search-replace");
    expect(formats).toContain("unified-diff");
    for (const variant of fn.variants) {
      const format = editFormatOfVariant(variant.name)!;
      const system = readFileSync(join(dirname(DEFAULT_TENSORZERO_CONFIG_PATH), variant.templatePaths.system), "utf8");
      expect(system, variant.name).toMatch(ASKS[format]);
      for (const [other, pattern] of Object.entries(ASKS)) if (other !== format && other !== "whole-file") expect(system, `${variant.name} asks for ${other}`).not.toMatch(pattern);
    }
    expect(fn.experimentation!.candidateVariants).toContain("claude_sonnet_4_5_search_replace_v2");
  });
});

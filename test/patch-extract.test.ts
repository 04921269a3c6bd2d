import { describe, expect, it } from "vitest";
import { extractDiff, parsePatch } from "../src/patch/index.js";

const DIFF = ["--- a/src/app.ts", "+++ b/src/app.ts", "@@ -1,3 +1,3 @@", " one", "-two", "+TWO", " three", ""].join("\n");

describe("extractDiff", () => {
  it("takes a ```diff block out of prose", () => {
    const answer = `The value is read too early. Here is the fix:\n\n\`\`\`diff\n${DIFF}\`\`\`\n\n- It moves the read.\n- Nothing else changes.\n`;
    expect(extractDiff(answer)).toBe(DIFF);
  });

  it("takes an unlabelled fence whose content is a diff, and ignores code blocks that are not diffs", () => {
    const answer = `The old code:\n\n\`\`\`ts\nconst x = 1;\n\`\`\`\n\nThe patch:\n\n\`\`\`\n${DIFF}\`\`\`\n`;
    expect(extractDiff(answer)).toBe(DIFF);
  });

  it("joins several diff blocks (one per file)", () => {
    const second = DIFF.replace(/src\/app\.ts/g, "src/other.ts");
    const answer = `First:\n\`\`\`diff\n${DIFF}\`\`\`\nThen:\n\`\`\`diff\n${second}\`\`\`\n`;
    expect(extractDiff(answer)).toBe(`${DIFF}${second}`);
  });

  it("finds a bare diff after prose and keeps everything from its first header", () => {
    expect(extractDiff(`Apply this:\n${DIFF}`)).toBe(DIFF);
    expect(extractDiff(`diff --git a/src/app.ts b/src/app.ts\n${DIFF}`)).toBe(`diff --git a/src/app.ts b/src/app.ts\n${DIFF}`);
  });

  it("returns null when the answer holds no diff", () => {
    expect(extractDiff("I could not find the cause of the failure.")).toBeNull();
    expect(extractDiff("```ts\nconst a = 1;\n```")).toBeNull();
    expect(extractDiff("")).toBeNull();
  });

  it("normalises CRLF answers", () => {
    expect(extractDiff(`Fix:\r\n\`\`\`diff\r\n${DIFF.replace(/\n/g, "\r\n")}\`\`\`\r\n`)).toBe(DIFF);
  });

  it("keeps a markdown file's fences that appear as diff lines, fenced or bare", () => {
    const markdownDiff = ["--- a/README.md", "+++ b/README.md", "@@ -1,4 +1,4 @@", " ```js", "-old()", "+fresh()", " ```", ""].join("\n");
    expect(extractDiff(`Fix the example:\n\n\`\`\`diff\n${markdownDiff}\`\`\`\n`)).toBe(markdownDiff);
    expect(extractDiff(markdownDiff)).toBe(markdownDiff);
    expect(extractDiff(`Fix the example:\n\n\`\`\`\`diff\n${markdownDiff.replace(" ```js", "+```js")}\`\`\`\`\n`)).toBe(
      markdownDiff.replace(" ```js", "+```js"),
    );
  });

  it("names the file of a hunks-only block from the prose above it", () => {
    const hunks = "@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n";
    const diff = extractDiff(`Here is the fix for \`src/app.ts\`:\n\n\`\`\`diff\n${hunks}\`\`\`\n`);
    expect(diff).toBe(`--- a/src/app.ts\n+++ b/src/app.ts\n${hunks}`);
    expect(parsePatch(diff!)[0].newPath).toBe("src/app.ts");
  });

  it("names the file of a hunks-only block from the fence's info string", () => {
    const hunks = "@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n";
    expect(extractDiff(`\`\`\`diff src/app.ts\n${hunks}\`\`\`\n`)).toBe(`--- a/src/app.ts\n+++ b/src/app.ts\n${hunks}`);
    expect(extractDiff(`\`\`\`diff title="lib/x.js"\n${hunks}\`\`\`\n`)).toBe(`--- a/lib/x.js\n+++ b/lib/x.js\n${hunks}`);
  });

  it("does not guess when the prose names several files", () => {
    const hunks = "@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n";
    const diff = extractDiff(`This touches \`src/a.ts\` and \`src/b.ts\`:\n\`\`\`diff\n${hunks}\`\`\`\n`);
    expect(diff).toBe(hunks);
    expect(() => parsePatch(diff!)).toThrow(/without a file name/);
  });
});

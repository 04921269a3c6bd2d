import { describe, expect, test } from "vitest";
import { branchOfRef, commitFromApi, pushedCommitsFromPayload, type PushedCommit } from "../src/outcomes/commits.js";
import { demonstrationValue, diffsDiffer, normalisedChanges } from "../src/outcomes/diffs.js";
import { downstreamTouch, heldUpVerdict, isFixOwnCommit, outcomeWindowDays, touchesFiles, windowEnd, type MergedFix } from "../src/outcomes/touches.js";
import { fixture } from "./helpers.js";
import { FIX_SHA, INFERENCE_ID, MERGE_SHA, MODEL_DIFF } from "./outcomes-setup.js";

describe("pushed commits", () => {
  test("from a push payload: sha, message, author, UTC timestamp, modified+added+removed once each", () => {
    const commits = pushedCommitsFromPayload(fixture("push.main.touches.json"));
    expect(commits).toHaveLength(4);
    expect(commits[2]).toEqual({
      sha: "3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f",
      message: "lexer: split number tokens; parser follows",
      authorLogin: "octodev",
      authorEmail: "octodev@acme.example",
      timestamp: "2024-05-22T08:05:00.000Z",
      files: ["src/lexer.ts", "src/parser.ts"],
    });
    const payload = {
      commits: [
        { id: "ABCDEF1234567", message: "x", timestamp: "2024-05-22T10:05:00+02:00", author: { email: "a@b.c" }, added: ["n.ts"], modified: ["m.ts"], removed: ["m.ts", "r.ts"] },
        { id: "abcdef7654321", message: "no time" },
      ],
    };
    expect(pushedCommitsFromPayload(payload)).toEqual([
      { sha: "abcdef1234567", message: "x", authorLogin: null, authorEmail: "a@b.c", timestamp: "2024-05-22T08:05:00.000Z", files: ["m.ts", "n.ts", "r.ts"] },
    ]);
    // Payloads from Actions carry no file lists; a malformed payload yields nothing rather than a throw.
    expect(pushedCommitsFromPayload({ commits: [{ id: "abcdef1234567", message: "m", timestamp: "2024-05-22T08:05:00Z" }] })[0].files).toEqual([]);
    expect(pushedCommitsFromPayload({ commits: "nope" })).toEqual([]);
  });

  test("from the REST listing: committer date, the listed paths", () => {
    const commit = commitFromApi(
      {
        sha: "ABC1234567",
        commit: { message: "m", author: { email: "a@b.c", date: "2024-05-01T00:00:00Z" }, committer: { date: "2024-05-02T00:00:00Z" } },
        author: { login: "octo" },
      },
      ["src/a.ts", "src/a.ts"],
    );
    expect(commit).toEqual({ sha: "abc1234567", message: "m", authorLogin: "octo", authorEmail: "a@b.c", timestamp: "2024-05-02T00:00:00.000Z", files: ["src/a.ts"] });
  });

  test("branch refs", () => {
    expect(branchOfRef("refs/heads/feature/x")).toBe("feature/x");
    expect(branchOfRef("refs/tags/v1.0")).toBeNull();
  });
});

describe("downstream touch rules", () => {
  const fix: MergedFix = {
    mergedAt: "2024-05-10T12:00:00.000Z",
    mergeCommitSha: MERGE_SHA,
    headSha: FIX_SHA,
    fixCommitSha: FIX_SHA,
    inferenceId: INFERENCE_ID,
    files: ["src/parser.ts", "src/lexer.ts"],
  };
  const at = (timestamp: string, files: string[], extra: Partial<PushedCommit> = {}): PushedCommit => ({
    sha: "1234567890abcdef1234567890abcdef12345678",
    message: "follow-up",
    authorLogin: "octodev",
    authorEmail: null,
    timestamp,
    files,
    ...extra,
  });

  test("touchesFiles: the fix's files among the commit's, once", () => {
    expect(touchesFiles(["README.md", "src/parser.ts", "src/parser.ts"], fix.files)).toEqual(["src/parser.ts"]);
    expect(touchesFiles(["src/parser.test.ts"], fix.files)).toEqual([]);
  });

  test("counted only after the merge and within the window", () => {
    expect(windowEnd(fix.mergedAt, 30)).toBe("2024-06-09T12:00:00.000Z");
    expect(downstreamTouch(at("2024-05-12T00:00:00.000Z", ["src/lexer.ts"]), fix, 30)).toEqual(["src/lexer.ts"]);
    expect(downstreamTouch(at("2024-06-09T12:00:00.000Z", ["src/parser.ts"]), fix, 30)).toEqual(["src/parser.ts"]);
    expect(downstreamTouch(at("2024-06-09T12:00:01.000Z", ["src/parser.ts"]), fix, 30)).toEqual([]);
    expect(downstreamTouch(at("2024-05-10T12:00:00.000Z", ["src/parser.ts"]), fix, 30)).toEqual([]);
    expect(downstreamTouch(at("2024-05-09T00:00:00.000Z", ["src/parser.ts"]), fix, 30)).toEqual([]);
  });

  test("the fix's own commits and its reverts are not downstream touches", () => {
    const later = "2024-05-11T00:00:00.000Z";
    expect(downstreamTouch(at(later, ["src/parser.ts"], { sha: MERGE_SHA }), fix, 30)).toEqual([]);
    // A rebase merge: new SHAs, but the push that carries them ends at the merge commit.
    expect(downstreamTouch(at(later, ["src/parser.ts"]), fix, 30, MERGE_SHA)).toEqual([]);
    // A cherry-pick of fixloop's commit keeps the inference id in its message.
    expect(isFixOwnCommit({ sha: "feedface00", message: `fixloop: fix CI\n\nTensorZero inference ${INFERENCE_ID}, variant x.` }, fix)).toBe(true);
    expect(downstreamTouch(at(later, ["src/parser.ts"], { message: `Revert\n\nThis reverts commit ${FIX_SHA.slice(0, 9)}.` }), fix, 30)).toEqual([]);
    expect(downstreamTouch(at(later, ["src/parser.ts"], { message: "This reverts commit 0badc0ffee." }), fix, 30)).toEqual(["src/parser.ts"]);
  });

  test("window length from FIXLOOP_OUTCOME_WINDOW_DAYS", () => {
    expect(outcomeWindowDays({})).toBe(30);
    expect(outcomeWindowDays({ FIXLOOP_OUTCOME_WINDOW_DAYS: "14" })).toBe(14);
    expect(() => outcomeWindowDays({ FIXLOOP_OUTCOME_WINDOW_DAYS: "-3" })).toThrow(/positive/);
  });
});

describe("held-up verdict", () => {
  const base = { mergedAt: "2024-05-10T12:00:00.000Z", revertedAt: null, refixedAt: null, windowDays: 30 };
  test("pending inside the window, true after it, false as soon as a revert or a new fix is known", () => {
    expect(heldUpVerdict({ ...base, now: new Date("2024-06-01T00:00:00Z") }).verdict).toBeNull();
    expect(heldUpVerdict({ ...base, now: new Date("2024-06-09T12:00:00Z") }).verdict).toBe(true);
    expect(heldUpVerdict({ ...base, revertedAt: "2024-05-16T11:20:00.000Z", now: new Date("2024-05-17T00:00:00Z") })).toEqual({
      verdict: false,
      reason: "reverted at 2024-05-16T11:20:00.000Z",
    });
    expect(heldUpVerdict({ ...base, refixedAt: "2024-05-25T08:00:00.000Z", now: new Date("2024-05-26T00:00:00Z") }).verdict).toBe(false);
    // A revert after the window does not undo a fix that held up for it.
    expect(heldUpVerdict({ ...base, revertedAt: "2024-07-01T00:00:00.000Z", now: new Date("2024-07-02T00:00:00Z") }).verdict).toBe(true);
  });
});

describe("edited merges", () => {
  test("normalised changes: per file, removed and added lines trimmed, headers and context ignored", () => {
    expect(normalisedChanges(MODEL_DIFF)).toEqual(new Map([["src/parser.ts", { removed: ["const depth = token.value;"], added: ["const depth = Number(token.value);"] }]]));
  });

  test("the same change rendered differently is not an edit; other lines or other files are", () => {
    const rendered = `diff --git a/src/parser.ts b/src/parser.ts\nindex 1..2 100644\n--- a/src/parser.ts\n+++ b/src/parser.ts\n@@ -13,1 +13,1 @@\n-\tconst depth = token.value;\n+\tconst depth = Number(token.value);\n`;
    expect(diffsDiffer(MODEL_DIFF, rendered)).toBe(false);
    expect(diffsDiffer(MODEL_DIFF, rendered.replace("Number(token.value)", "parseInt(token.value, 10)"))).toBe(true);
    const withTest = `${rendered}diff --git a/test/parser.test.ts b/test/parser.test.ts\n--- a/test/parser.test.ts\n+++ b/test/parser.test.ts\n@@ -1,1 +1,2 @@\n import { parse } from "../src/parser";\n+// depth is numeric\n`;
    expect(diffsDiffer(MODEL_DIFF, withTest)).toBe(true);
    expect(diffsDiffer("no diff here at all", rendered)).toBe(true);
  });

  test("demonstration: explanation then one diff block, as content blocks", () => {
    expect(demonstrationValue("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b", "Use b.")).toEqual([{ type: "text", text: "Use b.\n\n```diff\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n```" }]);
    expect(demonstrationValue("d\n", null)).toEqual([{ type: "text", text: "```diff\nd\n```" }]);
  });
});

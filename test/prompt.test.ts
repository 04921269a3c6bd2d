import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CHARS_PER_TOKEN,
  MAX_ERROR_LINES,
  PROMPT_VERSION,
  buildPatchRequestArguments,
  buildPatchSystemArguments,
  estimatePromptChars,
  estimatePromptTokens,
  fairShares,
  type PatchPromptInput,
} from "../src/fix/prompt.js";

const userSchema = JSON.parse(readFileSync(new URL("../tensorzero/functions/fixloop_patch/user_schema.json", import.meta.url), "utf8")) as {
  properties: Record<string, { properties?: Record<string, unknown>; items?: { properties: Record<string, unknown>; required: string[] } }>;
  required: string[];
  additionalProperties: boolean;
};
const systemSchema = JSON.parse(readFileSync(new URL("../tensorzero/functions/fixloop_patch/system_schema.json", import.meta.url), "utf8")) as {
  properties: Record<string, unknown>;
  required: string[];
};

function lines(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, i) => `${prefix} ${i + 1}`).join("\n") + "\n";
}

const BASE: PatchPromptInput = {
  repo: "acme/widgets",
  workflow: "CI",
  job: "build (20.x)",
  failingStep: "Run npm test",
  failureClass: "test",
  errorLines: ["src/sum.test.ts:4:10 AssertionError: expected 3 to be 4"],
  logExcerpt: "> vitest run\nFAIL src/sum.test.ts\n",
  files: [
    { path: "src/sum.ts", content: "export const sum = (a: number, b: number) => a - b;\n" },
    { path: "src/sum.test.ts", content: "expect(sum(1, 3)).toBe(4);\n", startLine: 4, truncated: true },
  ],
  attempt: 1,
  maxAttempts: 3,
};

describe("buildPatchRequestArguments", () => {
  it("maps the input to the user schema's snake_case arguments unchanged when it fits", () => {
    expect(buildPatchRequestArguments(BASE)).toEqual({
      repo: "acme/widgets",
      workflow: "CI",
      job: "build (20.x)",
      failing_step: "Run npm test",
      failure_class: "test",
      error_lines: ["src/sum.test.ts:4:10 AssertionError: expected 3 to be 4"],
      log_excerpt: "> vitest run\nFAIL src/sum.test.ts\n",
      files: [
        { path: "src/sum.ts", content: "export const sum = (a: number, b: number) => a - b;\n", start_line: 1, truncated: false },
        { path: "src/sum.test.ts", content: "expect(sum(1, 3)).toBe(4);\n", start_line: 4, truncated: true },
      ],
      attempt: 1,
      max_attempts: 3,
    });
    expect(PROMPT_VERSION).toBe("v2");
  });

  it("produces exactly the keys the JSON schema declares, with every required key present", () => {
    const files = BASE.files.map((file) => ({ ...file, why: "innermost project frame of the failure" }));
    const args = buildPatchRequestArguments({
      ...BASE,
      files,
      attempt: 2,
      previousAttempt: { diff: "--- a/x\n+++ b/x\n", error: "still red" },
      sameFailureJobs: ["test (node 22)"],
      repoInstructions: [{ source: "AGENTS.md", content: "Run npm test.", truncated: false }],
      personHint: { author: "octodev", text: "keep empty fields" },
    });
    expect(Object.keys(args).sort()).toEqual(Object.keys(userSchema.properties).sort());
    expect(Object.keys(args.repo_instructions![0]).sort()).toEqual(Object.keys(userSchema.properties.repo_instructions.items!.properties).sort());
    expect(Object.keys(args.person_hint!).sort()).toEqual(Object.keys(userSchema.properties.person_hint.properties!).sort());
    // The arguments added in v2 are optional and left out when empty: a v1 template never sees them.
    for (const key of ["same_failure_jobs", "repo_instructions", "person_hint"]) {
      expect(userSchema.required).not.toContain(key);
      expect(buildPatchRequestArguments(BASE)).not.toHaveProperty(key);
    }
    for (const key of userSchema.required) expect(args).toHaveProperty(key);
    expect(userSchema.additionalProperties).toBe(false);
    expect(Object.keys(args.files[0]).sort()).toEqual(Object.keys(userSchema.properties.files.items!.properties).sort());
    expect(Object.keys(args.previous_attempt!).sort()).toEqual(Object.keys(userSchema.properties.previous_attempt.properties!).sort());
    // previous_attempt is optional: absent on attempt 1, so the template's `is defined` check holds.
    expect(userSchema.required).not.toContain("previous_attempt");
    expect(buildPatchRequestArguments(BASE)).not.toHaveProperty("previous_attempt");
    // why is optional too: a file shown without a reason carries no key.
    expect(userSchema.properties.files.items!.required).not.toContain("why");
    expect(buildPatchRequestArguments(BASE).files[0]).not.toHaveProperty("why");
  });

  it("rejects input that does not make sense", () => {
    expect(() => buildPatchRequestArguments({ ...BASE, repo: "widgets" })).toThrow(/owner\/name/);
    expect(() => buildPatchRequestArguments({ ...BASE, attempt: 4 })).toThrow(/maxAttempts/);
    expect(() => buildPatchRequestArguments({ ...BASE, previousAttempt: { diff: "d", error: "e" } })).toThrow(/attempt 2/);
    expect(() => buildPatchRequestArguments({ ...BASE, files: [{ path: "", content: "" }] })).toThrow();
    expect(() => buildPatchRequestArguments(BASE, { tokenBudget: 0 })).toThrow(RangeError);
  });

  it("normalises a missing failing step to null and caps error lines", () => {
    const many = Array.from({ length: 200 }, (_, i) => `error ${i} ${"y".repeat(i === 0 ? 2_000 : 10)}`);
    const args = buildPatchRequestArguments({ ...BASE, failingStep: undefined, errorLines: many });
    expect(args.failing_step).toBeNull();
    expect(args.error_lines).toHaveLength(MAX_ERROR_LINES);
    expect(args.error_lines[0].length).toBe(500);
    expect(args.error_lines[0].endsWith("…")).toBe(true);
  });

  it("shrinks files and log to the token budget at line boundaries, keeping small pieces whole", () => {
    const big: PatchPromptInput = {
      ...BASE,
      logExcerpt: lines("log line", 4_000) + "FAIL src/sum.test.ts\n",
      files: [
        { path: "src/small.ts", content: "export const small = 1;\n" },
        { path: "src/big.ts", content: lines("const big =", 5_000), startLine: 10 },
        { path: "src/huge.ts", content: lines("const huge =", 9_000) },
      ],
    };
    const budget = 4_000;
    const args = buildPatchRequestArguments(big, { tokenBudget: budget });

    expect(estimatePromptChars(args)).toBeLessThanOrEqual(budget * CHARS_PER_TOKEN);
    expect(estimatePromptTokens(args)).toBeLessThanOrEqual(budget);
    // Used most of the room: shrinking is not throwing data away needlessly.
    expect(estimatePromptChars(args)).toBeGreaterThan(budget * CHARS_PER_TOKEN * 0.9);

    const [small, bigFile, huge] = args.files;
    expect(small).toEqual({ path: "src/small.ts", content: "export const small = 1;\n", start_line: 1, truncated: false });
    for (const [file, original] of [
      [bigFile, big.files[1].content],
      [huge, big.files[2].content],
    ] as const) {
      expect(file.truncated).toBe(true);
      expect(file.content.length).toBeGreaterThan(0);
      expect(original.startsWith(file.content)).toBe(true);
      expect(file.content.endsWith("\n")).toBe(true);
    }
    expect(bigFile.start_line).toBe(10);
    // Large pieces get equal shares.
    expect(Math.abs(bigFile.content.length - huge.content.length)).toBeLessThan(40);

    // The log keeps its tail, where the failure is, and says what was cut.
    expect(args.log_excerpt.endsWith("FAIL src/sum.test.ts\n")).toBe(true);
    expect(args.log_excerpt).toMatch(/^\[… \d+ earlier log line\(s\) cut\]\n/);
    const firstKept = args.log_excerpt.split("\n")[1];
    expect(firstKept).toMatch(/^log line \d+$/);
  });

  it("gives a smaller budget smaller arguments (the context-length retry relies on this)", () => {
    const big: PatchPromptInput = { ...BASE, logExcerpt: lines("log", 3_000), files: [{ path: "a.ts", content: lines("code", 3_000) }] };
    const full = buildPatchRequestArguments(big, { tokenBudget: 8_000 });
    const half = buildPatchRequestArguments(big, { tokenBudget: 4_000 });
    expect(estimatePromptChars(half)).toBeLessThan(estimatePromptChars(full));
    expect(estimatePromptChars(half)).toBeLessThanOrEqual(4_000 * CHARS_PER_TOKEN);
  });

  it("shrinks the previous attempt with a visible marker", () => {
    const args = buildPatchRequestArguments(
      {
        ...BASE,
        attempt: 2,
        logExcerpt: lines("log", 2_000),
        previousAttempt: { diff: lines("+added", 3_000), error: "Error: still failing\n" },
      },
      { tokenBudget: 2_000 },
    );
    expect(args.previous_attempt!.error).toBe("Error: still failing\n");
    expect(args.previous_attempt!.diff).toMatch(/^\+added 1\n/);
    expect(args.previous_attempt!.diff).toMatch(/\[… diff cut: \d+ more line\(s\)\]$/);
    expect(estimatePromptChars(args)).toBeLessThanOrEqual(2_000 * CHARS_PER_TOKEN);
  });

  it("drops trailing error lines only when the fixed fields alone exceed the budget", () => {
    const args = buildPatchRequestArguments(
      { ...BASE, errorLines: Array.from({ length: 50 }, (_, i) => `error ${i} ${"z".repeat(300)}`) },
      { tokenBudget: 1_000 },
    );
    expect(args.error_lines.length).toBeGreaterThan(0);
    expect(args.error_lines.length).toBeLessThan(50);
    expect(args.error_lines[0]).toMatch(/^error 0 /);
    expect(estimatePromptChars(args)).toBeLessThanOrEqual(1_000 * CHARS_PER_TOKEN);
  });
});

describe("fairShares", () => {
  it("lets small pieces keep their size and splits the rest evenly", () => {
    expect(fairShares([10, 1_000, 1_000], 610)).toEqual([10, 300, 300]);
    expect(fairShares([10, 20], 1_000)).toEqual([10, 20]);
    expect(fairShares([500, 100, 500], 300)).toEqual([100, 100, 100]);
    expect(fairShares([], 100)).toEqual([]);
    expect(fairShares([5], -3)).toEqual([0]);
  });
});

describe("buildPatchSystemArguments", () => {
  it("matches the system schema", () => {
    const args = buildPatchSystemArguments({ maxFiles: 3, maxChangedLines: 150, protectedPaths: [".github/workflows/**", "**/package-lock.json"] });
    expect(args).toEqual({ max_files: 3, max_changed_lines: 150, protected_paths: [".github/workflows/**", "**/package-lock.json"] });
    expect(Object.keys(args).sort()).toEqual(Object.keys(systemSchema.properties).sort());
    expect([...systemSchema.required].sort()).toEqual(Object.keys(args).sort());
    expect(() => buildPatchSystemArguments({ maxFiles: 0, maxChangedLines: 1, protectedPaths: [] })).toThrow();
  });
});

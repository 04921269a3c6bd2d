import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FLAWS, buildCorpus, findSourceFiles } from "../bench/patch-corpus.js";
import { applyPatch, parsePatch } from "../src/patch/index.js";

const NODE_MODULES = fileURLToPath(new URL("../node_modules", import.meta.url));

describe("bench corpus", () => {
  const sources = findSourceFiles(NODE_MODULES, 60);

  it("is built from real files, the same for the same seed", () => {
    expect(sources.length).toBe(60);
    const first = buildCorpus(sources, 5, 7);
    const again = buildCorpus(sources, 5, 7);
    const other = buildCorpus(sources, 5, 8);
    expect(again.cases).toEqual(first.cases);
    expect(other.cases).not.toEqual(first.cases);
  });

  it("has every flaw, real edits, and refusal cases without an expected file", () => {
    const { cases } = buildCorpus(sources, 5, 7);
    expect(cases).toHaveLength(FLAWS.length * 5);
    for (const testCase of cases) {
      if (testCase.flaw.startsWith("refuse-")) expect(testCase.expected, testCase.id).toBeNull();
      else expect(testCase.expected, testCase.id).not.toBe(testCase.original);
    }
  });

  it("renders clean diffs that produce the expected file", () => {
    const { cases } = buildCorpus(sources, 20, 11);
    for (const testCase of cases.filter((c) => c.flaw === "clean")) {
      const result = applyPatch(parsePatch(testCase.answer), { [testCase.path]: testCase.original });
      expect(result.ok && result.changes[0].content, testCase.id).toBe(testCase.expected);
    }
  });
});

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildCorpus, createRandom, findSourceFiles } from "../bench/patch-corpus.js";
import { PatchParseError, applyPatch, extractDiff, parsePatch, type PatchHunk } from "../src/patch/index.js";

const NODE_MODULES = fileURLToPath(new URL("../node_modules", import.meta.url));

/**
 * Damage to a correct diff that leaves its meaning alone: the right file or a
 * refusal are both fine, any other file is a silent wrong result. Damage that
 * turns a hunk into a verbatim copy of another place in the file is skipped:
 * that diff is a correct diff for the other place, and taken literally.
 */
const isContext = (line: string | undefined): boolean => line !== undefined && line.startsWith(" ");

/** Each perturbation yields every damaged variant of a diff (one per place the damage fits). */
const PERTURBATIONS: Record<string, (lines: string[], pick: (n: number) => number) => string[][]> = {
  "duplicated context line": (lines) =>
    lines.flatMap((line, at) => (isContext(line) ? [[...lines.slice(0, at + 1), line, ...lines.slice(at + 1)]] : [])),
  "context line dropped between context lines": (lines) =>
    lines.flatMap((line, at) =>
      isContext(line) && isContext(lines[at - 1]) && isContext(lines[at + 1]) ? [[...lines.slice(0, at), ...lines.slice(at + 1)]] : [],
    ),
  "two context lines swapped": (lines) =>
    lines.flatMap((line, at) =>
      isContext(line) && isContext(lines[at + 1]) ? [[...lines.slice(0, at), lines[at + 1], line, ...lines.slice(at + 2)]] : [],
    ),
  "two context lines stale": (lines, pick) => {
    const context = lines.flatMap((line, i) => (isContext(line) && line.trim() !== "" ? [i] : []));
    if (context.length < 2) return [];
    return Array.from({ length: 5 }, () => {
      const out = [...lines];
      for (let k = 0; k < 2; k++) out[context[pick(context.length)]] += " /* as the model remembers it */";
      return out;
    });
  },
};

function oldSide(hunk: PatchHunk): string {
  return hunk.lines.filter((line) => line.kind !== "+").map((line) => line.text).join("\n");
}

describe("perturbed diffs never produce a wrong file", () => {
  const { cases } = buildCorpus(findSourceFiles(NODE_MODULES), 300, 3);
  const clean = cases.filter((c) => c.flaw === "clean");
  const random = createRandom(17);
  const pick = (n: number): number => Math.floor(random() * n);

  for (const [name, perturb] of Object.entries(PERTURBATIONS)) {
    it(name, () => {
      let applied = 0;
      let tried = 0;
      for (const testCase of clean) {
        for (const damaged of perturb(testCase.answer.split("\n"), pick)) {
        try {
          const files = parsePatch(extractDiff(damaged.join("\n"))!);
          const intact = new Set(parsePatch(testCase.answer)[0].hunks.map(oldSide));
          if (files[0].hunks.some((hunk) => !intact.has(oldSide(hunk)) && `\n${testCase.original}`.includes(`\n${oldSide(hunk)}\n`))) continue;
          tried++;
          const result = applyPatch(files, { [testCase.path]: testCase.original });
          if (!result.ok) continue;
          applied++;
          expect(result.changes, testCase.id).toEqual([{ path: testCase.path, content: testCase.expected }]);
        } catch (error) {
          if (!(error instanceof PatchParseError)) throw error;
        }
        }
      }
      // The corpus comes from whatever is under node_modules, so the count moves with dependencies.
      expect(tried).toBeGreaterThan(500);
      // Most damage of this kind is recoverable; refusing everything would pass the check above trivially.
      if (name !== "two context lines stale") expect(applied / tried).toBeGreaterThan(0.3);
    });
  }
});

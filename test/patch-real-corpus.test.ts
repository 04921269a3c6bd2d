import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FLAWS, buildRealCorpus, findVersionPairs } from "../bench/patch-real-corpus.js";

const NODE_MODULES = fileURLToPath(new URL("../node_modules", import.meta.url));

describe("bench:patch corpus of real edits", () => {
  const corpus = buildRealCorpus(NODE_MODULES, 2, 5);

  it("comes from packages installed in two versions, the same for the same seed", () => {
    expect(findVersionPairs(NODE_MODULES).length).toBeGreaterThan(10);
    expect(corpus.hunks).toBeGreaterThan(100);
    for (const testCase of corpus.cases) expect(testCase.source, testCase.id).toMatch(/^\S+ \S+ → \S+: /);
    expect(buildRealCorpus(NODE_MODULES, 2, 5).cases).toEqual(corpus.cases);
  }, 120_000);

  it("has every format and flaw, refusal rows without an expected file, and real changes elsewhere", () => {
    for (const [format, flaws] of Object.entries(FLAWS)) {
      for (const flaw of flaws) expect(corpus.cases.some((c) => c.format === format && c.flaw === flaw), `${format}/${flaw}`).toBe(true);
    }
    for (const testCase of corpus.cases) {
      if (testCase.flaw.startsWith("refuse-")) expect(testCase.expected, testCase.id).toBeNull();
      else if (!testCase.deleted) expect(testCase.expected, testCase.id).not.toBe(testCase.original);
    }
  });

  it("renders clean unified diffs that git apply turns into the expected file", () => {
    const work = mkdtempSync(join(tmpdir(), "fixloop-corpus-"));
    try {
      for (const testCase of corpus.cases.filter((c) => c.format === "unified-diff" && c.flaw === "clean")) {
        const repo = join(work, testCase.id.replace(/\W/g, "-"));
        mkdirSync(dirname(join(repo, testCase.path)), { recursive: true });
        writeFileSync(join(repo, testCase.path), testCase.original);
        writeFileSync(join(work, "answer.patch"), testCase.answer);
        execFileSync("git", ["apply", join(work, "answer.patch")], { cwd: repo });
        expect(readFileSync(join(repo, testCase.path), "utf8"), testCase.id).toBe(testCase.expected);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

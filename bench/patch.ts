/**
 * `npm run bench:patch`: how often fixloop's tolerant applier, `git apply`
 * and GNU `patch` turn model-style diffs into the right file, per flaw, in
 * the same run over the same corpus (bench/patch-corpus.ts, built from real
 * files under node_modules with a fixed seed).
 *
 * Every tool gets the model's answer exactly as written. A case counts as a
 * success when the tool reports success and the file equals the expected
 * one, or, for cases whose right answer is refusal, when the tool refuses.
 * "Wrong" counts results that claimed success but left a file other than the
 * expected one (or applied a patch that should have been refused): silent
 * wrong results.
 *
 * Baselines: `git apply` (atomic, strict) and `patch -p1 --batch --forward`
 * (GNU patch, default fuzz 2), the usual ways to apply a diff by hand.
 *
 * Knobs (environment): BENCH_PATCH_CASES (cases per flaw, 100), BENCH_PATCH_SEED (20251121),
 * BENCH_PATCH_BASELINES=0 (skip git/patch). Cases fixloop gets wrong are written to bench/out/patch-failures.json.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { applyPatch, extractDiff, parsePatch, PatchParseError } from "../src/fix/patch/index.js";
import { FLAWS, buildCorpus, findSourceFiles, type Flaw, type PatchCase } from "./patch-corpus.js";

const TARGET_SUCCESS = 0.97;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT_DIR = fileURLToPath(new URL("./out/", import.meta.url));

function numberFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

const PER_FLAW = numberFromEnv("BENCH_PATCH_CASES", 100);
const SEED = numberFromEnv("BENCH_PATCH_SEED", 20251121);
const WITH_BASELINES = process.env.BENCH_PATCH_BASELINES !== "0";

type Outcome = "ok" | "failed" | "wrong";
interface ToolResult {
  outcome: Outcome;
  detail: string;
  /** The tool reported failure but changed the file anyway (GNU patch applies the hunks it can). */
  partial: boolean;
}

function judge(testCase: PatchCase, claimedSuccess: boolean, result: string | undefined): Outcome {
  if (testCase.expected === null) return claimedSuccess ? "wrong" : "ok";
  if (!claimedSuccess) return "failed";
  return result === testCase.expected ? "ok" : "wrong";
}

function runFixloop(testCase: PatchCase): ToolResult {
  try {
    const diff = extractDiff(testCase.answer);
    if (diff === null) return { outcome: judge(testCase, false, undefined), detail: "no diff found", partial: false };
    const result = applyPatch(parsePatch(diff), { [testCase.path]: testCase.original });
    if (!result.ok) {
      const detail = result.failures.map((f) => `${f.path}#${f.hunk ?? "-"}: ${f.reason}`).join("; ");
      return { outcome: judge(testCase, false, undefined), detail, partial: false };
    }
    const change = result.changes.find((c) => c.path === testCase.path);
    const onlyThisFile = result.changes.length === 1 && change !== undefined && change.content !== null;
    const content = onlyThisFile ? (change.content as string) : undefined;
    return { outcome: judge(testCase, true, content), detail: onlyThisFile ? "applied" : "changed other files", partial: false };
  } catch (error) {
    if (!(error instanceof PatchParseError)) throw error;
    return { outcome: judge(testCase, false, undefined), detail: `parse: ${error.message}`, partial: false };
  }
}

function exec(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, timeout: 20_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

const BASELINES = {
  "git apply": (patchFile: string) => ({ command: "git", args: ["apply", "--whitespace=nowarn", patchFile] }),
  "GNU patch": (patchFile: string) => ({
    command: "patch",
    args: ["-p1", "--batch", "--forward", "--no-backup-if-mismatch", "--reject-file=-", "-i", patchFile],
  }),
} as const;
type Baseline = keyof typeof BASELINES;

async function runBaseline(tool: Baseline, testCase: PatchCase, workDir: string): Promise<ToolResult> {
  const repo = join(workDir, "repo");
  rmSync(repo, { recursive: true, force: true });
  const target = join(repo, testCase.path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, testCase.original);
  const patchFile = join(workDir, "answer.patch");
  writeFileSync(patchFile, testCase.answer);
  const { command, args } = BASELINES[tool](patchFile);
  const { code, output } = await exec(command, args, repo);
  const after = readFileSync(target, "utf8");
  return { outcome: judge(testCase, code === 0, after), detail: output.split("\n")[0] ?? "", partial: code !== 0 && after !== testCase.original };
}

/** Runs the baselines over all cases with a few workers, each with its own scratch directory. */
async function runBaselines(cases: PatchCase[], tool: Baseline, scratch: string): Promise<ToolResult[]> {
  const results: ToolResult[] = new Array(cases.length);
  let next = 0;
  const workers = Array.from({ length: 4 }, async (_, w) => {
    const workDir = join(scratch, `${tool.replace(/\W/g, "")}-${w}`);
    mkdirSync(workDir, { recursive: true });
    while (next < cases.length) {
      const i = next++;
      results[i] = await runBaseline(tool, cases[i], workDir);
    }
  });
  await Promise.all(workers);
  return results;
}

interface Tally {
  cases: number;
  ok: number;
  wrong: number;
  partial: number;
}

function tally(cases: PatchCase[], results: ToolResult[], flaw: Flaw | null): Tally {
  const t: Tally = { cases: 0, ok: 0, wrong: 0, partial: 0 };
  cases.forEach((testCase, i) => {
    if (flaw !== null && testCase.flaw !== flaw) return;
    t.cases++;
    if (results[i].outcome === "ok") t.ok++;
    if (results[i].outcome === "wrong") t.wrong++;
    if (results[i].partial) t.partial++;
  });
  return t;
}

function cell(t: Tally): string {
  const rate = t.cases === 0 ? 0 : (100 * t.ok) / t.cases;
  return `${rate.toFixed(1).padStart(5)}% ${String(t.wrong).padStart(3)} wrong`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const sources = findSourceFiles(join(ROOT, "node_modules"));
  const { cases, stats } = buildCorpus(sources, PER_FLAW, SEED);
  const built = performance.now();

  const fixloopStart = performance.now();
  const fixloop = cases.map(runFixloop);
  const fixloopMs = performance.now() - fixloopStart;

  const tools: { name: string; results: ToolResult[] }[] = [{ name: "fixloop", results: fixloop }];
  if (WITH_BASELINES) {
    const scratch = mkdtempSync(join(tmpdir(), "fixloop-bench-patch-"));
    try {
      for (const tool of Object.keys(BASELINES) as Baseline[]) tools.push({ name: tool, results: await runBaselines(cases, tool, scratch) });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  console.log(
    `corpus: ${cases.length} cases (${PER_FLAW} per flaw, seed ${SEED}) from ${sources.length} real files under node_modules, built in ${(built - started).toFixed(0)} ms`,
  );
  console.log(`success = right file (or refusal where refusal is right); wrong = claimed success with a wrong file\n`);
  const header = ["flaw".padEnd(24), "cases".padStart(5), ...tools.map((t) => t.name.padEnd(17))].join("  ");
  console.log(header);
  console.log("-".repeat(header.length));
  for (const flaw of [...FLAWS, null]) {
    if (flaw === null) console.log("-".repeat(header.length));
    const name = flaw ?? "overall";
    const count = tally(cases, fixloop, flaw).cases;
    console.log([name.padEnd(24), String(count).padStart(5), ...tools.map((t) => cell(tally(cases, t.results, flaw)).padEnd(17))].join("  "));
  }

  const partial = tools.filter((t) => t.name !== "fixloop").map((t) => `${t.name} ${tally(cases, t.results, null).partial}`);
  console.log(
    `\nfixloop time: ${fixloopMs.toFixed(0)} ms for ${cases.length} cases (${((1000 * fixloopMs) / cases.length).toFixed(0)} µs/case)` +
      (partial.length > 0 ? `; failures that still changed the file: ${partial.join(", ")}` : ""),
  );
  console.log(
    `edit sites whose hunk occurs more than once in the file (fixloop refuses these even with exact line numbers; excluded from cases that should apply): ` +
      `${stats.sitesWithRepeatedContext}/${stats.sitesTried} (${((100 * stats.sitesWithRepeatedContext) / Math.max(1, stats.sitesTried)).toFixed(1)}%)`,
  );

  const failures = cases.flatMap((testCase, i) => (fixloop[i].outcome === "ok" ? [] : [{ ...testCase, outcome: fixloop[i].outcome, detail: fixloop[i].detail }]));
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, "patch-failures.json"), JSON.stringify(failures, null, 2));

  const overall = tally(cases, fixloop, null);
  const rate = overall.ok / overall.cases;
  const summary = tools.map((t) => {
    const all = tally(cases, t.results, null);
    return `${t.name} ${all.ok}/${all.cases} (${((100 * all.ok) / all.cases).toFixed(1)}%), ${all.wrong} wrong`;
  });
  const verdict = rate >= TARGET_SUCCESS && overall.wrong === 0 ? "target met" : "TARGET MISSED";
  console.log(
    `\nsummary: ${summary.join("; ")} | target >= ${(TARGET_SUCCESS * 100).toFixed(0)}% and 0 wrong: ${verdict} | total ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  if (verdict !== "target met") process.exitCode = 1;
}

await main();

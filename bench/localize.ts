/**
 * Localisation bench (run by `npm run bench:context`, or alone: `npx tsx bench/localize.ts`).
 *
 * On the corpus in bench/localize-corpus (real failing test output paired with the
 * commit that fixed it; see its SOURCES.md), for each case and each way of building
 * what the model sees, two questions:
 *   - "the context names a fixed file": the log text sent names one of the files the real fix changed;
 *   - "a fixed file is among the files shown": one of them is among the files the prompt would include.
 * Ways compared: fixloop (context + localisation against the tree at the failing commit, plus
 * the pull request's files for the pull-request builds that carry them, as the job reads them),
 * fixloop on the log alone (no PR or changed-since-green files), fixloop as it was before localisation (references taken as repo-root paths), the last 8,000
 * characters of the log, and the lines of the failing log not in the passing log (the corpus has
 * no passing logs of the failing tests: a test that passes prints nothing, so that is the failing
 * output from its start, 8,000 characters). Baselines show the files they name at the paths they name.
 * Each figure is also given without the cases whose next-commit label was judged unrelated to the
 * failure (label-checks.json; the label is kept in cases.json, nothing is relabelled).
 * Options: --split dev|test|all (default all: both printed), --verbose (one line per case).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { buildFailureContext, selectFilesForPrompt, type FileRef } from "../src/fix/context/index.js";
import { RefCollector } from "../src/fix/context/paths.js";
import { evidenceOfFailure, filesToShow, locateFiles, readEvidence, RepoTree } from "../src/fix/localize/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const CORPUS = join(here, "localize-corpus");
const BUDGET_TOKENS = 2000;
const WINDOW_CHARS = BUDGET_TOKENS * 4;
const MAX_FILES = 8;
const args = process.argv.slice(2);
const VERBOSE = args.includes("--verbose");

interface Case {
  id: string;
  project: string;
  language: string;
  log: string;
  log_kind: string;
  fixed_files: string[];
  split: "dev" | "test";
  source: string;
  /** Pull-request builds: the PR's files at the failing commit, as the job reads them (add_pr_files.py). */
  pr_files?: string[];
  /** Files changed since the last green run of the same workflow, where the corpus knows it. */
  changed_since_green?: string[];
}

const cases = JSON.parse(readFileSync(join(CORPUS, "cases.json"), "utf8")) as Case[];
const packedTrees = JSON.parse(gunzipSync(readFileSync(join(CORPUS, "trees.json.gz"))).toString("utf8")) as Record<
  string,
  { base: string[]; cases: Record<string, { add: string[]; remove: string[] }> }
>;
/** Next-commit labels checked against the failure (label-checks.json): "unrelated" ones are reported apart. */
const labelChecks = (JSON.parse(readFileSync(join(CORPUS, "label-checks.json"), "utf8")) as { cases: Record<string, { verdict: "verified" | "unrelated" | "unclear" }> }).cases;
const importLines = JSON.parse(gunzipSync(readFileSync(join(CORPUS, "tests.json.gz"))).toString("utf8")) as Record<string, Record<string, string>>;

function treeOf(c: Case): string[] {
  const packed = packedTrees[c.project];
  const delta = packed.cases[c.id];
  const removed = new Set(delta.remove);
  return [...packed.base.filter((p) => !removed.has(p)), ...delta.add];
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The text names the file: its path, its file name, or its module / class name. */
function names(text: string, path: string): boolean {
  if (text.includes(path)) return true;
  const base = path.slice(path.lastIndexOf("/") + 1);
  if (new RegExp(`(?<![\\w-])${escape(base)}(?![\\w-])`).test(text)) return true;
  const stem = path.replace(/\.(?:java|kt|scala|groovy|py)$/, "");
  if (stem === path) return false;
  const parts = stem.split("/");
  // The shortest dotted tail with at least two segments that the text spells (org.acme.Foo, pkg.module).
  for (let start = 0; start < parts.length - 1; start += 1) {
    const dotted = parts.slice(start).join(".");
    if (new RegExp(`(?<![\\w.])${escape(dotted)}(?![\\w])`).test(text)) return true;
  }
  return false;
}

/** What a baseline shows: the files its text references, at the paths written, that exist at the failing commit. */
function filesNamedAt(text: string, tree: Set<string>): string[] {
  const refs = new RefCollector([], 40);
  for (const line of text.split("\n")) refs.addLine(line);
  return [...new Set(refs.result().map((r) => r.path))].filter((p) => tree.has(p)).slice(0, MAX_FILES);
}

/** fixloop before localisation: referenced paths fetched as written, test companions by rename, shown through the same selector. */
function companionSources(paths: string[]): string[] {
  const out = new Set<string>();
  for (const path of paths) {
    for (const candidate of [
      path.replace(/\.(test|spec)(\.[cm]?[jt]sx?)$/, "$2"),
      path.replace(/(^|\/)test_([^/]+\.py)$/, "$1$2"),
      path.replace(/_test\.go$/, ".go"),
      path.replace(/_spec\.rb$/, ".rb"),
    ]) {
      if (candidate !== path && !paths.includes(candidate)) out.add(candidate);
    }
  }
  return [...out];
}

function before(refs: FileRef[], tree: Set<string>): string[] {
  const referenced = refs.map((f) => f.path);
  const companions = companionSources(referenced);
  const fetched = new Map<string, string>();
  for (const path of [...referenced, ...companions].slice(0, 12)) if (tree.has(path)) fetched.set(path, "line\n".repeat(40));
  return [...new Set(selectFilesForPrompt(refs, companions, fetched, BUDGET_TOKENS * 4).map((f) => f.path))];
}

interface Row {
  c: Case;
  named: Record<string, boolean>;
  shown: Record<string, boolean>;
  detail: string;
}

const WAYS = ["fixloop", "fixloop, log only", "fixloop before", "tail", "diff-with-passing"] as const;

async function evaluate(c: Case): Promise<Row> {
  const log = readFileSync(join(CORPUS, c.log), "utf8");
  const paths = treeOf(c);
  const treeSet = new Set(paths);
  const tree = new RepoTree(paths);
  const context = await buildFailureContext(log, { budgetTokens: BUDGET_TOKENS });
  const evidence = evidenceOfFailure({ context: context.context, errorLines: context.errorLines, files: context.files, log: readEvidence(log) });
  const stored = importLines[c.id] ?? {};
  const readContents = async (wanted: string[]) => new Map(wanted.flatMap((p) => (stored[p] !== undefined ? [[p, stored[p]] as const] : [])));
  // As the job does: the PR's files and the files changed since green, where the case carries them.
  const located = await locateFiles(evidence, { tree, readContents, prFiles: c.pr_files ?? [], changedSinceGreen: c.changed_since_green ?? [] });
  const logOnly = c.pr_files || c.changed_since_green ? await locateFiles(evidence, { tree, readContents }) : located;
  const shownFixloop = filesToShow(located.files, MAX_FILES).map((f) => f.path);
  const tail = log.slice(-WINDOW_CHARS);
  const diff = log.slice(0, WINDOW_CHARS);
  const texts: Record<(typeof WAYS)[number], string> = { fixloop: context.context, "fixloop, log only": context.context, "fixloop before": context.context, tail, "diff-with-passing": diff };
  const shownBy: Record<(typeof WAYS)[number], string[]> = {
    fixloop: shownFixloop,
    "fixloop, log only": filesToShow(logOnly.files, MAX_FILES).map((f) => f.path),
    "fixloop before": before(context.files, treeSet),
    tail: filesNamedAt(tail, treeSet),
    "diff-with-passing": filesNamedAt(diff, treeSet),
  };
  const fixed = new Set(c.fixed_files);
  const named: Record<string, boolean> = {};
  const shown: Record<string, boolean> = {};
  for (const way of WAYS) {
    named[way] = c.fixed_files.some((f) => names(texts[way], f));
    shown[way] = shownBy[way].some((p) => fixed.has(p));
  }
  const top = located.files.slice(0, 3).map((f) => `${f.path}(${f.score})`).join(" ");
  return { c, named, shown, detail: `fixed=${c.fixed_files.join(",")} shown=${top}` };
}

function pct(part: number, whole: number): string {
  return whole === 0 ? "  n/a" : `${((100 * part) / whole).toFixed(0).padStart(4)} %`;
}

function report(title: string, rows: Row[]): void {
  console.log(`\n${title}: ${rows.length} cases`);
  console.log(`  ${"".padEnd(20)}  the context names a fixed file   a fixed file is among the files shown   named but not shown`);
  for (const way of WAYS) {
    const namedCount = rows.filter((r) => r.named[way]).length;
    const shownCount = rows.filter((r) => r.shown[way]).length;
    const missed = rows.filter((r) => r.named[way] && !r.shown[way]).length;
    console.log(`  ${way.padEnd(20)}  ${pct(namedCount, rows.length).padStart(30)}   ${pct(shownCount, rows.length).padStart(37)}   ${String(missed).padStart(19)}`);
  }
}

const rows: Row[] = [];
for (const c of cases) rows.push(await evaluate(c));
console.log(`localisation corpus: ${cases.length} cases from ${new Set(cases.map((c) => c.project)).size} projects (${[...new Set(cases.map((c) => c.language))].join(", ")}); budget ${BUDGET_TOKENS} tokens, at most ${MAX_FILES} files shown`);
const split = args.includes("--split") ? args[args.indexOf("--split") + 1] : "all";
for (const name of ["dev", "test"] as const) if (split === "all" || split === name) report(`${name} split`, rows.filter((r) => r.c.split === name));
const unrelated = (r: Row) => labelChecks[r.c.id]?.verdict === "unrelated";
for (const name of ["dev", "test"] as const) {
  const kept = rows.filter((r) => r.c.split === name && !unrelated(r));
  if ((split === "all" || split === name) && kept.length < rows.filter((r) => r.c.split === name).length) report(`${name} split without the labels judged unrelated to the failure (label-checks.json)`, kept);
}
if (split === "all") {
  report("all", rows);
  report("all without the labels judged unrelated to the failure (label-checks.json)", rows.filter((r) => !unrelated(r)));
  // The pairs with real CI output in several languages: their own dev/test figures.
  const realCi: [string, string][] = [
    ["ci-output-quoted-in-fix-commit", "CI output quoted in the fixing commit"],
    ["travis-log-logchunks-next-commit", "whole Travis logs (LogChunks), labels from the next commit"],
  ];
  for (const [kind, title] of realCi) {
    for (const name of ["dev", "test"] as const) {
      const mined = rows.filter((r) => r.c.log_kind === kind && r.c.split === name);
      if (mined.length > 0) report(`${title}, ${name} split`, mined);
    }
  }
  for (const group of [...new Set(cases.map((c) => `${c.language} (${c.log_kind})`))]) {
    report(group, rows.filter((r) => `${r.c.language} (${r.c.log_kind})` === group));
  }
}
if (VERBOSE) {
  for (const r of rows.filter((row) => split === "all" || row.c.split === split)) {
    console.log(`${r.shown.fixloop ? "ok  " : r.named.fixloop ? "MISS" : "miss"} ${r.c.id.padEnd(28)} ${r.detail}`);
  }
}

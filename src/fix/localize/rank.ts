/**
 * Which files the fix most likely needs, in order, each with the reasons.
 *
 * Evidence from the log (frames, diagnostics, failing tests, mentions) is resolved
 * against the tree; a name that matches several files is settled by the other
 * evidence (a file also named elsewhere, changed since green, sharing directories
 * with the resolved files) or kept as "one of N", never silently picked. Then the
 * sources behind failing tests (by name, and by what the test imports) and the
 * files changed since the last green run or in the PR are weighed in.
 */
import { importsOf, pythonReexports, type Evidence, type Target } from "./evidence.js";
import { isOutsidePath, isTestPath, type RepoTree } from "./tree.js";

export interface LocalizeInput {
  evidence: Evidence[];
  /** The tree at the failing commit; null when it could not be read (paths are then taken as written). */
  tree: RepoTree | null;
  /** Files changed between the last green run's commit and the failing one. */
  changedSinceGreen?: string[];
  /** Base and head of that comparison, for the "why". */
  greenRange?: { base: string; head: string } | null;
  /** Files of the pull request the failing commit belongs to. */
  prFiles?: string[];
  /** Contents already read (the failing tests), for the imports they make. */
  contents?: ReadonlyMap<string, string>;
}

export interface RankedFile {
  path: string;
  score: number;
  /** Lines the evidence points at, in order of strength. */
  lines: number[];
  /** Why the file is included, strongest first. */
  why: string[];
  /** The log itself names this file (as opposed to it being inferred). */
  named: boolean;
  /** The context text the prompt shows names it: the model reads about it, so it must see it. */
  inContext: boolean;
  isTest: boolean;
}

export interface Localization {
  files: RankedFile[];
  /** Evidence that matched no file of the tree (often dependencies the tree does not hold). */
  unresolved: Evidence[];
  /** Names that matched several files and stayed undecided. */
  ambiguous: { text: string; candidates: string[] }[];
  /** Failing tests whose source could be read for their imports (the caller may fetch these). */
  testsToRead: string[];
  /** Package `__init__.py` files whose re-exports would say which module defines a name (the caller may fetch these). */
  initsToRead: string[];
}

const BASE: Record<Evidence["kind"], number> = { frame: 10, diagnostic: 10, "failing-test": 6, mention: 4 };
const FRAME_DECAY = 0.7;
/** Where it was thrown (or the assertion failed) outweighs a test that merely failed. */
const INNERMOST_BONUS = 1.2;
const TRACE_DECAY = 0.85;
const ORDER_DECAY = 0.9;
/** A test file is what failed, seldom what the fix changes. */
const TEST_FACTOR = 0.8;
const COMPANION_FACTOR = 0.85;
/** `test_eos_vlans.py` → `eos/…/vlans.py`: a looser match than the test's own name. */
const NESTED_COMPANION_FACTOR = 0.6;
/** More path matches than this say nothing. */
const MAX_NESTED_COMPANIONS = 3;
/** A lock file brought in by its manifest (or the reverse): weaker than what the log names. */
const DEPENDENCY_FACTOR = 0.6;
const IMPORT_WEIGHT = 4;
const CHANGED_WEIGHT = 3;
const CHANGED_ALONE_WEIGHT = 6;
const CHANGED_AND_EVIDENCED_BONUS = 5;
const PR_WEIGHT = 2;
/** The module a frame's `__init__.py` line imports: where the failing import most likely is. */
const REEXPORT_FACTOR = 0.8;
/** An undecided name's candidates kept (and, when the context names it, all shown). */
const MAX_AMBIGUOUS_SHOWN = 3;
/** Evidence from the log outside the excerpt the prompt shows: real, but the context builder judged it less central. */
const OUTSIDE_CONTEXT_FACTOR = 0.7;
/** A test the log reports as passed: shown if the context names it, never ahead of the failure's evidence. */
const PASSING_FACTOR = 0.25;

function describeTarget(target: Target): string {
  switch (target.type) {
    case "path":
      return target.path;
    case "jvm-class":
      return target.file ? `${target.name} (${target.file})` : target.name;
    case "python-module":
      return target.name;
    case "go-package":
      return target.name;
    case "test-script":
      return `test script ${target.number}`;
  }
}

function quoted(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

class Scores {
  readonly byPath = new Map<string, RankedFile>();
  /** Files with evidence stronger than a bare token in the text: only these are read as failing tests. */
  readonly beyondTokens = new Set<string>();

  add(path: string, weight: number, why: string, line: number | null, named: boolean, inContext = false, token = false): void {
    if (!token) this.beyondTokens.add(path);
    let file = this.byPath.get(path);
    if (!file) {
      file = { path, score: 0, lines: [], why: [], named: false, inContext: false, isTest: isTestPath(path) };
      this.byPath.set(path, file);
    }
    file.score += weight;
    if (line !== null && line > 0 && !file.lines.includes(line)) file.lines.push(line);
    if (!file.why.includes(why) && file.why.length < 6) file.why.push(why);
    file.named ||= named;
    file.inContext ||= inContext;
  }
}

function dirsOf(path: string): string[] {
  return path.split("/").slice(0, -1);
}

/** How well a candidate fits the rest of the evidence: settled names, changed files, shared directories. */
function affinity(candidate: string, settled: Set<string>, changed: Set<string>): number {
  let score = 0;
  if (settled.has(candidate)) score += 4;
  if (changed.has(candidate)) score += 3;
  const mine = dirsOf(candidate);
  let best = 0;
  for (const other of settled) {
    const theirs = dirsOf(other);
    let common = 0;
    while (common < mine.length && common < theirs.length && mine[common] === theirs[common]) common += 1;
    best = Math.max(best, common);
  }
  return score + best * 0.1;
}

function weightOf(e: Evidence, rankInTrace: Map<Evidence, number>, kindOrder: Map<Evidence, number>): number {
  const shown = e.inContext === false ? OUTSIDE_CONTEXT_FACTOR : 1;
  if (e.passing) return shown * BASE.mention * PASSING_FACTOR;
  if (e.kind === "frame") {
    const rank = rankInTrace.get(e) ?? e.depth;
    return shown * BASE.frame * (rank === 0 ? INNERMOST_BONUS : 1) * FRAME_DECAY ** rank * TRACE_DECAY ** Math.max(0, e.trace);
  }
  return shown * BASE[e.kind] * ORDER_DECAY ** (kindOrder.get(e) ?? 0);
}

function whyOf(e: Evidence, rank: number | undefined): string {
  switch (e.kind) {
    case "frame":
      return rank === 0 ? `innermost project frame of the failure: ${quoted(e.text)}` : `stack frame: ${quoted(e.text)}`;
    case "diagnostic":
      return `compiler/linter error: ${quoted(e.text)}`;
    case "failing-test":
      return `failing test: ${quoted(e.text)}`;
    case "mention":
      return e.passing ? `named in the log by a test that passed: ${quoted(e.text)}` : `named in the log: ${quoted(e.text)}`;
  }
}

/** Evidence that only names a file (a bare token, a passing test): such a file is shown, not read as what failed. */
function isToken(e: Evidence): boolean {
  return (e.target.type === "path" && e.target.whole === true) || e.passing === true;
}

function isPackageInit(path: string): boolean {
  return path === "__init__.py" || path.endsWith("/__init__.py");
}

/** The first file of `paths` in the tree, or the absolute module resolved. */
function reexportFile(tree: RepoTree, paths: string[], module: string | null): string | null {
  for (const path of paths) if (tree.has(path)) return path;
  if (module) {
    const found = tree.resolvePythonModule(module);
    if (found.length === 1) return found[0];
  }
  return null;
}

/** The module that defines `name` re-exported by the package `init` (one level: `from .mod import name` or `*`). */
function definingModule(tree: RepoTree, init: string, content: string, name: string): string | null {
  const reexports = pythonReexports(init, content);
  const named = reexports.find((r) => r.names !== "*" && r.names.includes(name));
  const candidates = named ? [named] : reexports.filter((r) => r.names === "*");
  for (const r of candidates) {
    const file = reexportFile(tree, r.paths, r.module);
    if (file && file !== init) return file;
  }
  return null;
}

/** The module imported by the statement at `line` of a package's `__init__.py`, if that line is an import. */
function moduleImportedAt(tree: RepoTree, init: string, content: string, line: number): string | null {
  const statement = pythonReexports(init, content).find((r) => r.from <= line && line <= r.to);
  if (!statement) return null;
  const file = reexportFile(tree, statement.paths, statement.module);
  return file && file !== init ? file : null;
}

/**
 * A dotted import that resolved to a package's `__init__.py` through a prefix: the
 * name after the package (`pkg.Name` → `Name`), or null when the import names the package itself.
 */
function nameAfterPackage(target: Target, init: string): string | null {
  if (target.type !== "python-module") return null;
  const parts = target.name.split(".");
  const packagePath = init.slice(0, -"/__init__.py".length);
  const prefix = parts.slice(0, -1).join("/");
  return prefix !== "" && (packagePath === prefix || packagePath.endsWith(`/${prefix}`)) ? parts[parts.length - 1] : null;
}

export function localize(input: LocalizeInput): Localization {
  const { tree } = input;
  const changed = new Set(input.changedSinceGreen ?? []);
  const scores = new Scores();
  const unresolved: Evidence[] = [];
  const ambiguous: Localization["ambiguous"] = [];

  const resolved = new Map<Evidence, string[]>();
  for (const e of input.evidence) {
    // Without a tree, paths are taken as written; a bare token is a file only if the tree says so.
    const candidates = tree ? tree.resolve(e.target) : e.target.type === "path" && !e.target.whole && !isOutsidePath(e.target.path) ? [e.target.path] : [];
    if (candidates.length === 0) unresolved.push(e);
    else resolved.set(e, candidates);
  }
  // Unique matches settle first; they then help decide between the candidates of ambiguous names.
  const settled = new Set<string>();
  for (const candidates of resolved.values()) if (candidates.length === 1) settled.add(candidates[0]);

  // Rank frames within each trace among those that resolved to the project's files.
  const rankInTrace = new Map<Evidence, number>();
  const framesByTrace = new Map<number, Evidence[]>();
  for (const e of resolved.keys()) if (e.kind === "frame") framesByTrace.set(e.trace, [...(framesByTrace.get(e.trace) ?? []), e]);
  for (const frames of framesByTrace.values()) frames.sort((a, b) => a.depth - b.depth).forEach((e, i) => rankInTrace.set(e, i));
  const kindOrder = new Map<Evidence, number>();
  const counters = new Map<string, number>();
  for (const e of resolved.keys()) {
    if (e.kind === "frame" || e.passing) continue;
    const n = counters.get(e.kind) ?? 0;
    kindOrder.set(e, n);
    counters.set(e.kind, n + 1);
  }

  const initsToRead = new Set<string>();
  for (const [e, candidates] of resolved) {
    let weight = weightOf(e, rankInTrace, kindOrder);
    const why = whyOf(e, rankInTrace.get(e));
    if (candidates.length === 1) {
      scores.add(candidates[0], weight * (isTestPath(candidates[0]) ? TEST_FACTOR : 1), why, e.line, true, e.inContext !== false, isToken(e));
      // A frame on an import line of a package's `__init__.py`: the module it imports is where it failed.
      if (tree && e.kind === "frame" && e.line !== null && isPackageInit(candidates[0])) {
        const content = input.contents?.get(candidates[0]);
        if (content === undefined) initsToRead.add(candidates[0]);
        else {
          const module = moduleImportedAt(tree, candidates[0], content, e.line);
          if (module) scores.add(module, weight * REEXPORT_FACTOR, `imported at ${candidates[0]}:${e.line}, a frame of the failure`, null, false);
        }
      }
      continue;
    }
    const fits = candidates.map((c) => ({ c, fit: affinity(c, settled, changed) })).sort((a, b) => b.fit - a.fit);
    if (fits[0].fit > 0 && fits[0].fit > fits[1].fit) {
      const rest = candidates.length - 1;
      scores.add(fits[0].c, weight, `${why} (${describeTarget(e.target)} matches ${candidates.length} files; this one fits the other evidence, ${rest} other${rest > 1 ? "s" : ""} left out)`, e.line, true, e.inContext !== false, isToken(e));
      continue;
    }
    // Undecided: every candidate shares the weight, and the prompt says so. When the context
    // text names it and the candidates are few, all are shown: the model reads about one of them.
    const shown = candidates.slice(0, MAX_AMBIGUOUS_SHOWN);
    ambiguous.push({ text: e.text, candidates });
    weight /= candidates.length;
    const inContext = e.inContext !== false && candidates.length <= MAX_AMBIGUOUS_SHOWN;
    for (const c of shown) scores.add(c, weight, `${why} (ambiguous: one of ${candidates.length} files matching ${describeTarget(e.target)})`, e.line, true, inContext, isToken(e));
  }

  // Sources behind failing tests: by name, then by what the test imports.
  const direct = [...scores.byPath.values()].sort((a, b) => b.score - a.score);
  // A test file the text merely names (a passing test's stderr, a runner's argument) is shown, not read as what failed.
  const tests = direct.filter((f) => f.isTest && scores.beyondTokens.has(f.path)).slice(0, 4);
  for (const test of tests) {
    if (!tree) break;
    const companions = tree.companionsOf(test.path);
    if (companions.length > 0) {
      const weight = Math.min(test.score * COMPANION_FACTOR, 8);
      const top = companions.slice(0, companions.length > 2 ? 1 : 2);
      for (const c of top) scores.add(c, weight / top.length, `source under test of ${test.path} (by name)`, null, false);
    }
    const nested = tree.nestedCompanionsOf(test.path).filter((c) => !companions.includes(c));
    if (nested.length > 0 && nested.length <= MAX_NESTED_COMPANIONS) {
      const weight = (Math.min(test.score * COMPANION_FACTOR, 8) * NESTED_COMPANION_FACTOR) / nested.length;
      for (const c of nested) scores.add(c, weight, `source under test of ${test.path} (its name spells the path${nested.length > 1 ? `; one of ${nested.length}` : ""})`, null, false);
    }
    const content = input.contents?.get(test.path);
    if (content === undefined) continue;
    const imported = new Map<string, number>();
    const via = new Map<string, string>();
    for (const { target, uses } of importsOf(test.path, content)) {
      const found = target.type === "jvm-class" ? tree.resolveJvmClass(target.name, null) : tree.resolve(target);
      if (found.length !== 1 || found[0] === test.path || isTestPath(found[0])) continue;
      let path = found[0];
      // `from pkg import Name` lands on `pkg/__init__.py`: follow its re-export to the module defining Name.
      const name = isPackageInit(path) ? nameAfterPackage(target, path) : null;
      if (name) {
        const init = input.contents?.get(path);
        if (init === undefined) initsToRead.add(path);
        else {
          const module = definingModule(tree, path, init, name);
          if (module && !isTestPath(module)) {
            via.set(module, `${name} re-exported by ${path}`);
            path = module;
          }
        }
      }
      imported.set(path, Math.max(imported.get(path) ?? 0, uses));
    }
    const most = Math.max(1, ...imported.values());
    for (const [path, uses] of imported) {
      const through = via.has(path) ? `; ${via.get(path)}` : "";
      scores.add(path, IMPORT_WEIGHT * Math.sqrt(uses / most), `used by the failing test ${test.path} (${uses} mention${uses > 1 ? "s" : ""}${through})`, null, false);
    }
  }

  // A manifest the log names brings its lock file (and a lock file its manifest): version fixes touch both.
  for (const file of [...scores.byPath.values()].filter((f) => f.named)) {
    if (!tree) break;
    for (const other of tree.dependencyCompanionsOf(file.path)) {
      if (!scores.byPath.has(other)) scores.add(other, file.score * DEPENDENCY_FACTOR, `goes with ${file.path} (dependency manifest and lock file)`, null, false);
    }
  }

  const hasLogEvidence = scores.byPath.size > 0;
  const range = input.greenRange ? ` (${input.greenRange.base.slice(0, 7)}..${input.greenRange.head.slice(0, 7)})` : "";
  for (const path of changed) {
    if (tree && !tree.has(path)) continue; // deleted since green: nothing to show
    const evidenced = scores.byPath.has(path);
    const weight = evidenced ? CHANGED_WEIGHT + CHANGED_AND_EVIDENCED_BONUS : hasLogEvidence ? CHANGED_WEIGHT / Math.sqrt(changed.size) : CHANGED_ALONE_WEIGHT;
    scores.add(path, weight, `changed since the last green run${range}`, null, false);
  }
  for (const path of input.prFiles ?? []) {
    if (tree && !tree.has(path)) continue;
    const evidenced = scores.byPath.has(path);
    scores.add(path, evidenced ? PR_WEIGHT + 3 : PR_WEIGHT / Math.sqrt(input.prFiles!.length), "changed in the pull request", null, false);
  }

  const files = [...scores.byPath.values()].sort((a, b) => b.score - a.score || Number(b.named) - Number(a.named) || a.path.localeCompare(b.path));
  for (const f of files) f.score = Math.round(f.score * 100) / 100;
  const testsToRead = tests.map((t) => t.path).filter((p) => !input.contents?.has(p));
  return { files, unresolved, ambiguous, testsToRead, initsToRead: [...initsToRead].filter((p) => !input.contents?.has(p)) };
}

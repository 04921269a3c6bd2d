/**
 * Localisation: from a failure's context to the repository files a fix needs,
 * each with why it is included. Pure: the tree, the changed files and any
 * contents are read by the caller (GitHub API in the job, a checkout in the CLI).
 */
import type { FileRef } from "../context/types.js";
import { readEvidence, type Evidence } from "./evidence.js";
import { localize, type Localization, type LocalizeInput, type RankedFile } from "./rank.js";
import type { RepoTree } from "./tree.js";

export { EvidenceReader, importsOf, pythonReexports, readEvidence, type Evidence, type EvidenceKind, type Reexport, type Target } from "./evidence.js";
export { localize, type Localization, type LocalizeInput, type RankedFile } from "./rank.js";
export { isProjectPath, isTestPath, RepoTree } from "./tree.js";

export interface FailureEvidenceInput {
  /** The context text the prompt shows. */
  context: string;
  /** Error lines picked by the context builder. */
  errorLines?: string[];
  /** References the context builder found (some in blocks that did not fit the text). */
  files?: FileRef[];
  workspaceRoots?: string[];
  /** Evidence read from the whole log (EvidenceReader over the stream): frames the context had no room for. */
  log?: Evidence[];
}

function keyOf(e: Evidence): string {
  const t = e.target;
  return `${t.type}:${t.type === "path" ? t.path : t.type === "test-script" ? t.number : t.name}:${e.line ?? ""}`;
}

/**
 * Evidence of one failure: what the context text says (marked, it is what the
 * prompt shows), the builder's own references not already in it, then the
 * rest of the log's evidence.
 */
export function evidenceOfFailure(input: FailureEvidenceInput): Evidence[] {
  // Every path-like token of the context counts: the model reads the text, so a file it names must be shown.
  const evidence = readEvidence(input.context, input.workspaceRoots, { tokens: "all" }).map((e) => ({ ...e, inContext: true }));
  const seen = new Set(evidence.map(keyOf));
  let order = evidence.length;
  const traces = Math.max(-1, ...evidence.map((e) => e.trace)) + 1;
  const inContext = new Map(evidence.map((e) => [keyOf(e), e]));
  for (const e of input.log ?? []) {
    if (seen.has(keyOf(e))) {
      // The excerpt may have left out the `cd` the whole log saw: the context's piece learns where it was.
      const shown = inContext.get(keyOf(e));
      if (shown && shown.target.type === "path" && !shown.target.cwd && e.target.type === "path" && e.target.cwd) shown.target = { ...shown.target, cwd: e.target.cwd };
      continue;
    }
    seen.add(keyOf(e));
    evidence.push({ ...e, trace: e.trace >= 0 ? e.trace + traces : -1, order: order++, inContext: false });
  }
  // A frame's `(Cart.java:2)` is also a bare path reference to the builder: one piece of evidence, not two.
  const frameFiles = new Set(evidence.flatMap((e) => (e.target.type === "jvm-class" && e.target.file ? [`${e.target.file}:${e.line ?? ""}`] : [])));
  for (const ref of input.files ?? []) {
    const key = `path:${ref.path}:${ref.line ?? ""}`;
    if (seen.has(key) || frameFiles.has(`${ref.path}:${ref.line ?? ""}`)) continue;
    seen.add(key);
    evidence.push({ kind: "mention", target: { type: "path", path: ref.path }, line: ref.line, text: ref.line === null ? ref.path : `${ref.path}:${ref.line}`, trace: -1, depth: 0, order: order++, inContext: true });
  }
  return evidence;
}

export interface LocateOptions extends Omit<LocalizeInput, "evidence" | "tree" | "contents"> {
  tree: RepoTree | null;
  /** Reads the failing tests the first pass found, for their imports, and packages' `__init__.py` for their re-exports. */
  readContents?: (paths: string[]) => Promise<ReadonlyMap<string, string>>;
  maxTestReads?: number;
  /** `__init__.py` files read to follow re-exports (Python): at most this many. */
  maxInitReads?: number;
}

/**
 * Passes: rank from the log and the changed files; then, when the failure is a
 * failing test, read that test and weigh in what it imports; when an import or a
 * frame lands on a package's `__init__.py`, read it and follow the re-export to the
 * module that defines the name. Reads stay within `maxTestReads` + `maxInitReads`.
 */
export async function locateFiles(evidence: Evidence[], options: LocateOptions): Promise<Localization & { contents: ReadonlyMap<string, string> }> {
  const { readContents, maxTestReads = 2, maxInitReads = 2, ...rest } = options;
  const contents = new Map<string, string>();
  let result = localize({ ...rest, evidence });
  let testReads = 0;
  let initReads = 0;
  // Round 1 reads the tests (and inits of frames); round 2 the inits their imports land on.
  for (let round = 0; round < 2 && readContents && options.tree; round += 1) {
    const tests = result.testsToRead.filter((p) => !contents.has(p)).slice(0, Math.max(0, maxTestReads - testReads));
    const inits = result.initsToRead.filter((p) => !contents.has(p) && !tests.includes(p)).slice(0, Math.max(0, maxInitReads - initReads));
    if (tests.length + inits.length === 0) break;
    testReads += tests.length;
    initReads += inits.length;
    for (const [path, text] of await readContents([...tests, ...inits])) contents.set(path, text);
    result = localize({ ...rest, evidence, contents });
  }
  return { ...result, contents };
}

/** Files the context text names are shown even beyond `max` (up to this many): the model reads about them. */
export const MAX_FILES_NAMED_IN_CONTEXT = 16;

/**
 * The files to show, strongest first: the top `max`, plus every file the
 * context text names (up to MAX_FILES_NAMED_IN_CONTEXT in all) — a file the
 * model reads about but cannot see is a fix it cannot make.
 */
export function filesToShow(files: RankedFile[], max: number): RankedFile[] {
  const limit = Math.max(max, MAX_FILES_NAMED_IN_CONTEXT);
  return files.filter((file, index) => index < max || file.inContext).slice(0, limit);
}

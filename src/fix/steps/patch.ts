/**
 * Step 6, apply: read the edits in the model's answer (a diff or another
 * format) against the files it was shown, check them against the
 * repository's safety rules — paths and limits first, so a refused patch
 * costs no reads of files it may not touch — read the files it changes, and
 * apply it in memory, all files or none.
 */
import { safetyRulesFor, type RepoConfig } from "../../config/repo-config.js";
import { repoPathProblem, type FetchedFiles, type RepoListing } from "../../github/files.js";
import { splitRepo } from "../../github/repo.js";
import type { FixAttempt } from "../../store/schema.js";
import type { PromptFile } from "../context/files.js";
import { readAnswerEdits } from "../../patch/answer.js";
import { applyPatch, checkPatchSafety, pathsToFetch, renderChangesAsDiff, type FileChange, type PatchFile, type SafetyRules } from "../../patch/index.js";
import { postRefusal } from "../refusal.js";
import type { FixTrigger } from "../trigger.js";
import { fetchInto, textOriginals } from "./localize.js";
import type { FixDeps, FixEnd, Octokit } from "./types.js";

export interface AppliedPatch {
  diff: string;
  changes: FileChange[];
  /** The files before the patch, for the PR body's diffstat. */
  originals: Record<string, string | undefined>;
}

export interface PatchInput {
  trigger: FixTrigger;
  attempt: FixAttempt;
  config: RepoConfig;
  /** The model's answer. */
  content: string;
  /** Files read so far; the ones the patch changes are read into it. */
  files: FetchedFiles;
  listing: RepoListing | null;
  promptFiles: PromptFile[];
  /** The PR whose run failed (a refusal is explained there), or null for a push. */
  prNumber: number | null;
  dryRun: boolean;
}

const describeViolation = (v: { path: string | null; message: string }) => `${v.path ?? "patch"}: ${v.message}`;

/** Rules that need no file contents: paths outside the repository, protected paths, size limits. */
export function pathViolations(parsed: PatchFile[], rules: SafetyRules): string[] {
  return [
    ...pathsToFetch(parsed).flatMap((p) => (repoPathProblem(p) ? [`${p}: ${repoPathProblem(p)}`] : [])),
    ...checkPatchSafety(parsed, rules).map(describeViolation),
  ];
}

/** Rules that read the files: what GitHub says is not a plain text file, and what the change does to their contents. */
export function contentViolations(parsed: PatchFile[], rules: SafetyRules, files: FetchedFiles): string[] {
  const unsafeKinds = pathsToFetch(parsed).flatMap((p) => {
    const f = files[p];
    return f && f.type !== "file" ? [`${p}: is a ${f.type}`] : [];
  });
  return [...unsafeKinds, ...checkPatchSafety(parsed, rules, textOriginals(files)).map(describeViolation)];
}

/** Applies the answer's edits to the files; the patch, or a refusal. */
export async function patchFiles(deps: FixDeps, octokit: Octokit, input: PatchInput): Promise<AppliedPatch | FixEnd> {
  const { files } = input;
  const edits = readAnswerEdits(input.content, input.promptFiles, textOriginals(files), input.attempt.variant);
  if ("refused" in edits) return { end: "refuse", reason: edits.refused };
  deps.log.info({ attempt: input.attempt.id, format: edits.read.description }, "edits read");
  const parsed = edits.read.files;
  let diff = edits.diff;
  const rules = safetyRulesFor(input.config);
  let violations = pathViolations(parsed, rules);
  if (violations.length === 0) {
    await fetchInto(octokit, input.trigger, pathsToFetch(parsed), files, input.listing);
    violations = contentViolations(parsed, rules, files);
  }
  if (violations.length > 0) {
    // Said on the PR before the attempt is closed: a retry after a failed comment finds the attempt open and says it again.
    const { trigger, attempt, config } = input;
    await postRefusal(octokit, {
      ...splitRepo(trigger.repo),
      prNumber: input.prNumber,
      attempt,
      violations,
      maxAttempts: config.max_attempts,
      workflow: trigger.workflowName ?? "CI",
      runId: trigger.runId,
      dryRun: input.dryRun,
      log: deps.log,
    });
    return { end: "refuse", reason: `patch refused: ${violations.join("; ")}`, diff };
  }
  const originals = textOriginals(files);
  const applied = applyPatch(parsed, originals);
  if (!applied.ok) {
    const failures = applied.failures.map((f) => `${f.path}${f.hunk ? ` hunk ${f.hunk}` : ""}: ${f.reason}`);
    return { end: "refuse", reason: `patch does not apply: ${failures.join("; ")}`, diff };
  }
  if (applied.changes.length === 0) return { end: "refuse", reason: "patch refused: it changes nothing", diff };
  if (!edits.read.standardDiff) diff = renderChangesAsDiff(applied.changes, originals);
  return { diff, changes: applied.changes, originals };
}

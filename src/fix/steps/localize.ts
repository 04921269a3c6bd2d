/**
 * Step 4, localise: the files the fix needs — the log's evidence resolved
 * against the tree at the failing commit, the failing tests' sources, what
 * changed since green and the PR's files — ranked, read through the Git data
 * API, and cut to the prompt's budget.
 */
import type { RepoConfig } from "../../config/repo-config.js";
import { fetchFilesAtRef, repoPathProblem, type FetchedFiles, type RepoListing } from "../../github/files.js";
import { splitRepo } from "../../github/repo.js";
import type { CollectedFailure } from "../collect.js";
import { selectRankedFiles, type PromptFile } from "../context/files.js";
import { fileBudgetFactor, locateOnGitHub, type LocatedOnGitHub } from "../localize/github.js";
import type { GreenRunQuery, LastGreenBaselines } from "../last-green.js";
import type { FixTrigger } from "../trigger.js";
import { greenBranches } from "./collect.js";
import type { FailingPr } from "./guards.js";
import type { FixDeps, FixJobPayload, Octokit } from "./types.js";

/** Files shown besides those the context names (which are shown up to MAX_FILES_NAMED_IN_CONTEXT). */
const MAX_PROMPT_FILES = 8;

export interface LocalizedFiles {
  /** Every file read so far at the failing commit; the patch step reads the ones it changes into it too. */
  files: FetchedFiles;
  located: LocatedOnGitHub;
  /** What the prompt shows, within its budget; edit formats are read against the same files. */
  promptFiles: PromptFile[];
}

/** Reads the paths not read yet (and safe to read) at the failing commit into `into`. */
export async function fetchInto(octokit: Octokit, trigger: FixTrigger, paths: string[], into: FetchedFiles, tree: RepoListing | null = null): Promise<void> {
  const wanted = [...new Set(paths)].filter((p) => !(p in into) && repoPathProblem(p) === null);
  if (wanted.length === 0) return;
  Object.assign(into, await fetchFilesAtRef(octokit, { ...splitRepo(trigger.repo), ref: trigger.headSha, paths: wanted, tree }));
}

export function textOriginals(files: FetchedFiles): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(files).map(([path, f]) => [path, f?.type === "file" ? f.content : undefined]));
}

/** Localisation's last green commit from the baseline's cached lookup: a failed lookup is no green run, never a failed job. */
function sharedGreenSha(baselines: LastGreenBaselines, octokit: Octokit, query: GreenRunQuery): () => Promise<string | null> {
  return async () => {
    try {
      return (await baselines.greenRun(octokit, query))?.headSha ?? null;
    } catch {
      return null;
    }
  };
}

export async function localizeFiles(
  deps: FixDeps,
  octokit: Octokit,
  trigger: FixJobPayload,
  config: RepoConfig,
  failure: CollectedFailure,
  pr: FailingPr,
): Promise<LocalizedFiles> {
  const files: FetchedFiles = {};
  const { owner, repo } = splitRepo(trigger.repo);
  const located = await locateOnGitHub(octokit, {
    owner,
    repo,
    headSha: trigger.headSha,
    failure: { context: failure.context.context, errorLines: failure.context.errorLines, files: failure.context.files, log: failure.evidence },
    workflowId: trigger.provider === "github-actions" ? trigger.workflowId : null,
    branch: trigger.headBranch,
    ...(deps.baselines && trigger.provider === "github-actions" && trigger.workflowId
      ? { lastGreenSha: sharedGreenSha(deps.baselines, octokit, { owner, repo, workflowId: trigger.workflowId, branches: greenBranches(trigger, pr), failingRunId: Number(trigger.runId) }) }
      : {}),
    prNumber: pr.number,
    maxFiles: MAX_PROMPT_FILES,
    files,
  });
  await fetchInto(octokit, trigger, located.shown.map((f) => f.path), files, located.listing);
  const promptFiles = selectRankedFiles(located.shown, textOriginals(files), config.context_budget_tokens * fileBudgetFactor(located.shown));
  return { files, located, promptFiles };
}

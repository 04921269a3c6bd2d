/**
 * What changed before a failure: the files between the last green run's commit
 * and the failing one, and a pull request's files. One request each.
 */
import type { ProbotOctokit } from "probot";
import { httpStatusOf } from "./actions.js";
import type { RepoRef } from "./repo.js";

/** Files of a comparison or PR beyond this are a rename sweep or a merge, not evidence. */
export const MAX_CHANGED_FILES = 300;

/** The head SHA of the newest successful run of a workflow on a branch, or null. */
export async function lastGreenSha(octokit: ProbotOctokit, input: RepoRef & { workflowId: number | string; branch: string }): Promise<string | null> {
  const { data } = await octokit.rest.actions.listWorkflowRuns({
    owner: input.owner,
    repo: input.repo,
    workflow_id: input.workflowId,
    branch: input.branch,
    status: "success",
    per_page: 1,
  });
  return data.workflow_runs[0]?.head_sha ?? null;
}

/**
 * Paths changed from `base` to `head` (new names for renames), or null when
 * GitHub cannot compare them (a force-push dropped the base: 404) or the
 * comparison is too large to say anything.
 */
export async function changedBetween(octokit: ProbotOctokit, input: RepoRef & { base: string; head: string }): Promise<string[] | null> {
  try {
    const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
      owner: input.owner,
      repo: input.repo,
      basehead: `${input.base}...${input.head}`,
      per_page: 100,
    });
    const files = (data.files ?? []).map((file) => file.filename);
    return files.length >= MAX_CHANGED_FILES ? null : files;
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 404 || status === 422) return null;
    throw error;
  }
}

/** A pull request's files (first 100: the first page), or null when the PR is gone. */
export async function pullRequestFiles(octokit: ProbotOctokit, input: RepoRef & { pullNumber: number }): Promise<string[] | null> {
  try {
    const { data } = await octokit.rest.pulls.listFiles({ owner: input.owner, repo: input.repo, pull_number: input.pullNumber, per_page: 100 });
    return data.map((file) => file.filename);
  } catch (error) {
    if (httpStatusOf(error) === 404) return null;
    throw error;
  }
}

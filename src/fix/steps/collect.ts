/**
 * Step 3, collect: what failed — the failed jobs' logs (diffed against the
 * last green run's when baselines are on) or another CI app's check output —
 * as one failure context within the repository's budget. The reading itself
 * is ../collect.ts; this step says which branches may serve as baseline.
 */
import type { RepoConfig } from "../../config/repo-config.js";
import { collectFailure, type CollectedFailure } from "../collect.js";
import type { FailingPr } from "./guards.js";
import type { FixDeps, FixJobPayload, Octokit } from "./types.js";

/** Where the last green run of the workflow is looked for: the failing branch, the PR's base, the default branch. */
export function greenBranches(trigger: FixJobPayload, pr: FailingPr): (string | null)[] {
  return [trigger.headBranch, pr.baseRef, trigger.defaultBranch];
}

export function readFailure(deps: FixDeps, octokit: Octokit, trigger: FixJobPayload, config: RepoConfig, pr: FailingPr, signal?: AbortSignal): Promise<CollectedFailure> {
  return collectFailure(octokit, trigger, {
    budgetTokens: config.context_budget_tokens,
    signal,
    ...(deps.baselines ? { baseline: { source: deps.baselines, branches: greenBranches(trigger, pr) } } : {}),
  });
}

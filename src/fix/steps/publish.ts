/**
 * Step 7, publish: the PR body, then either nothing (dry run), a comment with
 * the patch (a fork's PR, a commit whose origin is unclear, or a repository
 * that asks for comments), or blobs → tree → commit → branch → draft PR,
 * linked to the attempt, superseding the chain's previous PR. Every write is
 * idempotent and the attempt's final status is written last, so a retry after
 * a failure part-way redoes what is missing.
 */
import type { RepoConfig } from "../../config/repo-config.js";
import { upsertComment } from "../../github/comments.js";
import type { FetchedFiles } from "../../github/files.js";
import { closePullRequest, publishFix } from "../../github/publish.js";
import { splitRepo } from "../../github/repo.js";
import { recordAuthoredLink } from "../../store/commit-links.js";
import type { FixAttempt } from "../../store/schema.js";
import { fixBranchName } from "../../github/fix-branch.js";
import { setAttemptStatus, updateAttempt } from "../../store/attempts.js";
import type { CollectedFailure } from "../collect.js";
import { commentReason, provenanceOf } from "../fork.js";
import { stoppedOrSuperseded } from "../held.js";
import { diffStat, renderPatchComment, renderPrBody, type PrBodyInput } from "../pr-body.js";
import type { FailingPr } from "./guards.js";
import type { AppliedPatch } from "./patch.js";
import { baseBranchOf, type FixDeps, type FixEnd, type FixJobPayload, type Octokit } from "./types.js";

export function prBodyInput(trigger: FixJobPayload, attempt: FixAttempt, config: RepoConfig, failure: CollectedFailure, patch: AppliedPatch): PrBodyInput {
  return {
    repo: trigger.repo,
    workflow: trigger.workflowName,
    job: failure.jobs[0]?.name ?? null,
    failingStep: failure.context.failingStep,
    errorLines: failure.context.errorLines,
    runUrl: failure.jobs[0]?.htmlUrl ?? null,
    explanation: attempt.explanation ?? "",
    diffStat: diffStat(patch.changes.map((c) => ({ path: c.path, before: patch.originals[c.path], after: c.content }))),
    inferenceId: attempt.inferenceId,
    episodeId: attempt.episodeId,
    variant: attempt.variant,
    attempt: attempt.attemptNumber,
    maxAttempts: config.max_attempts,
    failingSha: trigger.headSha,
    failingBranch: baseBranchOf(trigger),
    sameFailureJobs: failure.sameFailureJobs.map((j) => j.name),
    requestedBy: attempt.requestedBy,
    hint: attempt.hint,
    instructionFiles: attempt.instructionFiles,
  };
}

function commitMessage(trigger: FixJobPayload, attempt: FixAttempt, config: RepoConfig, failure: CollectedFailure): string {
  const step = failure.context.failingStep ? ` in "${failure.context.failingStep}"` : "";
  return `fixloop: fix ${trigger.workflowName ?? "CI"} failure${step}\n\nAttempt ${attempt.attemptNumber} of ${config.max_attempts} for run ${trigger.runId}.\nTensorZero inference ${attempt.inferenceId}, variant ${attempt.variant ?? "unknown"}.`;
}

function prTitle(trigger: FixJobPayload, attempt: FixAttempt): string {
  const on = baseBranchOf(trigger) ?? trigger.headSha.slice(0, 7);
  return `fixloop: fix ${trigger.workflowName ?? "CI"} on ${on}${attempt.attemptNumber > 1 ? ` (attempt ${attempt.attemptNumber})` : ""}`;
}

export interface PublishInput {
  trigger: FixJobPayload;
  attempt: FixAttempt;
  config: RepoConfig;
  pr: FailingPr;
  failure: CollectedFailure;
  patch: AppliedPatch;
  files: FetchedFiles;
  dryRun: boolean;
  /** The chain's previous attempt: its PR is superseded by this one. */
  previous: FixAttempt | undefined;
  /** A run before this one got as far as publishing: it may have written a branch or a PR. */
  publishedBefore: boolean;
}

export interface Published {
  attempt: FixAttempt;
  prNumber: number;
  branch: string;
}

export async function publish(deps: FixDeps, octokit: Octokit, input: PublishInput): Promise<Published | FixEnd> {
  const { trigger, config, pr, failure, patch, previous } = input;
  const db = deps.store.db;
  const { owner, repo } = splitRepo(trigger.repo);
  const bodyInput = prBodyInput(trigger, input.attempt, config, failure, patch);
  const prBody = renderPrBody(bodyInput);
  let attempt = await updateAttempt(db, input.attempt.id, { prBody });

  if (input.dryRun) {
    deps.log.info({ attempt: attempt.id, diff: patch.diff, prBody }, "dry run: fix ready, nothing written to GitHub");
    return { end: "skip", reason: "dry run: the diff and PR body are stored on the attempt" };
  }
  // The branch may have moved on (or someone said stop) while the model was thinking.
  const heldBeforePublish = await stoppedOrSuperseded(db, trigger);
  if (heldBeforePublish) return { end: "skip", reason: heldBeforePublish };
  attempt = await setAttemptStatus(db, attempt.id, "publishing");
  const provenance = await provenanceOf(octokit, trigger, pr.stored);
  const commentInstead = commentReason(provenance) ?? (config.delivery === "comment" ? "this repository asks for fixes as comments" : null);
  if (commentInstead) {
    const prNumber = pr.number ?? provenance.prNumber;
    if (prNumber === null) return { end: "skip", reason: `${commentInstead}, and no PR was found to comment on` };
    await upsertComment(octokit, { owner, repo, issueNumber: prNumber, marker: `patch-${attempt.id}`, body: renderPatchComment({ ...bodyInput, diff: patch.diff, reason: commentInstead }) });
    return { end: "skip", reason: `delivered as a comment on #${prNumber}: ${commentInstead}` };
  }
  const modes = Object.fromEntries(Object.entries(input.files).map(([p, f]) => [p, f?.type === "file" ? f.mode : undefined]));
  const published = await publishFix(octokit, {
    owner,
    repo,
    baseSha: trigger.headSha,
    // The tree is read from the fetched commit, never taken from the payload's head_commit.tree_id.
    baseBranch: baseBranchOf(trigger) ?? trigger.defaultBranch ?? "main",
    branch: fixBranchName(trigger.continuation?.chainRunId ?? trigger.runId, attempt.attemptNumber),
    firstTry: !input.publishedBefore,
    changes: patch.changes.map((c) => ({ path: c.path, content: c.content, mode: modes[c.path] })),
    commitMessage: commitMessage(trigger, attempt, config, failure),
    pr: { title: prTitle(trigger, attempt), body: prBody, draft: config.draft, labels: config.labels },
  });
  // Still "publishing" until every step below is done: each is idempotent, and a retry after a crash (or a
  // refused request) finds the same branch and PR and redoes what is missing. The final status is written last.
  attempt = await updateAttempt(db, attempt.id, { fixBranch: published.branch, fixCommitSha: published.commitSha, prNumber: published.prNumber });
  await recordAuthoredLink(db, {
    repo: trigger.repo,
    commitSha: published.commitSha,
    attemptId: attempt.id,
    evidence: { branch: published.branch, pr: published.prNumber, inference: attempt.inferenceId },
  });
  if (previous?.prNumber) {
    await upsertComment(octokit, { owner, repo, issueNumber: previous.prNumber, marker: `superseded-${previous.id}`, body: `Superseded by #${published.prNumber} (attempt ${attempt.attemptNumber}).` });
    await closePullRequest(octokit, { owner, repo, prNumber: previous.prNumber });
  }
  attempt = await updateAttempt(db, attempt.id, { status: "awaiting_ci", reason: null });
  return { attempt, prNumber: published.prNumber, branch: published.branch };
}

/**
 * Gitea and Forgejo payloads onto fixloop's rows. Their shapes follow Gitea's
 * own structs (modules/structs/hook.go, repo_actions.go), which copy GitHub's
 * for pull requests, pushes and Actions runs: where they match, GitHub's row
 * builders are reused and only the provider differs. Providers: `gitea` for
 * pull requests, `gitea-status` for commit statuses, `gitea-actions` for
 * Gitea Actions runs.
 */
import { z } from "zod";
import { ciStatus, pullRequestSchema, toPrOutcomeRow, workflowRunOrderKey, type PullRequestPayload } from "../ingest/map.js";
import type { CiStatus, NewCiRun, NewPrOutcome } from "../store/schema.js";
import { toIso } from "../time.js";

export const GITEA_PROVIDER = "gitea";
export const GITEA_STATUS_PROVIDER = "gitea-status";
export const GITEA_ACTIONS_PROVIDER = "gitea-actions";

const repository = z.object({ full_name: z.string().min(3) }).passthrough();
const sender = z.object({ login: z.string().nullable().optional(), username: z.string().nullable().optional() }).passthrough().nullable().optional();
const time = z.string().nullable().optional();

export const giteaPullRequestPayloadSchema = z.object({ action: z.string().nullable().optional(), repository, pull_request: pullRequestSchema, sender }).passthrough();

/** pull_request_approved / pull_request_rejected: the PR and the review's verdict and text. */
export const giteaReviewPayloadSchema = giteaPullRequestPayloadSchema.extend({
  review: z.object({ type: z.string().nullable().optional(), content: z.string().nullable().optional() }).passthrough().nullable().optional(),
});

export function toGiteaPrRow(repo: string, pr: PullRequestPayload, recordedAt: string): NewPrOutcome {
  return { ...toPrOutcomeRow(repo, pr, recordedAt), provider: GITEA_PROVIDER };
}

// ---- commit statuses -----------------------------------------------------------------

export const commitStatusPayloadSchema = z
  .object({
    id: z.number().int(),
    sha: z.string().min(7),
    state: z.string(),
    context: z.string().nullable().optional(),
    description: z.string().nullable().optional(),
    target_url: z.string().nullable().optional(),
    created_at: time,
    updated_at: time,
    repository,
  })
  .passthrough();

/** Gitea's commit status states: pending, success, error, failure, warning. */
export function commitStatusCiStatus(state: string): CiStatus {
  switch (state) {
    case "success":
    case "warning":
      return "success";
    case "error":
    case "failure":
      return "failure";
    default:
      return "in_progress";
  }
}

export function toCommitStatusRow(repo: string, status: z.infer<typeof commitStatusPayloadSchema>, recordedAt: string): NewCiRun {
  const updatedAt = toIso(status.updated_at) ?? toIso(status.created_at);
  const finished = status.state !== "pending";
  return {
    provider: GITEA_STATUS_PROVIDER,
    repoSlug: repo,
    runId: String(status.id),
    commitSha: status.sha.toLowerCase(),
    headBranch: null,
    event: null,
    status: commitStatusCiStatus(status.state),
    rawStatus: status.state,
    conclusion: finished ? status.state : null,
    workflowName: status.context ?? null,
    workflowId: null,
    appSlug: GITEA_STATUS_PROVIDER,
    runAttempt: 1,
    htmlUrl: status.target_url || null,
    prNumbers: [],
    startedTs: toIso(status.created_at),
    completedTs: finished ? updatedAt : null,
    updatedAt,
    orderKey: `${finished ? 2 : 0}|${updatedAt ?? ""}`,
    rawJson: status,
    recordedAt,
  };
}

// ---- Gitea Actions -----------------------------------------------------------------------

export const workflowRunPayloadSchema = z
  .object({
    action: z.string().nullable().optional(),
    repository,
    workflow: z.object({ name: z.string().nullable().optional(), path: z.string().nullable().optional() }).passthrough().nullable().optional(),
    workflow_run: z
      .object({
        id: z.number().int(),
        display_title: z.string().nullable().optional(),
        name: z.string().nullable().optional(),
        event: z.string().nullable().optional(),
        head_branch: z.string().nullable().optional(),
        head_sha: z.string().min(7),
        path: z.string().nullable().optional(),
        run_attempt: z.number().int().nullable().optional(),
        status: z.string(),
        conclusion: z.string().nullable().optional(),
        html_url: z.string().nullable().optional(),
        created_at: time,
        started_at: time,
        completed_at: time,
        updated_at: time,
      })
      .passthrough(),
    pull_request: z.object({ number: z.number().int().positive() }).passthrough().nullable().optional(),
  })
  .passthrough();

export function toGiteaWorkflowRunRow(repo: string, payload: z.infer<typeof workflowRunPayloadSchema>, recordedAt: string): NewCiRun {
  const run = payload.workflow_run;
  const attempt = run.run_attempt ?? 1;
  const completedAt = run.status === "completed" ? (toIso(run.completed_at) ?? toIso(run.updated_at)) : null;
  const updatedAt = toIso(run.updated_at) ?? completedAt ?? toIso(run.started_at) ?? toIso(run.created_at);
  return {
    provider: GITEA_ACTIONS_PROVIDER,
    repoSlug: repo,
    runId: String(run.id),
    commitSha: run.head_sha.toLowerCase(),
    headBranch: run.head_branch ?? null,
    event: run.event ?? null,
    status: ciStatus(run.status, run.conclusion),
    rawStatus: run.status,
    conclusion: run.conclusion || null,
    workflowName: payload.workflow?.name ?? run.name ?? run.path ?? null,
    workflowId: null,
    appSlug: GITEA_ACTIONS_PROVIDER,
    runAttempt: attempt,
    htmlUrl: run.html_url ?? null,
    prNumbers: payload.pull_request ? [payload.pull_request.number] : [],
    startedTs: toIso(run.started_at) ?? toIso(run.created_at),
    completedTs: completedAt,
    updatedAt,
    orderKey: `${workflowRunOrderKey(attempt, run.status, updatedAt)}|r`,
    rawJson: run,
    recordedAt,
  };
}

export const workflowJobPayloadSchema = z
  .object({
    action: z.string().nullable().optional(),
    repository,
    workflow_job: z
      .object({
        id: z.number().int(),
        run_id: z.number().int(),
        name: z.string().nullable().optional(),
        head_sha: z.string().min(7),
        head_branch: z.string().nullable().optional(),
        run_attempt: z.number().int().nullable().optional(),
        status: z.string(),
        conclusion: z.string().nullable().optional(),
      })
      .passthrough(),
  })
  .passthrough();

/**
 * A workflow_job delivery lands on its run's row, like GitLab's Job Hook:
 * it proves the run exists and runs, and never says more (the run's own
 * events win, the run's attempt still orders a re-run first).
 */
export function toGiteaWorkflowJobRunRow(repo: string, payload: z.infer<typeof workflowJobPayloadSchema>, recordedAt: string): NewCiRun {
  const job = payload.workflow_job;
  const attempt = job.run_attempt ?? 1;
  const started = job.status !== "queued" && job.status !== "waiting";
  return {
    provider: GITEA_ACTIONS_PROVIDER,
    repoSlug: repo,
    runId: String(job.run_id),
    commitSha: job.head_sha.toLowerCase(),
    headBranch: job.head_branch ?? null,
    event: null,
    status: "in_progress",
    rawStatus: started ? "in_progress" : "queued",
    conclusion: null,
    workflowName: null,
    workflowId: null,
    appSlug: GITEA_ACTIONS_PROVIDER,
    runAttempt: attempt,
    htmlUrl: null,
    prNumbers: [],
    startedTs: null,
    completedTs: null,
    updatedAt: null,
    orderKey: workflowRunOrderKey(attempt, started ? "in_progress" : "queued", null),
    rawJson: job,
    recordedAt,
  };
}

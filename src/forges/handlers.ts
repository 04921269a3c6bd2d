/**
 * Thin handlers for GitLab and Gitea/Forgejo deliveries, keyed by the
 * forge-prefixed event name the ingress gives them (`gitlab:Push Hook`,
 * `gitea:pull_request`). They write the same rows as GitHub's handlers and
 * share the outcome tracking: reverts and downstream touches on pushes,
 * merged/closed fix PRs, reviewer comments on fix PRs. The fix loop itself
 * stays GitHub-only, so a red pipeline here is recorded, never fixed.
 */
import { createHash } from "node:crypto";
import { MalformedPayloadError, parseWith } from "../ingest/map.js";
import { attributeCommits } from "../outcomes/attribution.js";
import { branchOfRef } from "../outcomes/commits.js";
import { recordReviewComment, type ReviewText } from "../outcomes/comments.js";
import { prRow } from "../outcomes/store.js";
import { outcomeWindowDays } from "../outcomes/touches.js";
import { applyBranchCommits, trackPullRequest } from "../outcomes/track.js";
import { recordPush } from "../handlers/push.js";
import { upsertResult, type HandlerResult, type IngestContext, type IngestHandler } from "../handlers/types.js";
import { upsertCiRun, upsertPrOutcome } from "../store/records.js";
import { nowIso } from "../time.js";
import {
  commitsFromPushHook,
  GITLAB_PROVIDER,
  isGitlabBot,
  jobHookSchema,
  mergeRequestFromHook,
  mergeRequestHookSchema,
  noteHookSchema,
  pipelineFromHook,
  pipelineHookSchema,
  pushHookSchema,
  toJobPipelineRow,
  toMergeRequestRow,
  toPipelineRow,
  ZERO_SHA,
} from "./gitlab.js";
import {
  commitStatusPayloadSchema,
  GITEA_PROVIDER,
  giteaPullRequestPayloadSchema,
  giteaReviewPayloadSchema,
  toCommitStatusRow,
  toGiteaPrRow,
  toGiteaWorkflowJobRunRow,
  toGiteaWorkflowRunRow,
  workflowJobPayloadSchema,
  workflowRunPayloadSchema,
} from "./gitea.js";

async function recordReview(ctx: IngestContext, text: ReviewText): Promise<HandlerResult> {
  const result = await recordReviewComment(ctx.store.db, text);
  return result.recorded
    ? { status: "processed", note: result.created ? "review feedback recorded" : "review feedback already recorded" }
    : { status: "ignored", note: result.reason };
}

async function recordPrRow(ctx: IngestContext, row: Parameters<typeof upsertPrOutcome>[1]): Promise<HandlerResult> {
  const stored = upsertResult(await upsertPrOutcome(ctx.store.db, row));
  await trackPullRequest({ ...ctx, windowDays: outcomeWindowDays() }, row.repoSlug, row.prNumber, row.provider);
  return stored;
}

// ---- GitLab ------------------------------------------------------------------------------

export async function recordGitlabMergeRequest(ctx: IngestContext): Promise<HandlerResult> {
  const hook = parseWith(mergeRequestHookSchema, ctx.payload, "Merge Request Hook payload");
  const repo = hook.project.path_with_namespace;
  const known = await prRow(ctx.store.db, repo, hook.object_attributes.iid, GITLAB_PROVIDER);
  return recordPrRow(ctx, toMergeRequestRow(repo, mergeRequestFromHook(hook, known?.author ?? null), nowIso()));
}

export async function recordGitlabPipeline(ctx: IngestContext): Promise<HandlerResult> {
  const hook = parseWith(pipelineHookSchema, ctx.payload, "Pipeline Hook payload");
  return upsertResult(await upsertCiRun(ctx.store.db, toPipelineRow(hook.project.path_with_namespace, pipelineFromHook(hook), nowIso())));
}

export async function recordGitlabJob(ctx: IngestContext): Promise<HandlerResult> {
  const job = parseWith(jobHookSchema, ctx.payload, "Job Hook payload");
  const stored = upsertResult(await upsertCiRun(ctx.store.db, toJobPipelineRow(job.project.path_with_namespace, job, nowIso())));
  return stored.note ? { status: "processed", note: "the pipeline's own state is further along" } : { status: "processed", note: `pipeline ${job.pipeline_id} is running` };
}

export async function recordGitlabPush(ctx: IngestContext): Promise<HandlerResult> {
  const push = parseWith(pushHookSchema, ctx.payload, "Push Hook payload");
  const branch = branchOfRef(push.ref);
  if (!branch) return { status: "ignored", note: `not a branch: ${push.ref}` };
  if (push.after && ZERO_SHA.test(push.after)) return { status: "processed", note: `branch ${branch} deleted` };
  const repo = push.project.path_with_namespace;
  const commits = commitsFromPushHook(push);
  const now = new Date();
  const outcomes = await applyBranchCommits(ctx.store.db, { repo, branch, commits, pushHead: push.after ?? null, windowDays: outcomeWindowDays(), now });
  await attributeCommits(ctx.store.db, { repo, branch, commits, now });
  const notes: string[] = [];
  if (outcomes.reverted.length > 0) notes.push(`reverts fix MR ${outcomes.reverted.map((n) => `!${n}`).join(", ")}`);
  if (outcomes.touchesAdded > 0) notes.push(`${outcomes.touchesAdded} downstream touch(es)`);
  const total = push.total_commits_count ?? commits.length;
  // GitLab lists the newest 20 commits; the older ones of a large push are not in the delivery.
  if (total > (push.commits?.length ?? 0)) notes.push(`${total - (push.commits?.length ?? 0)} older commit(s) not in the payload`);
  return notes.length > 0 ? { status: "processed", note: notes.join("; ") } : { status: "processed" };
}

export async function recordGitlabNote(ctx: IngestContext): Promise<HandlerResult> {
  const hook = parseWith(noteHookSchema, ctx.payload, "Note Hook payload");
  const note = hook.object_attributes;
  if (note.noteable_type !== "MergeRequest") return { status: "ignored", note: `comment on a ${note.noteable_type}` };
  if (note.system) return { status: "ignored", note: "system note" };
  if (note.action && note.action !== "create") return { status: "ignored", note: `comment ${note.action}` };
  if (!hook.merge_request) throw new MalformedPayloadError("Note Hook payload is malformed: merge_request: required for a comment on a merge request");
  return recordReview(ctx, {
    repo: hook.project.path_with_namespace,
    prNumber: hook.merge_request.iid,
    headRef: hook.merge_request.source_branch,
    kind: "review-comment",
    id: note.id,
    body: note.note ?? "",
    author: hook.user?.username ?? null,
    authorIsBot: isGitlabBot(hook.user?.username),
    state: null,
    path: note.position?.new_path ?? null,
    line: note.position?.new_line ?? null,
  });
}

// ---- Gitea / Forgejo -------------------------------------------------------------------------

export async function recordGiteaPullRequest(ctx: IngestContext): Promise<HandlerResult> {
  const payload = parseWith(giteaPullRequestPayloadSchema, ctx.payload, "pull_request payload");
  return recordPrRow(ctx, toGiteaPrRow(payload.repository.full_name, payload.pull_request, nowIso()));
}

/**
 * A Gitea review delivery names no review id; the delivery id stands in for
 * it, so a redelivery of the same review records it once.
 */
function reviewIdOf(deliveryId: string): number {
  return Number.parseInt(createHash("sha256").update(deliveryId).digest("hex").slice(0, 12), 16);
}

function giteaReview(verdict: "approved" | "changes_requested"): IngestHandler {
  return async (ctx) => {
    const payload = parseWith(giteaReviewPayloadSchema, ctx.payload, `${ctx.event.replace(/^gitea:/, "")} payload`);
    await recordPrRow(ctx, toGiteaPrRow(payload.repository.full_name, payload.pull_request, nowIso()));
    return recordReview(ctx, {
      repo: payload.repository.full_name,
      prNumber: payload.pull_request.number,
      headRef: payload.pull_request.head.ref,
      kind: "review",
      id: reviewIdOf(ctx.deliveryId),
      body: payload.review?.content ?? "",
      author: payload.sender?.login ?? payload.sender?.username ?? null,
      authorIsBot: false,
      state: verdict,
      path: null,
      line: null,
    });
  };
}

export async function recordGiteaStatus(ctx: IngestContext): Promise<HandlerResult> {
  const payload = parseWith(commitStatusPayloadSchema, ctx.payload, "status payload");
  return upsertResult(await upsertCiRun(ctx.store.db, toCommitStatusRow(payload.repository.full_name, payload, nowIso())));
}

export async function recordGiteaWorkflowRun(ctx: IngestContext): Promise<HandlerResult> {
  const payload = parseWith(workflowRunPayloadSchema, ctx.payload, "workflow_run payload");
  return upsertResult(await upsertCiRun(ctx.store.db, toGiteaWorkflowRunRow(payload.repository.full_name, payload, nowIso())));
}

export async function recordGiteaWorkflowJob(ctx: IngestContext): Promise<HandlerResult> {
  const payload = parseWith(workflowJobPayloadSchema, ctx.payload, "workflow_job payload");
  const stored = upsertResult(await upsertCiRun(ctx.store.db, toGiteaWorkflowJobRunRow(payload.repository.full_name, payload, nowIso())));
  return stored.note ? { status: "processed", note: "the run's own state is further along" } : { status: "processed", note: `run ${payload.workflow_job.run_id} is running` };
}

/** Deliveries fixloop reads, by forge-prefixed event; anything else is recorded and ignored. */
export const FORGE_HANDLERS: Record<string, IngestHandler> = {
  "gitlab:Merge Request Hook": recordGitlabMergeRequest,
  "gitlab:Pipeline Hook": recordGitlabPipeline,
  "gitlab:Job Hook": recordGitlabJob,
  "gitlab:Push Hook": recordGitlabPush,
  "gitlab:Note Hook": recordGitlabNote,
  "gitea:pull_request": recordGiteaPullRequest,
  "gitea:pull_request_approved": giteaReview("approved"),
  "gitea:pull_request_rejected": giteaReview("changes_requested"),
  "gitea:status": recordGiteaStatus,
  "gitea:workflow_run": recordGiteaWorkflowRun,
  "gitea:workflow_job": recordGiteaWorkflowJob,
  // Gitea's push payload is GitHub's shape (repository.full_name, commits with added/modified/removed).
  "gitea:push": recordPush,
};

export { GITEA_PROVIDER, GITLAB_PROVIDER };

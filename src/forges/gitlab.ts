/**
 * GitLab payloads onto fixloop's rows. Webhook and REST shapes differ, so
 * each has its schema; both end in the same row builders. Provider `gitlab`
 * for merge requests, `gitlab-ci` for pipelines.
 */
import { z } from "zod";
import type { PushedCommit } from "../outcomes/commits.js";
import type { CiStatus, NewCiRun, NewPrOutcome, PrState } from "../store/schema.js";
import { prOrderKey } from "../ingest/map.js";
import { toIso } from "../time.js";

export const GITLAB_PROVIDER = "gitlab";
export const GITLAB_CI_PROVIDER = "gitlab-ci";

const project = z.object({ path_with_namespace: z.string().min(3) }).passthrough();
const user = z.object({ username: z.string().nullable().optional() }).passthrough().nullable().optional();
const time = z.string().nullable().optional();

export const mergeRequestHookSchema = z
  .object({
    project,
    user,
    object_attributes: z
      .object({
        iid: z.number().int().positive(),
        title: z.string().nullable().optional(),
        state: z.string(),
        action: z.string().nullable().optional(),
        draft: z.boolean().nullable().optional(),
        work_in_progress: z.boolean().nullable().optional(),
        source_branch: z.string(),
        target_branch: z.string(),
        source_project_id: z.number().int().nullable().optional(),
        target_project_id: z.number().int().nullable().optional(),
        source: project.nullable().optional(),
        last_commit: z.object({ id: z.string().min(7) }).passthrough().nullable().optional(),
        merge_commit_sha: z.string().nullable().optional(),
        created_at: time,
        updated_at: time,
        merged_at: time,
        closed_at: time,
      })
      .passthrough(),
  })
  .passthrough();

export type MergeRequestHook = z.infer<typeof mergeRequestHookSchema>;

/** GitLab's states: opened, closed, locked, merged. */
export function mergeRequestState(state: string): PrState {
  if (state === "merged") return "merged";
  if (state === "closed") return "closed";
  return "open";
}

export interface MergeRequestFacts {
  iid: number;
  title: string;
  state: PrState;
  draft: boolean;
  author: string | null;
  sourceBranch: string;
  targetBranch: string;
  headSha: string | null;
  sourceProject: string | null;
  isFork: boolean;
  mergeCommitSha: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  mergedAt: string | null;
  closedAt: string | null;
  raw: unknown;
}

export function toMergeRequestRow(repo: string, mr: MergeRequestFacts, recordedAt: string): NewPrOutcome {
  return {
    provider: GITLAB_PROVIDER,
    repoSlug: repo,
    prNumber: mr.iid,
    title: mr.title,
    state: mr.state,
    draft: mr.draft,
    author: mr.author,
    headRef: mr.sourceBranch,
    headSha: mr.headSha,
    headRepoSlug: mr.sourceProject,
    isFork: mr.isFork,
    baseRef: mr.targetBranch,
    baseSha: null,
    mergeCommitSha: mr.state === "merged" ? mr.mergeCommitSha : null,
    createdAt: mr.createdAt,
    mergedAt: mr.state === "merged" ? mr.mergedAt : null,
    closedAt: mr.state === "open" ? null : mr.closedAt,
    updatedAt: mr.updatedAt,
    orderKey: prOrderKey(mr.updatedAt, mr.state),
    rawJson: mr.raw,
    recordedAt,
  };
}

/**
 * A Merge Request Hook's facts. The hook names its actor (`user`), not the
 * MR's author, so the author is known from the `open` event only; the
 * caller keeps what an earlier event stored. The hook carries no merge or
 * close time: the MR's `updated_at` of the merging or closing event is it.
 */
export function mergeRequestFromHook(hook: MergeRequestHook, knownAuthor: string | null): MergeRequestFacts {
  const mr = hook.object_attributes;
  const state = mergeRequestState(mr.state);
  const updatedAt = toIso(mr.updated_at);
  const opener = mr.action === "open" ? (hook.user?.username ?? null) : null;
  return {
    iid: mr.iid,
    title: mr.title ?? "",
    state,
    draft: Boolean(mr.draft ?? mr.work_in_progress),
    author: knownAuthor ?? opener,
    sourceBranch: mr.source_branch,
    targetBranch: mr.target_branch,
    headSha: mr.last_commit?.id.toLowerCase() ?? null,
    sourceProject: mr.source?.path_with_namespace ?? null,
    isFork: mr.source_project_id != null && mr.target_project_id != null && mr.source_project_id !== mr.target_project_id,
    mergeCommitSha: mr.merge_commit_sha?.toLowerCase() ?? null,
    createdAt: toIso(mr.created_at),
    updatedAt,
    mergedAt: toIso(mr.merged_at) ?? (state === "merged" ? updatedAt : null),
    closedAt: toIso(mr.closed_at) ?? (state !== "open" ? updatedAt : null),
    raw: mr,
  };
}

// ---- pipelines and jobs ---------------------------------------------------------

export const pipelineHookSchema = z
  .object({
    project,
    object_attributes: z
      .object({
        id: z.number().int(),
        iid: z.number().int().nullable().optional(),
        name: z.string().nullable().optional(),
        ref: z.string().nullable().optional(),
        tag: z.boolean().nullable().optional(),
        sha: z.string().min(7),
        source: z.string().nullable().optional(),
        status: z.string(),
        created_at: time,
        finished_at: time,
        url: z.string().nullable().optional(),
      })
      .passthrough(),
    merge_request: z.object({ iid: z.number().int().positive() }).passthrough().nullable().optional(),
  })
  .passthrough();

export const jobHookSchema = z
  .object({
    project,
    ref: z.string().nullable().optional(),
    sha: z.string().min(7),
    build_id: z.number().int(),
    build_status: z.string(),
    pipeline_id: z.number().int(),
    commit: z.object({ name: z.string().nullable().optional() }).passthrough().nullable().optional(),
  })
  .passthrough();

const FINISHED = new Set(["success", "failed", "canceled", "cancelled", "skipped"]);

/**
 * GitLab's pipeline statuses folded onto fixloop's four words (the raw one is
 * kept beside): created, waiting_for_resource, preparing, pending, running,
 * manual and scheduled are not finished.
 */
export function gitlabCiStatus(status: string): CiStatus {
  switch (status) {
    case "success":
    case "skipped":
      return "success";
    case "failed":
      return "failure";
    case "canceled":
    case "cancelled":
      return "cancelled";
    default:
      return "in_progress";
  }
}

function pipelinePhase(status: string): number {
  if (FINISHED.has(status)) return 2;
  return status === "running" ? 1 : 0;
}

/**
 * Pipeline events order by phase, then finish time: a late `running` never
 * undoes `failed`, while a retried pipeline (same id, a later finish) does
 * replace the earlier verdict. The trailing `p` ranks a pipeline's own event
 * above a job's news of the same phase.
 */
export function pipelineOrderKey(status: string, finishedAt: string | null): string {
  return `${pipelinePhase(status)}|${finishedAt ?? ""}|p`;
}

/** A job event says its pipeline exists and runs; never more than that. */
export function jobOrderKey(jobStatus: string): string {
  return `${Math.min(pipelinePhase(jobStatus), 1)}|`;
}

export interface PipelineFacts {
  id: number;
  name: string | null;
  ref: string | null;
  tag: boolean;
  sha: string;
  source: string | null;
  status: string;
  createdAt: string | null;
  updatedAt: string | null;
  finishedAt: string | null;
  url: string | null;
  mrIid: number | null;
  raw: unknown;
}

export function toPipelineRow(repo: string, p: PipelineFacts, recordedAt: string): NewCiRun {
  const finished = FINISHED.has(p.status);
  return {
    provider: GITLAB_CI_PROVIDER,
    repoSlug: repo,
    runId: String(p.id),
    commitSha: p.sha.toLowerCase(),
    headBranch: p.tag ? null : p.ref,
    event: p.source,
    status: gitlabCiStatus(p.status),
    rawStatus: p.status,
    conclusion: finished ? p.status : null,
    workflowName: p.name,
    workflowId: null,
    appSlug: GITLAB_CI_PROVIDER,
    runAttempt: 1,
    htmlUrl: p.url,
    prNumbers: p.mrIid !== null ? [p.mrIid] : [],
    startedTs: p.createdAt,
    completedTs: finished ? (p.finishedAt ?? p.updatedAt) : null,
    updatedAt: p.finishedAt ?? p.updatedAt ?? p.createdAt,
    orderKey: pipelineOrderKey(p.status, finished ? (p.finishedAt ?? p.updatedAt) : null),
    rawJson: p.raw,
    recordedAt,
  };
}

export function pipelineFromHook(hook: z.infer<typeof pipelineHookSchema>): PipelineFacts {
  const p = hook.object_attributes;
  return {
    id: p.id,
    name: p.name ?? null,
    ref: p.ref ?? null,
    tag: Boolean(p.tag),
    sha: p.sha,
    source: p.source ?? null,
    status: p.status,
    createdAt: toIso(p.created_at),
    updatedAt: null,
    finishedAt: toIso(p.finished_at),
    url: p.url ?? null,
    mrIid: hook.merge_request?.iid ?? null,
    raw: hook,
  };
}

/**
 * A Job Hook lands on its pipeline's row (run id = pipeline_id), not on a row
 * of its own: ci_runs holds runs, as GitHub Actions jobs have none either,
 * and one job's verdict is not the pipeline's (allow_failure, retries). The
 * job can create the row before the Pipeline Hook arrives, and moves it to
 * `in_progress` at most; the pipeline's own events always win.
 */
export function toJobPipelineRow(repo: string, job: z.infer<typeof jobHookSchema>, recordedAt: string): NewCiRun {
  return {
    provider: GITLAB_CI_PROVIDER,
    repoSlug: repo,
    runId: String(job.pipeline_id),
    commitSha: job.sha.toLowerCase(),
    headBranch: job.ref ?? null,
    event: null,
    status: "in_progress",
    rawStatus: pipelinePhase(job.build_status) === 0 ? "pending" : "running",
    conclusion: null,
    workflowName: job.commit?.name ?? null,
    workflowId: null,
    appSlug: GITLAB_CI_PROVIDER,
    runAttempt: 1,
    htmlUrl: null,
    prNumbers: [],
    startedTs: null,
    completedTs: null,
    updatedAt: null,
    orderKey: jobOrderKey(job.build_status),
    rawJson: job,
    recordedAt,
  };
}

// ---- pushes and notes --------------------------------------------------------------

const pushCommit = z
  .object({
    id: z.string().min(7),
    message: z.string().nullable().optional(),
    timestamp: time,
    author: z.object({ name: z.string().nullable().optional(), email: z.string().nullable().optional() }).passthrough().nullable().optional(),
    added: z.array(z.string()).nullable().optional(),
    modified: z.array(z.string()).nullable().optional(),
    removed: z.array(z.string()).nullable().optional(),
  })
  .passthrough();

export const pushHookSchema = z
  .object({
    project,
    ref: z.string(),
    before: z.string().nullable().optional(),
    after: z.string().nullable().optional(),
    commits: z.array(pushCommit).nullable().optional(),
    total_commits_count: z.number().int().nullable().optional(),
  })
  .passthrough();

export const ZERO_SHA = /^0+$/;

/** The push's commits (GitLab lists the newest 20 at most, oldest first). A commit without a timestamp is dropped. */
export function commitsFromPushHook(push: z.infer<typeof pushHookSchema>): PushedCommit[] {
  return (push.commits ?? []).flatMap((c) => {
    const timestamp = toIso(c.timestamp);
    if (!timestamp) return [];
    const files = [...new Set([...(c.modified ?? []), ...(c.added ?? []), ...(c.removed ?? [])])];
    return [{ sha: c.id.toLowerCase(), message: c.message ?? "", authorLogin: null, authorEmail: c.author?.email ?? null, timestamp, files }];
  });
}

export const noteHookSchema = z
  .object({
    project,
    user,
    object_attributes: z
      .object({
        id: z.number().int(),
        note: z.string().nullable().optional(),
        noteable_type: z.string(),
        system: z.boolean().nullable().optional(),
        action: z.string().nullable().optional(),
        position: z
          .object({ new_path: z.string().nullable().optional(), new_line: z.number().int().nullable().optional() })
          .passthrough()
          .nullable()
          .optional(),
      })
      .passthrough(),
    merge_request: z.object({ iid: z.number().int().positive(), source_branch: z.string() }).passthrough().nullable().optional(),
  })
  .passthrough();

/** GitLab's project, group and service-account bots: `project_<id>_bot_<hash>`, `group_<id>_bot_…`, `…-bot`. */
export function isGitlabBot(username: string | null | undefined): boolean {
  return Boolean(username && /(^(project|group)_\d+_bot)|([-_]bot$)|(\[bot\]$)/i.test(username));
}

/**
 * `fixloop backfill --provider gitlab`: a project's merge requests and
 * pipelines updated since a date, read from the REST API into the same rows
 * the webhooks write (the same builders, the same order keys, so a backfill
 * never moves a row back and a later webhook continues from it).
 */
import { z } from "zod";
import { describeIssues } from "../ingest/map.js";
import type { Store } from "../store/db.js";
import { upsertCiRun, upsertPrOutcome } from "../store/records.js";
import { toIso } from "../time.js";
import { projectPath, type GitlabClient } from "./gitlab-api.js";
import { mergeRequestState, toMergeRequestRow, toPipelineRow, type MergeRequestFacts, type PipelineFacts } from "./gitlab.js";

const time = z.string().nullable().optional();

/** GET /projects/:id/merge_requests items: the fields we read. */
export const restMergeRequestSchema = z
  .object({
    iid: z.number().int().positive(),
    title: z.string().nullable().optional(),
    state: z.string(),
    draft: z.boolean().nullable().optional(),
    author: z.object({ username: z.string() }).passthrough().nullable().optional(),
    source_branch: z.string(),
    target_branch: z.string(),
    source_project_id: z.number().int().nullable().optional(),
    target_project_id: z.number().int().nullable().optional(),
    sha: z.string().nullable().optional(),
    merge_commit_sha: z.string().nullable().optional(),
    squash_commit_sha: z.string().nullable().optional(),
    created_at: time,
    updated_at: time,
    merged_at: time,
    closed_at: time,
  })
  .passthrough();

/** GET /projects/:id/pipelines items. */
export const restPipelineSchema = z
  .object({
    id: z.number().int(),
    sha: z.string().min(7),
    ref: z.string().nullable().optional(),
    status: z.string(),
    source: z.string().nullable().optional(),
    name: z.string().nullable().optional(),
    created_at: time,
    updated_at: time,
    web_url: z.string().nullable().optional(),
  })
  .passthrough();

export function mergeRequestFromRest(mr: z.infer<typeof restMergeRequestSchema>): MergeRequestFacts {
  const state = mergeRequestState(mr.state);
  return {
    iid: mr.iid,
    title: mr.title ?? "",
    state,
    draft: Boolean(mr.draft),
    author: mr.author?.username ?? null,
    sourceBranch: mr.source_branch,
    targetBranch: mr.target_branch,
    headSha: mr.sha?.toLowerCase() ?? null,
    sourceProject: null,
    isFork: mr.source_project_id != null && mr.target_project_id != null && mr.source_project_id !== mr.target_project_id,
    mergeCommitSha: (mr.merge_commit_sha ?? mr.squash_commit_sha)?.toLowerCase() ?? null,
    createdAt: toIso(mr.created_at),
    updatedAt: toIso(mr.updated_at),
    mergedAt: toIso(mr.merged_at),
    closedAt: toIso(mr.closed_at) ?? toIso(mr.merged_at),
    raw: mr,
  };
}

/** Merge-request pipelines run on `refs/merge-requests/<iid>/head` (or `/merge`, `/train`). */
export function mergeRequestOfRef(ref: string | null | undefined): number | null {
  const match = ref ? /^refs\/merge-requests\/(\d+)\/(head|merge|train)$/.exec(ref) : null;
  return match ? Number(match[1]) : null;
}

export function pipelineFromRest(p: z.infer<typeof restPipelineSchema>): PipelineFacts {
  const updatedAt = toIso(p.updated_at);
  return {
    id: p.id,
    name: p.name ?? null,
    ref: p.ref ?? null,
    tag: false,
    sha: p.sha,
    source: p.source ?? null,
    status: p.status,
    createdAt: toIso(p.created_at),
    updatedAt,
    // The listing has no finished_at; a finished pipeline's last update is its finish.
    finishedAt: null,
    url: p.web_url ?? null,
    mrIid: mergeRequestOfRef(p.ref),
    raw: p,
  };
}

export type GitlabBackfillPhase = "merge-requests" | "pipelines";

export interface GitlabBackfillProgress {
  phase: GitlabBackfillPhase;
  done: number;
  total: number | null;
  finished: boolean;
}

export interface Counts {
  seen: number;
  written: number;
  stale: number;
  malformed: number;
}

export interface GitlabBackfillSummary {
  project: string;
  since: string;
  mergeRequests: Counts;
  pipelines: Counts;
  requests: number;
  waitedMs: number;
  /** The first few malformed items, described. */
  problems: string[];
}

export interface GitlabBackfillInput {
  client: GitlabClient;
  store: Store;
  project: string;
  since: string;
  onProgress?: (progress: GitlabBackfillProgress) => void;
  now?: Date;
}

function emptyCounts(): Counts {
  return { seen: 0, written: 0, stale: 0, malformed: 0 };
}

export async function backfillGitlabProject(input: GitlabBackfillInput): Promise<GitlabBackfillSummary> {
  const { client, store, project, since } = input;
  const recordedAt = (input.now ?? new Date()).toISOString();
  const summary: GitlabBackfillSummary = { project, since, mergeRequests: emptyCounts(), pipelines: emptyCounts(), requests: 0, waitedMs: 0, problems: [] };
  const query = { updated_after: since, order_by: "updated_at", sort: "desc" };

  async function phase<T>(name: GitlabBackfillPhase, path: string, extra: Record<string, string>, counts: Counts, write: (item: T) => Promise<"written" | "stale">, schema: z.ZodType<T>) {
    let total: number | null = null;
    for await (const page of client.paginate<unknown>(`${projectPath(project)}${path}`, { ...query, ...extra })) {
      total = page.total;
      for (const item of page.items) {
        counts.seen++;
        const parsed = schema.safeParse(item);
        if (!parsed.success) {
          counts.malformed++;
          if (summary.problems.length < 5) summary.problems.push(describeIssues(parsed.error, `${name} item`));
          continue;
        }
        counts[await write(parsed.data)]++;
      }
      input.onProgress?.({ phase: name, done: counts.seen, total, finished: false });
    }
    input.onProgress?.({ phase: name, done: counts.seen, total: total ?? counts.seen, finished: true });
  }

  await phase("merge-requests", "/merge_requests", { state: "all" }, summary.mergeRequests, (mr) => upsertPrOutcome(store.db, toMergeRequestRow(project, mergeRequestFromRest(mr), recordedAt)), restMergeRequestSchema);
  await phase("pipelines", "/pipelines", {}, summary.pipelines, (p) => upsertCiRun(store.db, toPipelineRow(project, pipelineFromRest(p), recordedAt)), restPipelineSchema);
  summary.requests = client.stats.requests;
  summary.waitedMs = client.stats.waitedMs;
  return summary;
}

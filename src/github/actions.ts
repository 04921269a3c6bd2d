/**
 * What a failed CI run looked like, read from GitHub's REST API: the failed
 * jobs and their steps, a job's log as a stream, check runs with their
 * annotations (CI apps other than Actions), the base branch's latest run, and
 * the files a commit touched. Plus the one write on this side: re-running the
 * failed jobs of a run. No clone, no disk: everything fits on Lambda.
 */
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import type { ProbotOctokit } from "probot";
import type { RepoRef } from "./repo.js";
/** Kept here too: most GitHub helpers take it with their other inputs. */
export type { RepoRef };

/** The HTTP status an Octokit call failed with, if it failed with one. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const status = (error as { status?: unknown }).status;
  return typeof status === "number" ? status : undefined;
}


/** Job and step conclusions that mean "this did not pass". */
const FAILED_CONCLUSIONS = new Set(["failure", "timed_out", "cancelled"]);

export interface FailedJobStep {
  name: string;
  number: number;
  conclusion: string | null;
}

export interface FailedJob {
  id: number;
  name: string;
  conclusion: "failure" | "timed_out" | "cancelled";
  htmlUrl: string | null;
  startedAt: string | null;
  completedAt: string | null;
  runAttempt: number | null;
  /** Empty when the job never got a runner; infra-failure detection looks at this. */
  runnerName: string | null;
  steps: FailedJobStep[];
  /** Names of the steps that failed, timed out or were cancelled, in step order. */
  failingSteps: string[];
}

/**
 * Failed jobs of a run: of one attempt when `attempt` is given, else of the
 * latest attempt of every job (`filter=latest`), all pages.
 */
export async function listFailedJobs(
  octokit: ProbotOctokit,
  input: RepoRef & { runId: number; attempt?: number },
): Promise<FailedJob[]> {
  const { owner, repo, runId, attempt } = input;
  const jobs =
    attempt === undefined
      ? await octokit.paginate(octokit.rest.actions.listJobsForWorkflowRun, { owner, repo, run_id: runId, filter: "latest", per_page: 100 })
      : await octokit.paginate(octokit.rest.actions.listJobsForWorkflowRunAttempt, { owner, repo, run_id: runId, attempt_number: attempt, per_page: 100 });
  const failed: FailedJob[] = [];
  for (const job of jobs) {
    if (!job.conclusion || !FAILED_CONCLUSIONS.has(job.conclusion)) continue;
    const steps = (job.steps ?? [])
      .map((step) => ({ name: step.name, number: step.number, conclusion: step.conclusion ?? null }))
      .sort((a, b) => a.number - b.number);
    failed.push({
      id: job.id,
      name: job.name,
      conclusion: job.conclusion as FailedJob["conclusion"],
      htmlUrl: job.html_url ?? null,
      startedAt: job.started_at ?? null,
      completedAt: job.completed_at ?? null,
      runAttempt: job.run_attempt ?? null,
      runnerName: job.runner_name ?? null,
      steps,
      failingSteps: steps.filter((step) => step.conclusion !== null && FAILED_CONCLUSIONS.has(step.conclusion)).map((step) => step.name),
    });
  }
  return failed;
}

/** The job's log is gone (retention expired, deleted) or never existed: nothing to read, not a transient error. */
export class LogsUnavailableError extends Error {
  override name = "LogsUnavailableError";
  constructor(
    readonly jobId: number,
    readonly status: number,
  ) {
    super(`Logs of job ${jobId} are not available (HTTP ${status})`);
  }
}

/** The redirect to the log blob failed for another reason than "gone". */
export class LogDownloadError extends Error {
  override name = "LogDownloadError";
  constructor(
    readonly jobId: number,
    readonly status: number,
  ) {
    super(`Downloading the logs of job ${jobId} failed (HTTP ${status})`);
  }
}

const GONE_STATUSES = new Set([404, 410]);

function toNodeReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (body === null || body === undefined) return Readable.from([]);
  return Readable.fromWeb(body as NodeWebReadableStream<Uint8Array>);
}

/**
 * A job's log text as a Node stream, read as it arrives, never held whole.
 *
 * GitHub answers the log URL with a 302 to a short-lived signed blob URL on
 * another host. The redirect is taken by hand (`redirect: "manual"`) so the
 * blob download goes through plain fetch: no Authorization header leaves for
 * the blob host, and Octokit hooks (caches, counters) only ever see the small
 * 302, never the log body. An answer of 200 with the log itself (as some
 * GitHub Enterprise versions do) is streamed the same way.
 */
export async function streamJobLogs(
  octokit: ProbotOctokit,
  input: RepoRef & { jobId: number; signal?: AbortSignal },
): Promise<Readable> {
  const { owner, repo, jobId, signal } = input;
  let response: { status: number; headers: Record<string, unknown>; data: unknown };
  try {
    response = await octokit.request("GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs", {
      owner,
      repo,
      job_id: jobId,
      request: { redirect: "manual", parseSuccessResponseBody: false, ...(signal ? { signal } : {}) },
    });
  } catch (error) {
    const status = httpStatusOf(error);
    if (status !== undefined && GONE_STATUSES.has(status)) throw new LogsUnavailableError(jobId, status);
    throw error;
  }
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.location;
    // The redirect's own (empty) body is not needed.
    await (response.data as { cancel?: () => Promise<void> } | null)?.cancel?.().catch(() => undefined);
    if (typeof location !== "string" || location === "") throw new LogDownloadError(jobId, response.status);
    const blob = await fetch(location, { signal: signal ?? null });
    if (GONE_STATUSES.has(blob.status)) {
      await blob.body?.cancel().catch(() => undefined);
      throw new LogsUnavailableError(jobId, blob.status);
    }
    if (!blob.ok) {
      await blob.body?.cancel().catch(() => undefined);
      throw new LogDownloadError(jobId, blob.status);
    }
    return toNodeReadable(blob.body);
  }
  return toNodeReadable(response.data);
}

export interface CheckRunAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: string | null;
  message: string | null;
  title: string | null;
}

export interface CheckRunWithAnnotations {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  htmlUrl: string | null;
  /** Which app reported it (e.g. "github-actions", "circleci-checks"). */
  appSlug: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  /** Only read for runs that did not pass; empty otherwise. */
  annotations: CheckRunAnnotation[];
}

/** Conclusions whose annotations are worth reading: the run did not pass. */
const ANNOTATED_CONCLUSIONS = new Set(["failure", "timed_out", "cancelled", "action_required", "startup_failure"]);

/** Enough annotations to point at the errors; a linter run can report thousands. */
export const MAX_ANNOTATIONS_PER_CHECK_RUN = 300;

/**
 * The check runs of a check suite with their output, and the annotations of
 * the failed ones (only when the run says it has any, so passing runs cost no
 * extra request).
 */
export async function listCheckRunsForSuite(
  octokit: ProbotOctokit,
  input: RepoRef & { checkSuiteId: number },
): Promise<CheckRunWithAnnotations[]> {
  const { owner, repo, checkSuiteId } = input;
  const runs = await octokit.paginate(octokit.rest.checks.listForSuite, { owner, repo, check_suite_id: checkSuiteId, per_page: 100 });
  const result: CheckRunWithAnnotations[] = [];
  for (const run of runs) {
    const wantsAnnotations = run.conclusion !== null && ANNOTATED_CONCLUSIONS.has(run.conclusion) && (run.output?.annotations_count ?? 0) > 0;
    const annotations: CheckRunAnnotation[] = [];
    if (wantsAnnotations) {
      for await (const page of octokit.paginate.iterator(octokit.rest.checks.listAnnotations, { owner, repo, check_run_id: run.id, per_page: 100 })) {
        for (const annotation of page.data) {
          annotations.push({
            path: annotation.path,
            start_line: annotation.start_line,
            end_line: annotation.end_line,
            annotation_level: annotation.annotation_level ?? null,
            message: annotation.message ?? null,
            title: annotation.title ?? null,
          });
        }
        if (annotations.length >= MAX_ANNOTATIONS_PER_CHECK_RUN) break;
      }
    }
    result.push({
      id: run.id,
      name: run.name,
      status: run.status,
      conclusion: run.conclusion ?? null,
      htmlUrl: run.html_url ?? null,
      appSlug: run.app?.slug ?? null,
      output: { title: run.output?.title ?? null, summary: run.output?.summary ?? null, text: run.output?.text ?? null },
      annotations: annotations.slice(0, MAX_ANNOTATIONS_PER_CHECK_RUN),
    });
  }
  return result;
}

/** Asks GitHub to run the failed jobs of a run again (a new attempt of the same run). */
export async function rerunFailedJobs(octokit: ProbotOctokit, input: RepoRef & { runId: number }): Promise<void> {
  await octokit.rest.actions.reRunWorkflowFailedJobs({ owner: input.owner, repo: input.repo, run_id: input.runId });
}

export interface WorkflowRunSummary {
  id: number;
  headSha: string;
  headBranch: string | null;
  event: string;
  conclusion: string | null;
  runAttempt: number | null;
  htmlUrl: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * The newest completed run of a workflow on a branch, or null. A base branch
 * that is already red tells us a PR's failure was not caused by the PR.
 */
export async function latestRunOnBranch(
  octokit: ProbotOctokit,
  input: RepoRef & { workflowId: number | string; branch: string },
): Promise<WorkflowRunSummary | null> {
  const { data } = await octokit.rest.actions.listWorkflowRuns({
    owner: input.owner,
    repo: input.repo,
    workflow_id: input.workflowId,
    branch: input.branch,
    status: "completed",
    per_page: 1,
  });
  const run = data.workflow_runs[0];
  if (!run) return null;
  return {
    id: run.id,
    headSha: run.head_sha,
    headBranch: run.head_branch ?? null,
    event: run.event,
    conclusion: run.conclusion ?? null,
    runAttempt: run.run_attempt ?? null,
    htmlUrl: run.html_url,
    createdAt: run.created_at,
    updatedAt: run.updated_at,
  };
}

/** A commit's files beyond this are not worth a second page: attribution only needs a sample. */
export const MAX_COMMIT_FILES = 100;

/** Paths a commit changed (its new names for renames), at most `MAX_COMMIT_FILES`, in one request. */
export async function changedFilesOfCommit(octokit: ProbotOctokit, input: RepoRef & { sha: string }): Promise<string[]> {
  const { data } = await octokit.rest.repos.getCommit({ owner: input.owner, repo: input.repo, ref: input.sha, per_page: MAX_COMMIT_FILES });
  return (data.files ?? []).slice(0, MAX_COMMIT_FILES).map((file) => file.filename);
}

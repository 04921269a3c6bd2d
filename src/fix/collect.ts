/**
 * Step 4, GitHub side: read what failed — the failed jobs' logs for a
 * workflow run, or the check runs' output and annotations for another CI
 * app's suite — and turn it into one failure context within the budget.
 */
import type { ProbotOctokit } from "probot";
import { listCheckRunsForSuite, listFailedJobs, LogsUnavailableError, streamJobLogs, type FailedJob } from "../github/actions.js";
import { buildFailureContext, contextFromCheckRuns, mergeFailureContexts, type FailureContext } from "./context/index.js";
import type { LastGreenBaselines } from "./last-green.js";
import { groupSameFailures, normaliseErrorLine, type JobFailure } from "./matrix.js";
import { EvidenceReader, type Evidence } from "./localize/evidence.js";
import { withEvidence } from "./localize/github.js";
import type { FixTrigger } from "./trigger.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

export interface CollectedFailure {
  context: FailureContext;
  /** The jobs whose logs make up the context: one per distinct failure. */
  jobs: FailedJob[];
  /** Jobs that failed the same way as one of `jobs` (a matrix): named, not read into the context. */
  sameFailureJobs: FailedJob[];
  /** The green run whose logs served as baseline (of at least one job), or null. */
  baselineRunId: string | null;
  /** File evidence read from the whole logs (the context text holds only part of it). */
  evidence?: Evidence[];
}

/** Logs read at most per run: enough to see that a matrix fails the same way everywhere. */
export const MAX_JOB_LOGS = 8;
/** Distinct failures that share the context. */
const MAX_DISTINCT_FAILURES = 3;

export interface CollectOptions {
  budgetTokens: number;
  /** Logs read at most; more failed jobs are usually the same failure again. */
  maxJobs?: number;
  signal?: AbortSignal;
  /** Compare each failed job's log with the same job's in the last green run (Actions runs only). */
  baseline?: { source: LastGreenBaselines; branches: (string | null | undefined)[] };
}

export async function collectFailure(octokit: Octokit, trigger: FixTrigger, options: CollectOptions): Promise<CollectedFailure> {
  const [owner, repo] = trigger.repo.split("/");
  if (trigger.provider === "github-checks") {
    const runs = await listCheckRunsForSuite(octokit, { owner, repo, checkSuiteId: Number(trigger.runId) });
    const failed = runs.filter((r) => r.conclusion && !["success", "neutral", "skipped"].includes(r.conclusion));
    return {
      context: contextFromCheckRuns(failed, { budgetTokens: options.budgetTokens, conclusion: trigger.conclusion }),
      jobs: [],
      sameFailureJobs: [],
      baselineRunId: null,
    };
  }
  const jobs = await listFailedJobs(octokit, { owner, repo, runId: Number(trigger.runId), attempt: trigger.runAttempt });
  const read = jobs.slice(0, options.maxJobs ?? MAX_JOB_LOGS);
  // Each job's context gets the whole budget: only the representatives of distinct failures are merged (and trimmed).
  const failures: JobFailure<FailedJob>[] = [];
  let baselineRunId: string | null = null;
  const evidenceOf = new Map<FailedJob, Evidence[]>();
  for (const job of read) {
    let context: FailureContext;
    const found = await lastGreenLog(octokit, trigger, job, options);
    if (found) baselineRunId ??= String(found.runId);
    try {
      const log = await streamJobLogs(octokit, { owner, repo, jobId: job.id, signal: options.signal });
      const reader = new EvidenceReader();
      context = await buildFailureContext(withEvidence(log, reader), { budgetTokens: options.budgetTokens, conclusion: job.conclusion, baseline: found?.baseline ?? null });
      evidenceOf.set(job, reader.finish());
    } catch (error) {
      // Expired logs leave the job's own verdict: still worth classifying (a cancelled job is infra).
      if (!(error instanceof LogsUnavailableError)) throw error;
      context = await buildFailureContext(`${job.failingSteps.join("\n")}\n`, { budgetTokens: options.budgetTokens, conclusion: job.conclusion });
    }
    failures.push({ job, failingStep: job.failingSteps[0] ?? null, context });
  }
  const groups = groupSameFailures(failures).slice(0, MAX_DISTINCT_FAILURES);
  const contexts = groups.map((g) => g.representative.context);
  if (contexts.length === 0) contexts.push(await buildFailureContext("", { budgetTokens: options.budgetTokens, conclusion: trigger.conclusion }));
  const context = mergeFailureContexts(contexts, options.budgetTokens);
  const shown = groups.map((g) => g.representative.job);
  if (!context.failingStep) context.failingStep = shown.find((j) => j.failingSteps.length > 0)?.failingSteps[0] ?? null;
  // The distinct failures' evidence, each job's traces numbered after the previous job's.
  const evidence: Evidence[] = [];
  for (const job of shown) {
    const traces = Math.max(-1, ...evidence.map((e) => e.trace)) + 1;
    for (const e of evidenceOf.get(job) ?? []) evidence.push({ ...e, trace: e.trace >= 0 ? e.trace + traces : -1 });
  }
  return { context, jobs: shown, sameFailureJobs: groups.flatMap((g) => g.others.map((o) => o.job)), baselineRunId, evidence };
}

/** The job's log in the last green run, or null: never a reason to fail the fix job. */
async function lastGreenLog(octokit: Octokit, trigger: FixTrigger, job: FailedJob, options: CollectOptions) {
  if (!options.baseline || trigger.workflowId === null) return null;
  const [owner, repo] = trigger.repo.split("/");
  try {
    return await options.baseline.source.find(octokit, {
      owner,
      repo,
      workflowId: trigger.workflowId,
      branches: options.baseline.branches,
      jobName: job.name,
      failingRunId: Number(trigger.runId),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return null;
  }
}

/** Same failing step and same first error line: the base branch fails the same way. */
export function sameFailure(a: CollectedFailure, b: CollectedFailure): boolean {
  if (!a.context.failingStep || a.context.failingStep !== b.context.failingStep) return false;
  const first = normaliseErrorLine(a.context.errorLines[0]);
  return first !== "" && b.context.errorLines.some((line) => normaliseErrorLine(line) === first);
}

/**
 * Step 4, GitHub side: read what failed — the failed jobs' logs for a
 * workflow run, or the check runs' output and annotations for another CI
 * app's suite — and turn it into one failure context within the budget.
 */
import type { ProbotOctokit } from "probot";
import { listCheckRunsForSuite, listFailedJobs, LogsUnavailableError, streamJobLogs, type FailedJob } from "../github/actions.js";
import { buildFailureContext, contextFromCheckRuns, mergeFailureContexts, type FailureContext } from "./context/index.js";
import type { FixTrigger } from "./trigger.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

export interface CollectedFailure {
  context: FailureContext;
  jobs: FailedJob[];
}

export interface CollectOptions {
  budgetTokens: number;
  /** Logs read at most; more failed jobs are usually the same failure again. */
  maxJobs?: number;
  signal?: AbortSignal;
}

export async function collectFailure(octokit: Octokit, trigger: FixTrigger, options: CollectOptions): Promise<CollectedFailure> {
  const [owner, repo] = trigger.repo.split("/");
  if (trigger.provider === "github-checks") {
    const runs = await listCheckRunsForSuite(octokit, { owner, repo, checkSuiteId: Number(trigger.runId) });
    const failed = runs.filter((r) => r.conclusion && !["success", "neutral", "skipped"].includes(r.conclusion));
    return {
      context: contextFromCheckRuns(failed, { budgetTokens: options.budgetTokens, conclusion: trigger.conclusion }),
      jobs: [],
    };
  }
  const jobs = await listFailedJobs(octokit, { owner, repo, runId: Number(trigger.runId), attempt: trigger.runAttempt });
  const read = jobs.slice(0, options.maxJobs ?? 3);
  const share = Math.max(200, Math.floor(options.budgetTokens / Math.max(1, read.length)));
  const contexts: FailureContext[] = [];
  for (const job of read) {
    try {
      const log = await streamJobLogs(octokit, { owner, repo, jobId: job.id, signal: options.signal });
      contexts.push(await buildFailureContext(log, { budgetTokens: share, conclusion: job.conclusion }));
    } catch (error) {
      // Expired logs leave the job's own verdict: still worth classifying (a cancelled job is infra).
      if (!(error instanceof LogsUnavailableError)) throw error;
      contexts.push(await buildFailureContext(`${job.failingSteps.join("\n")}\n`, { budgetTokens: share, conclusion: job.conclusion }));
    }
  }
  if (contexts.length === 0) contexts.push(await buildFailureContext("", { budgetTokens: options.budgetTokens, conclusion: trigger.conclusion }));
  const context = mergeFailureContexts(contexts, options.budgetTokens);
  if (!context.failingStep) context.failingStep = read.find((j) => j.failingSteps.length > 0)?.failingSteps[0] ?? null;
  return { context, jobs: read };
}

function normalise(line: string | undefined): string {
  // Line numbers, durations, hex ids and temp paths differ between two runs of the same failure.
  return (line ?? "").replace(/0x[0-9a-f]+|\b[0-9a-f]{7,40}\b|\d+(\.\d+)?(ms|s)\b|\d+/gi, "#").replace(/\s+/g, " ").trim();
}

/** Same failing step and same first error line: the base branch fails the same way. */
export function sameFailure(a: CollectedFailure, b: CollectedFailure): boolean {
  if (!a.context.failingStep || a.context.failingStep !== b.context.failingStep) return false;
  const first = normalise(a.context.errorLines[0]);
  return first !== "" && b.context.errorLines.some((line) => normalise(line) === first);
}

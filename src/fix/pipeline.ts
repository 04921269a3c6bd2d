/**
 * The fix job as the README's seven steps (./steps/): guards → triage →
 * collect → localise → ask the model → apply → publish, each a small function
 * that takes data and returns data or a decision (FixEnd). This file is the
 * edge: it finds or opens the job's attempt (resuming after a crash without
 * doing anything twice), records progress on it, and writes each decision
 * onto it. `fix-follow-up` (CI on a fix branch decided) is the second job here.
 */
import { InvalidConfigError, loadRepoConfig, type RepoConfig } from "../config/repo-config.js";
import { upsertComment } from "../github/comments.js";
import { markReadyForReview } from "../github/publish.js";
import { splitRepo } from "../github/repo.js";
import type { JobContext, JobOutcome } from "../queue/index.js";
import type { FixAttempt } from "../store/schema.js";
import { METRICS } from "../tensorzero/metrics.js";
import { commandJobHandlers } from "../commands/run.js";
import { attemptsOfChain, AWAITING_RERUN, createAttempt, findAttemptByFixBranch, getAttempt, recordAttemptOutcome, setAttemptStatus, updateAttempt } from "../store/attempts.js";
import { failureSummaryOf } from "./matrix.js";
import { PROMPT_VERSION } from "./prompt.js";
import { loadConfigForJob, withSummaryComment } from "./summary.js";
import { MOVED_ON_JOB, runMovedOnJob, type MovedOnPayload } from "./moved-on.js";
import { chainIdOf, FIX_JOB, type FixTrigger } from "./trigger.js";
import { readFailure } from "./steps/collect.js";
import { checkGuards } from "./steps/guards.js";
import { localizeFiles } from "./steps/localize.js";
import { askModel } from "./steps/model.js";
import { patchFiles } from "./steps/patch.js";
import { publish } from "./steps/publish.js";
import { triageBeforeCollect, triageFailure } from "./steps/triage.js";
import { isEnd, type ChainContinuation, type FixDeps, type FixEnd, type FixJobPayload, type Octokit } from "./steps/types.js";

export type { ChainContinuation, FixDeps, FixJobPayload, Octokit } from "./steps/types.js";

const TERMINAL = new Set(["awaiting_ci", "ci_passed", "ci_failed", "skipped", "failed"]);

/** Finds this job's attempt (resuming after a crash) or opens one; null when the chain exists already. */
async function openAttempt(deps: FixDeps, trigger: FixJobPayload): Promise<FixAttempt | { skip: string }> {
  const db = deps.store.db;
  const continuation = trigger.continuation;
  const chainId = continuation?.chainId ?? chainIdOf(trigger);
  const chain = await attemptsOfChain(db, chainId);
  const attemptNumber = continuation?.attemptNumber ?? 1;
  const mine = chain.find((a) => a.attemptNumber === attemptNumber);
  if (mine) {
    const resumable = mine.triggerRunId === trigger.runId || (mine.reason === AWAITING_RERUN && mine.status === "queued");
    if (!resumable) return { skip: `chain ${chainId} already has attempt ${attemptNumber} (from run ${mine.triggerRunId})` };
    return mine.triggerRunId === trigger.runId ? mine : updateAttempt(db, mine.id, { triggerRunId: trigger.runId, reason: null });
  }
  return createAttempt(db, {
    repoSlug: trigger.repo,
    installationId: trigger.installationId,
    chainId,
    attemptNumber,
    triggerProvider: trigger.provider,
    triggerRunId: trigger.runId,
    workflowName: trigger.workflowName,
    headSha: trigger.headSha,
    headBranch: continuation?.baseBranch ?? trigger.headBranch,
    status: "queued",
    // A new chain has no episode until its first inference: the gateway creates it and the attempt keeps its id.
    episodeId: continuation?.episodeId ?? null,
    promptVersion: PROMPT_VERSION,
    requestedBy: trigger.command?.author ?? null,
    hint: trigger.command?.hint ?? null,
  });
}

/** Writes a step's decision onto the attempt and says how the job ended. */
async function settle(deps: FixDeps, attempt: FixAttempt, decision: FixEnd): Promise<JobOutcome> {
  const db = deps.store.db;
  switch (decision.end) {
    case "skip":
      await setAttemptStatus(db, attempt.id, "skipped", decision.reason);
      deps.log.info({ attempt: attempt.id, reason: decision.reason }, "fix skipped");
      return { status: "skipped", reason: decision.reason, result: { attemptId: attempt.id } };
    case "fail":
      await setAttemptStatus(db, attempt.id, "failed", decision.reason);
      deps.log.warn({ attempt: attempt.id, reason: decision.reason }, "fix failed");
      // The job itself did its work: the attempt records why there is no fix.
      return { status: "done", result: { attemptId: attempt.id, failed: decision.reason } };
    case "refuse": {
      // fixloop_patch_applied = false, for the inference that proposed it.
      const refused = decision.attempt ?? attempt;
      await recordAttemptOutcome(deps.store.db, refused, { status: "failed", reason: decision.reason, ...(decision.diff ? { diff: decision.diff } : {}) }, { name: METRICS.patchApplied, value: false });
      deps.log.warn({ attempt: refused.id, reason: decision.reason }, "patch refused");
      return { status: "done", result: { attemptId: refused.id, failed: decision.reason } };
    }
    case "wait":
      await setAttemptStatus(db, attempt.id, "queued", decision.attemptReason);
      return { status: "wait", delayMs: decision.delayMs, reason: decision.reason };
    case "rerun":
      await setAttemptStatus(db, attempt.id, "queued", AWAITING_RERUN);
      return { status: "done", result: { attemptId: attempt.id, rerun: true } };
  }
}

export async function runFixJob(deps: FixDeps, trigger: FixJobPayload, job: JobContext): Promise<JobOutcome> {
  const db = deps.store.db;
  const opened = await openAttempt(deps, trigger);
  if ("skip" in opened) return { status: "skipped", reason: opened.skip };
  let attempt = opened;
  // A crash while publishing leaves "publishing" behind: that run may have written a branch or a PR.
  const publishedBefore = attempt.status === "publishing";
  if (TERMINAL.has(attempt.status)) return { status: "done", result: { attemptId: attempt.id, status: attempt.status } };
  const octokit = await deps.github(trigger.installationId);

  // 1. guards
  const guarded = await checkGuards(deps, octokit, trigger, job);
  if (isEnd(guarded)) return settle(deps, attempt, guarded);
  const { config, pr, dryRun } = guarded;

  // 2. triage before spending tokens or reading logs
  const early = await triageBeforeCollect(deps, octokit, trigger, attempt, guarded);
  if (early) return settle(deps, attempt, early);

  // 3. collect the failure, and triage it now that it is known
  attempt = await setAttemptStatus(db, attempt.id, "collecting");
  const failure = await readFailure(deps, octokit, trigger, config, pr, job.signal);
  await updateAttempt(db, attempt.id, { failureClass: failure.context.class, failureSummary: failureSummaryOf(failure), baselineRunId: failure.baselineRunId });
  const notWorthIt = await triageFailure(octokit, trigger, failure, guarded);
  if (notWorthIt) return settle(deps, attempt, notWorthIt);

  // 4. localise: the files the fix needs
  const localized = await localizeFiles(deps, octokit, trigger, config, failure, pr);
  const previous = trigger.continuation ? await getAttempt(db, trigger.continuation.previousAttemptId) : undefined;

  // 5. ask TensorZero (a resumed attempt reuses the answer it stored)
  const answer = await askModel(deps, octokit, { trigger, attempt, config, failure, localized, previous });
  if (isEnd(answer)) return settle(deps, attempt, answer);
  attempt = answer.attempt;

  // 6. apply
  attempt = await setAttemptStatus(db, attempt.id, "patching");
  const patch = await patchFiles(deps, octokit, { trigger, attempt, config, content: answer.content, files: localized.files, listing: localized.located.listing, promptFiles: localized.promptFiles, prNumber: pr.number, dryRun });
  if (isEnd(patch)) return settle(deps, attempt, patch);
  attempt = await recordAttemptOutcome(deps.store.db, attempt, { diff: patch.diff, changedFiles: patch.changes.map((c) => c.path) }, { name: METRICS.patchApplied, value: true });

  // 7. publish
  const published = await publish(deps, octokit, { trigger, attempt, config, pr, failure, patch, files: localized.files, dryRun, previous, publishedBefore });
  if (isEnd(published)) return settle(deps, attempt, published);
  return { status: "done", result: { attemptId: published.attempt.id, prNumber: published.prNumber, branch: published.branch } };
}

/** CI finished on a fix branch: that is the verdict on the attempt. */
export async function runFollowUpJob(deps: FixDeps, trigger: FixTrigger, job?: JobContext): Promise<JobOutcome> {
  const db = deps.store.db;
  const attempt = trigger.headBranch ? await findAttemptByFixBranch(db, trigger.repo, trigger.headBranch) : undefined;
  if (!attempt) return { status: "skipped", reason: `no fix attempt for branch ${trigger.headBranch}` };
  if (attempt.fixCommitSha && attempt.fixCommitSha !== trigger.headSha) return { status: "skipped", reason: "the run is for another commit on the fix branch" };
  if (attempt.workflowName && trigger.workflowName && attempt.workflowName !== trigger.workflowName) {
    return { status: "skipped", reason: `workflow ${trigger.workflowName} is not the one being fixed (${attempt.workflowName})` };
  }
  if (attempt.status !== "awaiting_ci") return { status: "done", result: { attemptId: attempt.id, status: attempt.status } };
  const octokit = await deps.github(trigger.installationId);
  const { owner, repo } = splitRepo(trigger.repo);
  const passed = trigger.conclusion === "success";
  if (passed) {
    if (attempt.prNumber) {
      // A PR someone closed meanwhile stays closed, uncommented: the verdict is still recorded.
      const ready = await markReadyForReview(octokit, { owner, repo, prNumber: attempt.prNumber });
      if (ready.open) {
        await upsertComment(octokit, { owner, repo, issueNumber: attempt.prNumber, marker: `ci-passed-${attempt.id}`, body: `CI passed on this fix (${trigger.workflowName ?? "CI"}, run ${trigger.runId}). Marked ready for review.` });
      }
    }
    await recordAttemptOutcome(deps.store.db, attempt, { status: "ci_passed", reason: null }, { name: METRICS.ciPassed, value: true });
    return { status: "done", result: { attemptId: attempt.id, verdict: "ci_passed" } };
  }
  // Side effects first (each idempotent), the verdict last: a retry after a crash redoes what is missing.
  const verdict = `CI failed on the fix branch (run ${trigger.runId})`;
  let config: RepoConfig;
  try {
    config = await loadConfigForJob(job, () => loadRepoConfig(octokit as never, owner, repo));
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      await recordAttemptOutcome(deps.store.db, attempt, { status: "ci_failed", reason: `${verdict}; ${error.message}` }, { name: METRICS.ciPassed, value: false });
      return { status: "skipped", reason: error.message };
    }
    throw error;
  }
  const chain = await attemptsOfChain(db, attempt.chainId);
  if (attempt.attemptNumber < config.max_attempts) {
    const continuation: ChainContinuation = {
      chainId: attempt.chainId,
      attemptNumber: attempt.attemptNumber + 1,
      previousAttemptId: attempt.id,
      episodeId: attempt.episodeId!,
      baseBranch: attempt.headBranch,
      chainRunId: chain[0]?.triggerRunId ?? attempt.triggerRunId,
    };
    const next = await deps.queue.enqueue(FIX_JOB, { ...trigger, continuation } satisfies FixJobPayload, {
      dedupKey: `fix:${attempt.chainId}:attempt:${continuation.attemptNumber}`,
    });
    await recordAttemptOutcome(deps.store.db, attempt, { status: "ci_failed", reason: verdict }, { name: METRICS.ciPassed, value: false });
    return { status: "done", result: { attemptId: attempt.id, verdict: "ci_failed", nextJob: next.id } };
  }
  if (attempt.prNumber) {
    await upsertComment(octokit, {
      owner,
      repo,
      issueNumber: attempt.prNumber,
      marker: `gave-up-${attempt.id}`,
      body: `CI still fails with this fix, and this was attempt ${attempt.attemptNumber} of ${config.max_attempts} (\`max_attempts\` in .github/fixloop.yml). fixloop stops here; the branch is yours to continue or close.`,
    });
  }
  await recordAttemptOutcome(deps.store.db, attempt, { status: "ci_failed", reason: `${verdict}; max_attempts reached` }, { name: METRICS.ciPassed, value: false });
  return { status: "done", result: { attemptId: attempt.id, verdict: "ci_failed", gaveUp: true } };
}

export function fixJobHandlers(deps: FixDeps) {
  const summaryDeps = { ...deps, loadConfig: (octokit: Octokit, owner: string, repo: string) => loadRepoConfig(octokit as never, owner, repo) };
  return {
    [FIX_JOB]: withSummaryComment(summaryDeps, (payload: FixJobPayload, ctx) => runFixJob(deps, payload, ctx)),
    "fix-follow-up": withSummaryComment(summaryDeps, (payload: FixTrigger, ctx) => runFollowUpJob(deps, payload, ctx)),
    [MOVED_ON_JOB]: (payload: MovedOnPayload) => runMovedOnJob(deps, payload),
    ...commandJobHandlers(deps),
  };
}

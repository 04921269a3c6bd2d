/**
 * Steps 4–9 of the flow as two job handlers: `fix` (context → prompt → model →
 * patch → publish) and `fix-follow-up` (CI on a fix branch decided). Each step
 * is a small module taking data and returning data; this file is the edge
 * that does the I/O, records progress on the fix attempt, and can resume
 * after a crash without doing anything twice.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import {
  InvalidConfigError,
  isWatchedBranch,
  isWatchedWorkflow,
  loadRepoConfig,
  safetyRulesFor,
  type RepoConfig,
} from "../config/repo-config.js";
import { httpStatusOf, latestRunOnBranch, rerunFailedJobs } from "../github/actions.js";
import { isPermissionRefusal, permissionRefusalReason, unsupportedConfigReason } from "../github/permissions.js";
import { upsertComment } from "../github/comments.js";
import { fetchFilesAtRef, repoPathProblem, type FetchedFiles, type RepoListing } from "../github/files.js";
import { closePullRequest, markReadyForReview, publishFix } from "../github/publish.js";
import { type JobContext, type JobOutcome, type JobQueue } from "../queue/index.js";
import type { Store } from "../store/db.js";
import { prOutcomes, type FixAttempt } from "../store/schema.js";
import {
  attemptsOfChain,
  AWAITING_RERUN,
  createAttempt,
  findAttemptByFixBranch,
  fixBranchName,
  getAttempt,
  setAttemptStatus,
  tokensSpentSince,
  updateAttempt,
} from "./attempts.js";
import { recordAuthoredLink } from "../outcomes/attribution.js";
import { recordFeedback } from "../outcomes/outbox.js";
import { METRICS } from "../tensorzero/metrics.js";
import { estimateInferenceTokens, releaseTokens, reserveInference } from "./budget.js";
import { collectFailure, sameFailure, type CollectedFailure } from "./collect.js";
import type { GreenRunQuery, LastGreenBaselines } from "./last-green.js";
import { selectRankedFiles } from "./context/files.js";
import { fileBudgetFactor, locateOnGitHub } from "./localize/github.js";
import { ContextLengthError, GatewayRequestError, GatewayUnavailableError, type ModelClient } from "./model.js";
import { applyPatch, checkPatchSafety, pathsToFetch, renderChangesAsDiff } from "./patch/index.js";
import { readAnswerEdits } from "./patch/answer.js";
import { diffStat, explanationOf, renderPatchComment, renderPrBody, type PrBodyInput } from "./pr-body.js";
import { buildPatchRequestArguments, buildPatchSystemArguments, DEFAULT_PROMPT_TOKEN_BUDGET, PROMPT_VERSION } from "./prompt.js";
import { commentReason, provenanceOf } from "./fork.js";
import { MOVED_ON_JOB, runMovedOnJob, type MovedOnPayload } from "./moved-on.js";
import { postRefusal } from "./refusal.js";
import { chainIdOf, FIX_JOB, type FixTrigger } from "./trigger.js";
import { stoppedOrSuperseded, type CommandRequest } from "./held.js";
import { commandJobHandlers } from "../commands/run.js";
import { failureSummaryOf } from "./matrix.js";
import { loadConfigForJob, withSummaryComment } from "./summary.js";
import { INSTRUCTIONS_SHARE, readRepoInstructions } from "./instructions.js";

export type Octokit = InstanceType<typeof ProbotOctokit>;

export interface FixDeps {
  store: Store;
  /** An installation-authenticated client (Probot's `auth(installationId)`). */
  github(installationId: number | null): Promise<Octokit>;
  /** null when no TensorZero gateway is configured. */
  model: ModelClient | null;
  queue: JobQueue;
  log: Logger;
  /** FIXLOOP_DRY_RUN=1: the whole flow with no writes to GitHub. */
  dryRun?: boolean;
  /** FIXLOOP_MAX_TOKENS_PER_DAY: a cap over all repositories. */
  globalTokensPerDay?: number | null;
  now?: () => Date;
  /** Last green runs' logs to diff failing logs against; absent: no baseline (FIXLOOP_BASELINE=0). */
  baselines?: LastGreenBaselines;
}

/** A later attempt of an existing chain, started by the follow-up of a red fix branch. */
export interface ChainContinuation {
  chainId: string;
  attemptNumber: number;
  previousAttemptId: string;
  episodeId: string;
  /** The branch the chain fixes (the first attempt's failing branch): PRs target it. */
  baseBranch: string | null;
  chainRunId: string;
}

export interface FixJobPayload extends FixTrigger {
  continuation?: ChainContinuation;
  /** Started by a person's comment command (`/fixloop fix`, `/fixloop retry <hint>`). */
  command?: CommandRequest;
}

/** Files shown besides those the context names (which are shown up to MAX_FILES_NAMED_IN_CONTEXT). */
const MAX_PROMPT_FILES = 8;

/** How often a fix job looks again for a gateway while none is configured. */
const NO_GATEWAY_WAIT_MS = 10 * 60_000;

const TERMINAL = new Set(["awaiting_ci", "ci_passed", "ci_failed", "skipped", "failed"]);

function splitRepo(slug: string): { owner: string; repo: string } {
  const [owner, repo] = slug.split("/");
  return { owner, repo };
}

function startOfUtcDay(now: Date): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
}

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

/**
 * Changes an attempt and records its outcome metric in one transaction: the
 * outbox then reports it to TensorZero, once.
 */
async function recordOutcome(
  deps: FixDeps,
  attempt: FixAttempt,
  changes: Partial<FixAttempt>,
  metric: { name: string; value: boolean } | null,
): Promise<FixAttempt> {
  return deps.store.db.transaction(async (tx) => {
    const updated = await updateAttempt(tx, attempt.id, changes);
    if (metric && attempt.inferenceId) {
      await recordFeedback(tx, {
        attemptId: attempt.id,
        metricName: metric.name,
        target: { type: "inference", id: attempt.inferenceId },
        value: metric.value,
        tags: { repo: attempt.repoSlug, attempt: String(attempt.attemptNumber) },
      });
    }
    return updated;
  });
}

/** The model's patch was refused or did not apply: fixloop_patch_applied = false. */
async function refusePatch(deps: FixDeps, attempt: FixAttempt, reason: string, diff?: string): Promise<JobOutcome> {
  await recordOutcome(deps, attempt, { status: "failed", reason, ...(diff ? { diff } : {}) }, { name: METRICS.patchApplied, value: false });
  deps.log.warn({ attempt: attempt.id, reason }, "patch refused");
  return { status: "done", result: { attemptId: attempt.id, failed: reason } };
}

async function skip(deps: FixDeps, attempt: FixAttempt, reason: string): Promise<JobOutcome> {
  await setAttemptStatus(deps.store.db, attempt.id, "skipped", reason);
  deps.log.info({ attempt: attempt.id, reason }, "fix skipped");
  return { status: "skipped", reason, result: { attemptId: attempt.id } };
}

async function fail(deps: FixDeps, attempt: FixAttempt, reason: string): Promise<JobOutcome> {
  await setAttemptStatus(deps.store.db, attempt.id, "failed", reason);
  deps.log.warn({ attempt: attempt.id, reason }, "fix failed");
  // The job itself did its work: the attempt records why there is no fix.
  return { status: "done", result: { attemptId: attempt.id, failed: reason } };
}

/** Which PR (if any) the failing commit belongs to, as stored; fork-ness is decided by ./fork.ts before publishing. */
async function pullRequestOf(deps: FixDeps, trigger: FixTrigger) {
  const rows = await deps.store.db
    .select({ prNumber: prOutcomes.prNumber, baseRef: prOutcomes.baseRef, isFork: prOutcomes.isFork, state: prOutcomes.state })
    .from(prOutcomes)
    .where(and(sql`lower(${prOutcomes.repoSlug}) = lower(${trigger.repo})`, eq(prOutcomes.headSha, trigger.headSha)));
  const open = rows.find((r) => r.state === "open") ?? rows[0];
  return {
    number: open?.prNumber ?? trigger.prNumbers[0] ?? null,
    baseRef: open?.baseRef ?? null,
    stored: rows,
  };
}

async function guard(deps: FixDeps, trigger: FixJobPayload, config: RepoConfig, pr: { baseRef: string | null }): Promise<string | null> {
  if (!config.enabled) return "disabled in .github/fixloop.yml";
  const held = await stoppedOrSuperseded(deps.store.db, trigger);
  if (held) return held;
  const unsupported = unsupportedConfigReason(config);
  if (unsupported) return unsupported;
  if (!trigger.continuation) {
    const branchWatched =
      isWatchedBranch(config, trigger.headBranch, trigger.defaultBranch) || (pr.baseRef !== null && isWatchedBranch(config, pr.baseRef, trigger.defaultBranch));
    if (!branchWatched) return `branch ${trigger.headBranch ?? "(none)"} is not watched`;
  }
  if (!isWatchedWorkflow(config, { name: trigger.workflowName, path: trigger.workflowPath })) return `workflow ${trigger.workflowName} is not watched`;
  const attemptNumber = trigger.continuation?.attemptNumber ?? 1;
  if (attemptNumber > config.max_attempts) return `max_attempts (${config.max_attempts}) reached`;
  const now = deps.now?.() ?? new Date();
  const since = startOfUtcDay(now);
  const spent = await tokensSpentSince(deps.store.db, since, trigger.repo);
  if (spent >= config.max_tokens_per_day) return `budget: ${spent} tokens spent today, max_tokens_per_day is ${config.max_tokens_per_day}`;
  if (deps.globalTokensPerDay !== null && deps.globalTokensPerDay !== undefined) {
    const all = await tokensSpentSince(deps.store.db, since);
    if (all >= deps.globalTokensPerDay) return `budget: ${all} tokens spent today across repositories, FIXLOOP_MAX_TOKENS_PER_DAY is ${deps.globalTokensPerDay}`;
  }
  return null;
}

/** The base branch's latest run of this workflow fails the same way: not this change's fault. */
async function preExistingOn(deps: FixDeps, octokit: Octokit, trigger: FixTrigger, failure: CollectedFailure, baseBranch: string | null): Promise<string | null> {
  if (trigger.provider !== "github-actions" || !trigger.workflowId || !baseBranch || baseBranch === trigger.headBranch) return null;
  const { owner, repo } = splitRepo(trigger.repo);
  const latest = await latestRunOnBranch(octokit, { owner, repo, workflowId: trigger.workflowId, branch: baseBranch });
  if (!latest || latest.headSha === trigger.headSha || latest.conclusion !== "failure") return null;
  const baseFailure = await collectFailure(octokit, { ...trigger, runId: String(latest.id), runAttempt: latest.runAttempt ?? 1 }, { budgetTokens: 500, maxJobs: 1 });
  return sameFailure(failure, baseFailure) ? `pre-existing: ${baseBranch} fails the same way (run ${latest.id})` : null;
}

/** Localisation's last green commit from the baseline's cached lookup: a failed lookup is no green run, never a failed job. */
function sharedGreenSha(baselines: LastGreenBaselines, octokit: Octokit, query: GreenRunQuery): () => Promise<string | null> {
  return async () => {
    try {
      return (await baselines.greenRun(octokit, query))?.headSha ?? null;
    } catch {
      return null;
    }
  };
}

async function fetchInto(octokit: Octokit, trigger: FixTrigger, paths: string[], into: FetchedFiles, tree: RepoListing | null = null): Promise<void> {
  const wanted = [...new Set(paths)].filter((p) => !(p in into) && repoPathProblem(p) === null);
  if (wanted.length === 0) return;
  const { owner, repo } = splitRepo(trigger.repo);
  Object.assign(into, await fetchFilesAtRef(octokit, { owner, repo, ref: trigger.headSha, paths: wanted, tree }));
}

function textOriginals(files: FetchedFiles): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(files).map(([path, f]) => [path, f?.type === "file" ? f.content : undefined]));
}

/** Files a patch may not touch whatever the diff says: what GitHub told us is not a plain text file. */
function unsafeKinds(files: FetchedFiles, paths: string[]): string[] {
  return paths.flatMap((p) => {
    const f = files[p];
    return f && f.type !== "file" ? [`${p}: is a ${f.type}`] : [];
  });
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
  const { owner, repo } = splitRepo(trigger.repo);
  let config: RepoConfig;
  try {
    config = await loadConfigForJob(job, () => loadRepoConfig(octokit as never, owner, repo));
  } catch (error) {
    if (error instanceof InvalidConfigError) return skip(deps, attempt, error.message);
    throw error;
  }
  const pr = await pullRequestOf(deps, trigger);
  const guarded = await guard(deps, trigger, config, pr);
  if (guarded) return skip(deps, attempt, guarded);
  const dryRun = Boolean(deps.dryRun || config.dry_run);

  // Triage before spending tokens: re-run once; a pass then is flaky, not fixed.
  // A person who asked for the fix has looked at the failure already: no re-run first.
  const isFirstRun = trigger.runAttempt === 1 && !trigger.continuation && !trigger.command;
  if (config.rerun_first && isFirstRun && trigger.provider === "github-actions" && attempt.reason !== AWAITING_RERUN) {
    if (dryRun) {
      deps.log.info({ attempt: attempt.id }, "dry run: would re-run the failed jobs first");
    } else {
      try {
        await rerunFailedJobs(octokit, { owner, repo, runId: Number(trigger.runId) });
        await setAttemptStatus(db, attempt.id, "queued", AWAITING_RERUN);
        return { status: "done", result: { attemptId: attempt.id, rerun: true } };
      } catch (error) {
        // The app lacks Actions: write: fixing now would spend tokens on what may be a flaky run.
        if (isPermissionRefusal(error)) return fail(deps, attempt, `configuration error: ${permissionRefusalReason("re-running the failed jobs", "Actions: write", error)}`);
        // A run that cannot be re-run for other reasons (too old) is fixed straight away.
        deps.log.warn({ err: error, status: httpStatusOf(error) }, "re-run of failed jobs refused; fixing directly");
      }
    }
  }

  // The gateway is known to be down: wait now instead of reading logs and files for nothing.
  const gatewayWait = !attempt.inferenceId ? (deps.model?.unavailableForMs?.() ?? 0) : 0;
  if (gatewayWait > 0) {
    await setAttemptStatus(db, attempt.id, "queued", "waiting for the TensorZero gateway: circuit open");
    return { status: "wait", delayMs: gatewayWait, reason: "gateway unavailable (circuit_open)" };
  }

  attempt = await setAttemptStatus(db, attempt.id, "collecting");
  const greenBranches = [trigger.headBranch, pr.baseRef, trigger.defaultBranch];
  const failure = await collectFailure(octokit, trigger, {
    budgetTokens: config.context_budget_tokens,
    signal: job.signal,
    ...(deps.baselines ? { baseline: { source: deps.baselines, branches: greenBranches } } : {}),
  });
  await updateAttempt(db, attempt.id, { failureClass: failure.context.class, failureSummary: failureSummaryOf(failure), baselineRunId: failure.baselineRunId });
  if (failure.context.class === "infra") return skip(deps, attempt, `infra: ${failure.context.infraReason ?? "platform failure"}`);
  if (failure.jobs.length === 0 && failure.context.context.trim() === "") return skip(deps, attempt, "no failed job or check output to read");
  const preExisting = await preExistingOn(deps, octokit, trigger, failure, pr.baseRef ?? trigger.defaultBranch);
  if (preExisting) return skip(deps, attempt, preExisting);

  // The files the fix needs: the log's evidence resolved against the tree, the tests' sources, what changed since green.
  const files: FetchedFiles = {};
  const located = await locateOnGitHub(octokit, {
    owner,
    repo,
    headSha: trigger.headSha,
    failure: { context: failure.context.context, errorLines: failure.context.errorLines, files: failure.context.files, log: failure.evidence },
    workflowId: trigger.provider === "github-actions" ? trigger.workflowId : null,
    branch: trigger.headBranch,
    ...(deps.baselines && trigger.provider === "github-actions" && trigger.workflowId
      ? { lastGreenSha: sharedGreenSha(deps.baselines, octokit, { owner, repo, workflowId: trigger.workflowId, branches: greenBranches, failingRunId: Number(trigger.runId) }) }
      : {}),
    prNumber: pr.number,
    maxFiles: MAX_PROMPT_FILES,
    files,
  });
  await fetchInto(octokit, trigger, located.shown.map((f) => f.path), files, located.listing);

  const promptFiles = selectRankedFiles(located.shown, textOriginals(files), config.context_budget_tokens * fileBudgetFactor(located.shown));
  const previous = trigger.continuation ? await getAttempt(db, trigger.continuation.previousAttemptId) : undefined;
  let answer: { content: string } = { content: attempt.diff ?? "" };
  if (!attempt.inferenceId || !attempt.diff) {
    if (!deps.model) {
      // Not a failure of this fix: it runs once a gateway is configured (and the server restarted).
      await setAttemptStatus(db, attempt.id, "queued", "waiting: no TensorZero gateway configured (set TENSORZERO_URL)");
      return { status: "wait", delayMs: NO_GATEWAY_WAIT_MS, reason: "no TensorZero gateway configured (set TENSORZERO_URL)" };
    }
    const instructions = await readRepoInstructions(octokit, {
      owner,
      repo,
      ref: trigger.headSha,
      failingPaths: located.shown.map((f) => f.path),
      tree: located.listing,
      configured: config.instructions,
      budgetTokens: Math.floor(DEFAULT_PROMPT_TOKEN_BUDGET * INSTRUCTIONS_SHARE),
    });
    attempt = await updateAttempt(db, attempt.id, { status: "prompting", reason: null, instructionFiles: instructions.files });
    const system = buildPatchSystemArguments({ maxFiles: config.max_files, maxChangedLines: config.max_changed_lines, protectedPaths: config.paths.exclude });
    const user = (factor: number) =>
      buildPatchRequestArguments(
        {
          repo: trigger.repo,
          workflow: trigger.workflowName ?? "CI",
          job: failure.jobs.map((j) => j.name).join(", ") || (trigger.workflowName ?? "CI"),
          failingStep: failure.context.failingStep,
          failureClass: failure.context.class,
          errorLines: failure.context.errorLines,
          logExcerpt: failure.context.context,
          files: promptFiles.map((f) => ({ path: f.path, content: f.content, startLine: f.startLine, truncated: f.truncated, ...(f.why ? { why: f.why } : {}) })),
          attempt: attempt.attemptNumber,
          maxAttempts: config.max_attempts,
          previousAttempt: previous?.diff ? { diff: previous.diff, error: failure.context.errorLines.join("\n") || failure.context.context.slice(-2000) } : null,
          sameFailureJobs: failure.sameFailureJobs.map((j) => j.name),
          repoInstructions: instructions.docs,
          personHint: trigger.command?.hint ? { author: trigger.command.author, text: trigger.command.hint } : null,
        },
        { tokenBudget: Math.floor(DEFAULT_PROMPT_TOKEN_BUDGET * factor) },
      );
    // Reserved before the call and settled after (the usage below replaces it), so concurrent jobs cannot all pass the cap.
    const overBudget = await reserveInference(db, attempt.id, estimateInferenceTokens(system, user(1)), {
      repo: trigger.repo,
      since: startOfUtcDay(deps.now?.() ?? new Date()),
      perRepo: config.max_tokens_per_day,
      global: deps.globalTokensPerDay ?? null,
    });
    if (overBudget) return skip(deps, attempt, overBudget);
    try {
      const result = await deps.model.proposePatch({
        episodeId: attempt.episodeId,
        tags: { repo: trigger.repo, run: trigger.runId, attempt: String(attempt.attemptNumber), chain: attempt.chainId },
        system,
        user,
      });
      // SQLite text stops at a NUL: keep the answer whole in storage and refuse it (no patch carries NULs).
      if (result.content.includes("\u0000")) {
        attempt = await updateAttempt(db, attempt.id, { inferenceId: result.inferenceId, variant: result.variant, model: result.model, inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens });
        return refusePatch(deps, attempt, "patch refused: the model's answer contains NUL bytes", result.content.replaceAll("\u0000", "\\0"));
      }
      attempt = await updateAttempt(db, attempt.id, {
        inferenceId: result.inferenceId,
        episodeId: result.episodeId,
        variant: result.variant,
        model: result.model,
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        explanation: explanationOf(result.content),
        // The raw answer until the diff is taken out of it, so a crash does not pay for a second inference.
        diff: result.content,
      });
      answer = result;
    } catch (error) {
      // No answer, so no usage to settle: the room goes back (a retry reserves again).
      await releaseTokens(db, attempt.id);
      if (error instanceof GatewayUnavailableError) {
        await setAttemptStatus(db, attempt.id, "queued", `waiting for the TensorZero gateway: ${error.message}`);
        return { status: "wait", delayMs: error.retryAfterMs, reason: `gateway unavailable (${error.reason})` };
      }
      if (error instanceof ContextLengthError || error instanceof GatewayRequestError) return fail(deps, attempt, `model: ${error.message}`);
      throw error;
    }
  }

  attempt = await setAttemptStatus(db, attempt.id, "patching");
  const edits = readAnswerEdits(answer.content, promptFiles, textOriginals(files), attempt.variant);
  if ("refused" in edits) return refusePatch(deps, attempt, edits.refused);
  deps.log.info({ attempt: attempt.id, format: edits.read.description }, "edits read");
  const parsed = edits.read.files;
  let diff = edits.diff;
  const needed = pathsToFetch(parsed);
  const rules = safetyRulesFor(config);
  const describe = (v: { path: string | null; message: string }) => `${v.path ?? "patch"}: ${v.message}`;
  // Paths and limits first: a refused patch costs no reads of files it may not touch.
  let violations = [
    ...needed.flatMap((p) => (repoPathProblem(p) ? [`${p}: ${repoPathProblem(p)}`] : [])),
    ...checkPatchSafety(parsed, rules).map(describe),
  ];
  if (violations.length === 0) {
    await fetchInto(octokit, trigger, needed, files, located.listing);
    violations = [...unsafeKinds(files, needed), ...checkPatchSafety(parsed, rules, textOriginals(files)).map(describe)];
  }
  if (violations.length > 0) {
    // Said on the PR before the attempt is closed: a retry after a failed comment finds the attempt open and says it again.
    const workflow = trigger.workflowName ?? "CI";
    await postRefusal(octokit, { owner, repo, prNumber: pr.number, attempt, violations, maxAttempts: config.max_attempts, workflow, runId: trigger.runId, dryRun, log: deps.log });
    return refusePatch(deps, attempt, `patch refused: ${violations.join("; ")}`, diff);
  }
  const originals = textOriginals(files);
  const applied = applyPatch(parsed, originals);
  if (!applied.ok) {
    const failures = applied.failures.map((f) => `${f.path}${f.hunk ? ` hunk ${f.hunk}` : ""}: ${f.reason}`);
    return refusePatch(deps, attempt, `patch does not apply: ${failures.join("; ")}`, diff);
  }
  if (applied.changes.length === 0) return refusePatch(deps, attempt, "patch refused: it changes nothing", diff);
  if (!edits.read.standardDiff) diff = renderChangesAsDiff(applied.changes, originals);
  const changedFiles = applied.changes.map((c) => c.path);
  attempt = await recordOutcome(deps, attempt, { diff, changedFiles }, { name: METRICS.patchApplied, value: true });

  const chainRunId = trigger.continuation?.chainRunId ?? trigger.runId;
  const baseBranch = trigger.continuation?.baseBranch ?? trigger.headBranch;
  const bodyInput: PrBodyInput = {
    repo: trigger.repo,
    workflow: trigger.workflowName,
    job: failure.jobs[0]?.name ?? null,
    failingStep: failure.context.failingStep,
    errorLines: failure.context.errorLines,
    runUrl: failure.jobs[0]?.htmlUrl ?? null,
    explanation: attempt.explanation ?? "",
    diffStat: diffStat(applied.changes.map((c) => ({ path: c.path, before: originals[c.path], after: c.content }))),
    inferenceId: attempt.inferenceId,
    episodeId: attempt.episodeId,
    variant: attempt.variant,
    attempt: attempt.attemptNumber,
    maxAttempts: config.max_attempts,
    failingSha: trigger.headSha,
    failingBranch: baseBranch,
    sameFailureJobs: failure.sameFailureJobs.map((j) => j.name),
    requestedBy: attempt.requestedBy,
    hint: attempt.hint,
    instructionFiles: attempt.instructionFiles,
  };
  const prBody = renderPrBody(bodyInput);
  attempt = await updateAttempt(db, attempt.id, { prBody });

  if (dryRun) {
    deps.log.info({ attempt: attempt.id, diff, prBody }, "dry run: fix ready, nothing written to GitHub");
    return skip(deps, attempt, "dry run: the diff and PR body are stored on the attempt");
  }
  // The branch may have moved on (or someone said stop) while the model was thinking.
  const heldBeforePublish = await stoppedOrSuperseded(db, trigger);
  if (heldBeforePublish) return skip(deps, attempt, heldBeforePublish);
  attempt = await setAttemptStatus(db, attempt.id, "publishing");
  const provenance = await provenanceOf(octokit, trigger, pr.stored);
  const commentInstead = commentReason(provenance) ?? (config.delivery === "comment" ? "this repository asks for fixes as comments" : null);
  if (commentInstead) {
    const prNumber = pr.number ?? provenance.prNumber;
    if (prNumber === null) return skip(deps, attempt, `${commentInstead}, and no PR was found to comment on`);
    await upsertComment(octokit, { owner, repo, issueNumber: prNumber, marker: `patch-${attempt.id}`, body: renderPatchComment({ ...bodyInput, diff, reason: commentInstead }) });
    return skip(deps, attempt, `delivered as a comment on #${prNumber}: ${commentInstead}`);
  }
  const modes = Object.fromEntries(Object.entries(files).map(([p, f]) => [p, f?.type === "file" ? f.mode : undefined]));
  const branch = fixBranchName(chainRunId, attempt.attemptNumber);
  const published = await publishFix(octokit, {
    owner,
    repo,
    baseSha: trigger.headSha,
    // The tree is read from the fetched commit, never taken from the payload's head_commit.tree_id.
    baseBranch: baseBranch ?? trigger.defaultBranch ?? "main",
    branch,
    firstTry: !publishedBefore,
    changes: applied.changes.map((c) => ({ path: c.path, content: c.content, mode: modes[c.path] })),
    commitMessage: `fixloop: fix ${trigger.workflowName ?? "CI"} failure${failure.context.failingStep ? ` in "${failure.context.failingStep}"` : ""}\n\nAttempt ${attempt.attemptNumber} of ${config.max_attempts} for run ${trigger.runId}.\nTensorZero inference ${attempt.inferenceId}, variant ${attempt.variant ?? "unknown"}.`,
    pr: {
      title: `fixloop: fix ${trigger.workflowName ?? "CI"} on ${baseBranch ?? trigger.headSha.slice(0, 7)}${attempt.attemptNumber > 1 ? ` (attempt ${attempt.attemptNumber})` : ""}`,
      body: prBody,
      draft: config.draft,
      labels: config.labels,
    },
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
  return { status: "done", result: { attemptId: attempt.id, prNumber: published.prNumber, branch: published.branch } };
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
    await recordOutcome(deps, attempt, { status: "ci_passed", reason: null }, { name: METRICS.ciPassed, value: true });
    return { status: "done", result: { attemptId: attempt.id, verdict: "ci_passed" } };
  }
  // Side effects first (each idempotent), the verdict last: a retry after a crash redoes what is missing.
  const verdict = `CI failed on the fix branch (run ${trigger.runId})`;
  let config: RepoConfig;
  try {
    config = await loadConfigForJob(job, () => loadRepoConfig(octokit as never, owner, repo));
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      await recordOutcome(deps, attempt, { status: "ci_failed", reason: `${verdict}; ${error.message}` }, { name: METRICS.ciPassed, value: false });
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
    await recordOutcome(deps, attempt, { status: "ci_failed", reason: verdict }, { name: METRICS.ciPassed, value: false });
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
  await recordOutcome(deps, attempt, { status: "ci_failed", reason: `${verdict}; max_attempts reached` }, { name: METRICS.ciPassed, value: false });
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

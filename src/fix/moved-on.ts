/**
 * Open fix PRs built on a commit the branch has moved past. Queued jobs for
 * the old commit are cancelled at the push (supersede.ts); an open fix PR
 * waits for the new head's run of the same workflow, because only that run
 * says whether the failure is still there:
 *  - green, or red another way: the PR is closed with a comment ("the branch
 *    moved on; the failure may be gone"), and a red run starts its own chain;
 *  - red the same way (same failing step and normalised first error line, as
 *    matrix.ts groups jobs): the chain continues on the new head — its next
 *    attempt is built on the new commit, and publishing it closes the old PR
 *    as superseded by the new one (pipeline.ts, as for any next attempt).
 * The completed-run handler sends such runs here instead of straight to a
 * fix job (`staleFixPrsOf`), so one failure never gets two fixes.
 */
import { and, desc, eq, isNotNull, ne, sql, type SQLWrapper } from "drizzle-orm";
import type { ProbotOctokit } from "probot";
import { loadRepoConfig } from "../config/repo-config.js";
import { upsertComment } from "../github/comments.js";
import { closePullRequest } from "../github/publish.js";
import type { JobOutcome, JobQueue } from "../queue/index.js";
import type { Db, Store } from "../store/db.js";
import type { TransactionMemo } from "../store/transaction-scope.js";
import { fixAttempts, type FailureSummary, type FixAttempt } from "../store/schema.js";
import { attemptsOfChain, updateAttempt } from "../store/attempts.js";
import { collectFailure } from "./collect.js";
import { normaliseErrorLine } from "./matrix.js";
import { FIX_JOB, type FixTrigger } from "./trigger.js";

export const MOVED_ON_JOB = "fix-moved-on";

type Octokit = InstanceType<typeof ProbotOctokit>;

/** What the job needs of the fix pipeline's deps (pipeline.ts's FixDeps has them all). */
export interface MovedOnDeps {
  store: Store;
  github: (installationId: number | null) => Promise<Octokit>;
  queue: JobQueue;
}

export interface MovedOnPayload {
  trigger: FixTrigger;
  /** The fix job the run would have had (red runs), with its dedup key. */
  fixDedupKey: string | null;
}

type Value = string | SQLWrapper;

/** Open fix PRs for an older commit of a branch and workflow, not yet superseded (values or placeholders). */
function staleFixPrCondition(repo: Value, headBranch: Value, workflowName: Value | null, headSha: Value) {
  return and(
    sql`lower(${fixAttempts.repoSlug}) = lower(${repo})`,
    eq(fixAttempts.headBranch, headBranch),
    workflowName === null ? sql`${fixAttempts.workflowName} IS NULL` : eq(fixAttempts.workflowName, workflowName),
    ne(fixAttempts.headSha, headSha),
    eq(fixAttempts.status, "awaiting_ci"),
    isNotNull(fixAttempts.prNumber),
    // Closed here before, or already followed by a later attempt of its chain (which closes it when it publishes).
    sql`coalesce(${fixAttempts.reason}, '') NOT LIKE 'superseded:%'`,
    sql`NOT EXISTS (SELECT 1 FROM fix_attempts later WHERE later.chain_id = ${fixAttempts.chainId} AND later.attempt_number > ${fixAttempts.attemptNumber})`,
  );
}

/**
 * The latest attempts of chains on this run's branch and workflow whose fix
 * PR is still open (awaiting its CI) and which were built on another commit.
 */
export async function staleFixPrsOf(db: Db, trigger: FixTrigger): Promise<FixAttempt[]> {
  if (!trigger.headBranch) return [];
  return db
    .select()
    .from(fixAttempts)
    .where(staleFixPrCondition(trigger.repo, trigger.headBranch, trigger.workflowName, trigger.headSha))
    .orderBy(desc(fixAttempts.createdAt));
}

/** hasStaleFixPrs's statements, built once per database: the check (a run with and without a workflow name), and the branches it may find. */
function prepareStaleChecks(db: Db) {
  const check = (workflowName: Value | null) =>
    db
      .select({ one: sql<number>`1` })
      .from(fixAttempts)
      .where(staleFixPrCondition(sql.placeholder("repo"), sql.placeholder("branch"), workflowName, sql.placeholder("sha")))
      .limit(1)
      .prepare();
  const openBranches = db
    .selectDistinct({ repo: sql<string>`lower(${fixAttempts.repoSlug})`, branch: fixAttempts.headBranch })
    .from(fixAttempts)
    .where(and(eq(fixAttempts.status, "awaiting_ci"), isNotNull(fixAttempts.prNumber)))
    .prepare();
  return { named: check(sql.placeholder("workflow")), unnamed: check(null), openBranches };
}

const staleChecks = new WeakMap<Db, ReturnType<typeof prepareStaleChecks>>();

const OPEN_FIX_PR_BRANCHES = Symbol("branches with an open fix PR awaiting its CI");

/** A repository and branch as a key; the repository lower-cased as SQLite's lower() does it (ASCII only). */
function branchKey(repo: string, branch: string | null): string {
  return JSON.stringify([repo.replace(/[A-Z]+/g, (upper) => upper.toLowerCase()), branch]);
}

/**
 * Whether staleFixPrsOf would find any: asked on every completed run at
 * ingest, so it is prepared once and reads no columns. Inside a write
 * transaction (`memo`) the branches that have an open fix PR awaiting its CI
 * are read once, and a run on another branch (nearly all of them) is answered
 * without a statement: only a fix job's publish step makes a PR await its CI,
 * never an ingest handler, and no other connection writes meanwhile.
 */
export async function hasStaleFixPrs(db: Db, trigger: FixTrigger, memo?: TransactionMemo): Promise<boolean> {
  if (!trigger.headBranch) return false;
  let checks = staleChecks.get(db);
  if (!checks) staleChecks.set(db, (checks = prepareStaleChecks(db)));
  if (memo) {
    const { openBranches } = checks;
    const open = await memo.get(OPEN_FIX_PR_BRANCHES, async () => new Set((await openBranches.all()).map((row) => branchKey(row.repo, row.branch))));
    if (!open.has(branchKey(trigger.repo, trigger.headBranch))) return false;
  }
  const values = { repo: trigger.repo, branch: trigger.headBranch, sha: trigger.headSha };
  const found =
    trigger.workflowName === null ? await checks.unnamed.all(values) : await checks.named.all({ ...values, workflow: trigger.workflowName });
  return found.length > 0;
}

/** The same failure: same failing step, same normalised first error line (matrix.ts's grouping). */
export function sameFailureSummary(a: FailureSummary | null, b: FailureSummary): boolean {
  if (!a?.firstErrorLine || !b.firstErrorLine) return false;
  return (a.failingStep ?? "") === (b.failingStep ?? "") && normaliseErrorLine(a.firstErrorLine) === normaliseErrorLine(b.firstErrorLine);
}

export const MOVED_ON_NOTE = "The branch moved on; the failure may be gone.";

function short(sha: string): string {
  return sha.slice(0, 7);
}

export async function runMovedOnJob(deps: MovedOnDeps, payload: MovedOnPayload): Promise<JobOutcome> {
  const { trigger } = payload;
  const db = deps.store.db;
  const stale = await staleFixPrsOf(db, trigger);
  const red = payload.fixDedupKey !== null;
  const octokit = await deps.github(trigger.installationId);
  const [owner, repo] = trigger.repo.split("/");

  let continued: { from: FixAttempt; continuation: { chainId: string; attemptNumber: number; previousAttemptId: string; episodeId: string; baseBranch: string | null; chainRunId: string } } | null = null;
  if (red && stale.length > 0) {
    const failure = await collectFailure(octokit, trigger, { budgetTokens: 500, maxJobs: 1 });
    const summary: FailureSummary = { failingStep: failure.context.failingStep, firstErrorLine: failure.context.errorLines[0] ?? null, job: null, sameFailureJobs: [] };
    const same = stale.find((a) => sameFailureSummary(a.failureSummary, summary));
    if (same) {
      const config = await loadRepoConfig(octokit as never, owner, repo);
      if (same.attemptNumber < config.max_attempts) {
        continued = {
          from: same,
          continuation: {
            chainId: same.chainId,
            attemptNumber: same.attemptNumber + 1,
            previousAttemptId: same.id,
            episodeId: same.episodeId!,
            baseBranch: same.headBranch,
            chainRunId: (await attemptsOfChain(db, same.chainId))[0]?.triggerRunId ?? same.triggerRunId,
          },
        };
      }
    }
  }

  const closed: number[] = [];
  for (const attempt of stale) {
    if (attempt === continued?.from) continue;
    await upsertComment(octokit, {
      owner,
      repo,
      issueNumber: attempt.prNumber!,
      marker: `moved-on-${attempt.id}`,
      body: `${MOVED_ON_NOTE} \`${trigger.headBranch}\` is now at ${short(trigger.headSha)}, and its ${trigger.workflowName ?? "CI"} run there ${red ? "fails another way" : "passed"}, so this fix for ${short(attempt.headSha)} is closed.`,
    });
    await closePullRequest(octokit, { owner, repo, prNumber: attempt.prNumber! });
    await updateAttempt(db, attempt.id, { reason: `superseded: ${trigger.headBranch} moved on to ${short(trigger.headSha)}; the failure may be gone (PR closed)` });
    closed.push(attempt.prNumber!);
  }

  let next: { id: number; created: boolean } | null = null;
  if (continued) {
    const { continuation } = continued;
    next = await deps.queue.enqueue(FIX_JOB, { ...trigger, continuation }, { dedupKey: `fix:${continuation.chainId}:attempt:${continuation.attemptNumber}` });
  } else if (payload.fixDedupKey) {
    next = await deps.queue.enqueue(FIX_JOB, trigger, { dedupKey: payload.fixDedupKey });
  }
  return { status: "done", result: { closed, continuedChain: continued?.continuation.chainId ?? null, nextJob: next?.id ?? null } };
}

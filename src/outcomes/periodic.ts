/**
 * Outcomes that need time or the API: held-up verdicts once a fix's window
 * has passed, and the downstream-touch backfill through the REST API for
 * commits no push event brought. Also a sweep that settles what reached the
 * store without passing the webhook handlers (`fixloop backfill`, outages):
 * closed fix PRs with no merged verdict and merged revert PRs. It writes
 * through the same functions as the live handlers, so it finds the same
 * outcomes and records the same feedback, once.
 */
import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import { createLibsqlQueue, type JobQueue } from "../queue/index.js";
import type { Store } from "../store/db.js";
import { METRICS } from "../tensorzero/metrics.js";
import { commitsTouchingPaths } from "./api.js";
import { splitRepo } from "../github/repo.js";
import { closedFixPrs, fixPrByNumber, hasFeedback, mergedFixOf, mergedFixPrsWithout, mergedRevertPrs, pushSeenSince, type FixPr } from "./store.js";
import { outcomeWindowDays, windowEnd, type HeldUpVerdict } from "./touches.js";
import {
  applyBranchCommits,
  applyRevertPr,
  enqueueMergedFollowUps,
  OUTCOME_BACKFILL_JOB,
  recordHeldUpVerdict,
  settleFixPr,
  type OutcomePayload,
} from "./track.js";

/** An open window of a repository without push events is read through the API at most once per slot. */
export const BACKFILL_SLOT_MS = 6 * 3_600_000;

export interface OutcomeDeps {
  store: Store;
  /** An installation-authenticated client (Probot's `auth(installationId)`). */
  github(installationId: number | null): Promise<ProbotOctokit>;
  log: Logger;
  /** Where follow-up jobs go; the libSQL jobs table when absent. */
  queue?: JobQueue;
  /** Days after a merge in which reverts and new fixes count against it (default FIXLOOP_OUTCOME_WINDOW_DAYS, or 30). */
  windowDays?: number;
  now?: () => Date;
}

export interface BackfillResult {
  commits: number;
  touchesAdded: number;
  reverted: number[];
  requests: number;
}

/**
 * Lists the base branch's commits that touched the fix's files since the
 * merge (up to the window's end, or now) and runs them through the same
 * rules as pushed commits.
 */
export async function backfillFixPr(deps: OutcomeDeps, fix: FixPr, now: Date): Promise<BackfillResult> {
  const merged = mergedFixOf(fix);
  const windowDays = deps.windowDays ?? outcomeWindowDays();
  if (!merged || !fix.pr.baseRef || merged.files.length === 0) return { commits: 0, touchesAdded: 0, reverted: [], requests: 0 };
  const end = windowEnd(merged.mergedAt, windowDays);
  const until = end < now.toISOString() ? end : now.toISOString();
  const octokit = await deps.github(fix.attempt.installationId);
  const listed = await commitsTouchingPaths(octokit, {
    ...splitRepo(fix.pr.repoSlug),
    branch: fix.pr.baseRef,
    paths: merged.files,
    since: merged.mergedAt,
    until,
  });
  const applied = await applyBranchCommits(deps.store.db, {
    repo: fix.pr.repoSlug,
    branch: fix.pr.baseRef,
    commits: listed.commits,
    pushHead: null,
    windowDays,
    now,
  });
  return { commits: listed.commits.length, touchesAdded: applied.touchesAdded, reverted: applied.reverted, requests: listed.requests };
}

export type FixPrCheck =
  | { status: "not-merged" | "decided" }
  | { status: "checked"; verdict: HeldUpVerdict; backfill: BackfillResult; windowEnd: string };

/** One merged fix PR: backfill its window through the API, then give the held-up verdict if it is due. */
export async function checkFixPrOutcome(deps: OutcomeDeps, payload: OutcomePayload): Promise<FixPrCheck> {
  const now = deps.now?.() ?? new Date();
  const windowDays = deps.windowDays ?? outcomeWindowDays();
  const fix = await fixPrByNumber(deps.store.db, payload.repo, payload.prNumber);
  const merged = fix ? mergedFixOf(fix) : null;
  if (!fix || !merged) return { status: "not-merged" };
  if (await hasFeedback(deps.store.db, fix.attempt.id, METRICS.heldUp)) return { status: "decided" };
  const backfill = await backfillFixPr(deps, fix, now);
  const refreshed = (await fixPrByNumber(deps.store.db, payload.repo, payload.prNumber)) ?? fix;
  const verdict = await recordHeldUpVerdict(deps.store.db, refreshed, windowDays, now);
  return { status: "checked", verdict, backfill, windowEnd: windowEnd(merged.mergedAt, windowDays) };
}

export interface PeriodicResult {
  /** Closed fix PRs that got their merged verdict in this run. */
  settled: number;
  /** Fix PRs found reverted by a merged revert PR in this run (first sighting or not). */
  revertedByPr: number;
  /** Fix PRs whose closed window was read through the API in this run. */
  backfilled: number;
  /** Branch backfill jobs queued for open windows in repositories that send no push events. */
  backfillsQueued: number;
  touchesAdded: number;
  heldUp: { true: number; false: number; pending: number };
  requests: number;
  failures: { repo: string; prNumber: number; error: string }[];
}

export type PeriodicOptions = Omit<OutcomeDeps, "now"> & {
  /** The instant the checks run at (default: now). */
  now?: Date;
};

/**
 * One pass over everything time- or API-dependent. Safe to run as often as
 * wanted (the server runs it every 15 minutes): every write is idempotent,
 * and the API is read inline only for a fix whose window has closed (once:
 * its verdict follows), and through one queued job per branch and 6-hour
 * slot for open windows in repositories that send no push events.
 */
export async function runPeriodicOutcomeChecks(options: PeriodicOptions): Promise<PeriodicResult> {
  const now = options.now ?? new Date();
  const deps: OutcomeDeps = { ...options, now: () => now };
  const db = options.store.db;
  const windowDays = options.windowDays ?? outcomeWindowDays();
  const queue = options.queue ?? createLibsqlQueue(options.store);
  const result: PeriodicResult = { settled: 0, revertedByPr: 0, backfilled: 0, backfillsQueued: 0, touchesAdded: 0, heldUp: { true: 0, false: 0, pending: 0 }, requests: 0, failures: [] };

  for (const fix of await closedFixPrs(db)) {
    if (await hasFeedback(db, fix.attempt.id, METRICS.prMerged)) continue;
    const settled = await settleFixPr(db, fix, now);
    if ((settled.outcome === "merged" || settled.outcome === "closed") && settled.feedbackCreated) result.settled++;
    if (settled.outcome === "merged") await enqueueMergedFollowUps(queue, fix, windowDays);
  }

  for (const pr of await mergedRevertPrs(db)) {
    if (await applyRevertPr(db, pr, windowDays, now)) result.revertedByPr++;
  }

  for (const fix of await mergedFixPrsWithout(db, METRICS.heldUp)) {
    const merged = mergedFixOf(fix)!;
    try {
      if (windowEnd(merged.mergedAt, windowDays) <= now.toISOString()) {
        // The window just closed: read it once through the API, so the verdict misses nothing pushes missed.
        const backfill = await backfillFixPr(deps, fix, now);
        result.backfilled++;
        result.touchesAdded += backfill.touchesAdded;
        result.requests += backfill.requests;
      } else if (fix.pr.baseRef && !(await pushSeenSince(db, fix.pr.repoSlug, merged.mergedAt))) {
        // No push event since the merge: this repository's pushes do not reach us; read the branch now and then.
        const slot = new Date(Math.floor(now.getTime() / BACKFILL_SLOT_MS) * BACKFILL_SLOT_MS).toISOString();
        const job = await queue.enqueue(OUTCOME_BACKFILL_JOB, { repo: fix.pr.repoSlug, branch: fix.pr.baseRef }, {
          dedupKey: `${OUTCOME_BACKFILL_JOB}:${fix.pr.repoSlug.toLowerCase()}:${fix.pr.baseRef}:${slot}`,
        });
        if (job.created) result.backfillsQueued++;
      }
      const refreshed = (await fixPrByNumber(db, fix.pr.repoSlug, fix.pr.prNumber)) ?? fix;
      const verdict = await recordHeldUpVerdict(db, refreshed, windowDays, now);
      if (verdict.verdict === null) result.heldUp.pending++;
      else if (verdict.feedbackCreated) result.heldUp[verdict.verdict ? "true" : "false"]++;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result.failures.push({ repo: fix.pr.repoSlug, prNumber: fix.pr.prNumber, error: message });
      options.log.warn({ err: error, repo: fix.pr.repoSlug, pr: fix.pr.prNumber }, "outcome check failed; the next run tries again");
    }
  }
  return result;
}

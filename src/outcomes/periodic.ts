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
import type { Db, Store } from "../store/db.js";
import { METRICS } from "../tensorzero/metrics.js";
import { commitsTouchingPaths } from "./api.js";
import { splitRepo } from "../github/repo.js";
import { readCursor, writeCursor } from "../store/cursors.js";
import { UNLIMITED_BUDGET, type TaskBudget } from "../time.js";
import {
  closedFixPrsAfter,
  fixPrByNumber,
  hasFeedback,
  mergedFixOf,
  mergedFixPrsWithout,
  mergedRevertPrsAfter,
  pushSeenSince,
  type FixPr,
  type Keyset,
} from "./store.js";
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
  /** Units of work (PR rows) this run looked at: only what lies after each sweep's cursor. */
  examined: number;
  /** The run stopped at its deadline; the cursors keep its place and the next run goes on from there. */
  stoppedEarly: boolean;
}

export type PeriodicOptions = Omit<OutcomeDeps, "now"> & {
  /** The instant the checks run at (default: now). */
  now?: Date;
  /** Time left to work (the scheduled Lambda's invocation); the run stops between two PRs when it is used up. */
  budget?: TaskBudget;
};

/** Rows a sweep reads per query. */
export const SWEEP_PAGE = 100;

/** The cursors of the sweeps below (periodic_cursors.name). */
export const CURSORS = {
  settle: "outcomes:settle-closed-fix-prs",
  revertPrs: "outcomes:merged-revert-prs",
  closedWindows: "outcomes:closed-windows",
  openWindows: "outcomes:open-windows",
} as const;

interface SweepRun {
  db: Db;
  now: Date;
  budget: TaskBudget;
  result: PeriodicResult;
}

/**
 * Works through the items after `from`, a page at a time, keeping the
 * position of the last finished item in the cursor (also when a unit throws:
 * the next run starts with the unit that failed). False when the budget ran
 * out before the end.
 */
async function sweep<T>(
  run: SweepRun,
  from: Keyset | null,
  steps: { page(after: Keyset | null): Promise<T[]>; key(item: T): Keyset; work(item: T): Promise<void>; save(after: Keyset | null, finished: boolean): Promise<void> },
): Promise<boolean> {
  let after = from;
  let finished = false;
  try {
    for (;;) {
      const items = await steps.page(after);
      for (const item of items) {
        if (run.budget.remainingMs() <= 0) {
          run.result.stoppedEarly = true;
          return false;
        }
        run.result.examined++;
        await steps.work(item);
        after = steps.key(item);
      }
      if (items.length < SWEEP_PAGE) break;
    }
    finished = true;
    return true;
  } finally {
    if (finished || after !== from) await steps.save(after, finished);
  }
}

/** A sweep whose position is the last item it finished. */
async function keysetSweep<T>(run: SweepRun, cursor: string, steps: { page(after: Keyset | null): Promise<T[]>; key(item: T): Keyset; work(item: T): Promise<void> }): Promise<boolean> {
  const from = await readCursor<Keyset>(run.db, cursor);
  return sweep(run, from, { ...steps, save: async (after) => void (after !== from && (await writeCursor(run.db, cursor, after, run.now))) });
}

const fixPrKey = (byColumn: "recordedAt" | "mergedAt") => (fix: FixPr): Keyset => ({ at: fix.pr[byColumn]!, id: fix.pr.id });

/**
 * One pass over everything time- or API-dependent, incremental: each sweep
 * keeps a cursor in the store and looks only at what lies after it, so a run
 * costs what changed since the last one, not what was ever recorded.
 *  - closed fix PRs whose row was written since the cursor: their merged
 *    verdict (what `fixloop backfill` and outages brought without a webhook);
 *  - merged revert PRs written since the cursor;
 *  - merged fixes whose window closed since the cursor: the window read once
 *    through the API, then the held-up verdict (each merged fix also has its
 *    own held-up job; this is the safety net);
 *  - once per 6-hour slot, the fixes whose window is still open: a "fixed
 *    again" verdict as soon as it is known, and one queued backfill job per
 *    branch of a repository that sends no push events.
 * Every write is idempotent. With a budget the run stops between two PRs
 * when the time is up, and the next run continues from the cursors.
 *
 * Cursors over rows by their write time (recorded_at) assume writers commit
 * in the order they stamp; the live handlers settle what they store anyway,
 * so the sweeps only catch what they missed.
 */
export async function runPeriodicOutcomeChecks(options: PeriodicOptions): Promise<PeriodicResult> {
  const now = options.now ?? new Date();
  const deps: OutcomeDeps = { ...options, now: () => now };
  const db = options.store.db;
  const windowDays = options.windowDays ?? outcomeWindowDays();
  const windowMs = windowDays * 86_400_000;
  const queue = options.queue ?? createLibsqlQueue(options.store);
  const result: PeriodicResult = {
    settled: 0,
    revertedByPr: 0,
    backfilled: 0,
    backfillsQueued: 0,
    touchesAdded: 0,
    heldUp: { true: 0, false: 0, pending: 0 },
    requests: 0,
    failures: [],
    examined: 0,
    stoppedEarly: false,
  };
  const run: SweepRun = { db, now, budget: options.budget ?? UNLIMITED_BUDGET, result };

  const recordVerdict = async (fix: FixPr) => {
    const refreshed = (await fixPrByNumber(db, fix.pr.repoSlug, fix.pr.prNumber)) ?? fix;
    const verdict = await recordHeldUpVerdict(db, refreshed, windowDays, now);
    if (verdict.verdict === null) result.heldUp.pending++;
    else if (verdict.feedbackCreated) result.heldUp[verdict.verdict ? "true" : "false"]++;
  };
  /** A fix whose check failed (GitHub down, repository gone) is reported and passed over: its own held-up job retries it. */
  const checkOne = (check: (fix: FixPr) => Promise<void>) => async (fix: FixPr) => {
    try {
      await check(fix);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result.failures.push({ repo: fix.pr.repoSlug, prNumber: fix.pr.prNumber, error: message });
      options.log.warn({ err: error, repo: fix.pr.repoSlug, pr: fix.pr.prNumber }, "outcome check failed; the fix's held-up job tries again");
    }
  };

  const settledAll = await keysetSweep(run, CURSORS.settle, {
    page: (after) => closedFixPrsAfter(db, after, SWEEP_PAGE),
    key: fixPrKey("recordedAt"),
    work: async (fix) => {
      const settled = await settleFixPr(db, fix, now);
      if ((settled.outcome === "merged" || settled.outcome === "closed") && settled.feedbackCreated) result.settled++;
      if (settled.outcome === "merged") await enqueueMergedFollowUps(queue, fix, windowDays);
    },
  });
  if (!settledAll) return result;

  const revertsAll = await keysetSweep(run, CURSORS.revertPrs, {
    page: (after) => mergedRevertPrsAfter(db, after, SWEEP_PAGE),
    key: (pr) => ({ at: pr.recordedAt, id: pr.id }),
    work: async (pr) => {
      if (await applyRevertPr(db, pr, windowDays, now)) result.revertedByPr++;
    },
  });
  if (!revertsAll) return result;

  // Windows that closed since the last run: read each once through the API, so the verdict misses nothing pushes missed.
  const windowsOpenSince = new Date(now.getTime() - windowMs).toISOString();
  const closedAll = await keysetSweep(run, CURSORS.closedWindows, {
    page: (after) => mergedFixPrsWithout(db, METRICS.heldUp, { to: windowsOpenSince, after, limit: SWEEP_PAGE }),
    key: fixPrKey("mergedAt"),
    work: checkOne(async (fix) => {
      const backfill = await backfillFixPr(deps, fix, now);
      result.backfilled++;
      result.touchesAdded += backfill.touchesAdded;
      result.requests += backfill.requests;
      await recordVerdict(fix);
    }),
  });
  if (!closedAll) return result;

  // Open windows, once per slot (the position remembers the slot and how far it got).
  const slot = new Date(Math.floor(now.getTime() / BACKFILL_SLOT_MS) * BACKFILL_SLOT_MS).toISOString();
  const open = await readCursor<{ slot: string; after: Keyset | null; finished: boolean }>(db, CURSORS.openWindows);
  if (open?.slot === slot && open.finished) return result;
  await sweep(run, open?.slot === slot ? open.after : null, {
    page: (after) => mergedFixPrsWithout(db, METRICS.heldUp, { from: windowsOpenSince, after, limit: SWEEP_PAGE }),
    key: fixPrKey("mergedAt"),
    work: checkOne(async (fix) => {
      const merged = mergedFixOf(fix)!;
      if (fix.pr.baseRef && !(await pushSeenSince(db, fix.pr.repoSlug, merged.mergedAt))) {
        // No push event since the merge: this repository's pushes do not reach us; read the branch now and then.
        const job = await queue.enqueue(OUTCOME_BACKFILL_JOB, { repo: fix.pr.repoSlug, branch: fix.pr.baseRef }, {
          dedupKey: `${OUTCOME_BACKFILL_JOB}:${fix.pr.repoSlug.toLowerCase()}:${fix.pr.baseRef}:${slot}`,
        });
        if (job.created) result.backfillsQueued++;
      }
      await recordVerdict(fix);
    }),
    save: (after, finished) => writeCursor(db, CURSORS.openWindows, { slot, after, finished }, now),
  });
  return result;
}

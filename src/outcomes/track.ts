/**
 * Outcome tracking of fix PRs: what an event (or a backfilled fact) means for
 * a fix, written with its feedback in one transaction. Everything here is a
 * function of the stored rows and the event, and idempotent, so live events,
 * redeliveries, replays and API backfills all produce the same rows and the
 * same feedback, once.
 */
import type { Logger } from "pino";
import { isFixBranch } from "../github/fix-branch.js";
import { GITHUB_PROVIDER } from "../ingest/map.js";
import type { JobQueue } from "../queue/index.js";
import type { Db, DbHandle, Store } from "../store/db.js";
import type { PrOutcome } from "../store/schema.js";
import { METRICS } from "../tensorzero/metrics.js";
import type { PushedCommit } from "./commits.js";
import { recordFeedback } from "../store/feedback.js";
import { revertedPrFromPr, revertedShas } from "./reverts.js";
import {
  fixPrByHeadRef,
  fixPrByNumber,
  linkSession,
  markReverted,
  mergedFixOf,
  mergedFixPrsByShas,
  mergedFixPrsByTitle,
  mergedFixPrsOnBranch,
  prRow,
  recordTouch,
  recountTouches,
  refixedAt,
  supersededBy,
  type FixPr,
} from "./store.js";
import { refreshPrLinks } from "../store/commit-links.js";
import { downstreamTouch, heldUpVerdict, revertsFix, type HeldUpVerdict } from "./touches.js";

export function prKey(fix: FixPr): string {
  return `${fix.pr.repoSlug.toLowerCase()}#${fix.pr.prNumber}`;
}

function prTags(fix: FixPr, extra: Record<string, string> = {}): Record<string, string> {
  return { repo: fix.pr.repoSlug, pr: String(fix.pr.prNumber), ...extra };
}

// ---- merged / closed ---------------------------------------------------------

export type SettleResult =
  | { outcome: "open" | "superseded" | "no-episode" }
  | { outcome: "merged" | "closed"; feedbackCreated: boolean };

/**
 * A fix PR's row was written: link it to its attempt, and once it is closed
 * record `fixloop_pr_merged` for the chain's episode. A PR that fixloop closed
 * because a later attempt replaced it says nothing about the chain.
 */
export async function settleFixPr(db: Db, fix: FixPr, now: Date = new Date()): Promise<SettleResult> {
  return db.transaction(async (tx) => {
    await linkSession(tx, fix.pr.id, fix.attempt.id);
    if (fix.pr.state === "open") return { outcome: "open" };
    const merged = fix.pr.state === "merged";
    if (!merged && (await supersededBy(tx, fix.attempt))) return { outcome: "superseded" };
    if (!fix.attempt.episodeId) return { outcome: "no-episode" };
    const { created } = await recordFeedback(
      tx,
      {
        attemptId: fix.attempt.id,
        metricName: METRICS.prMerged,
        target: { type: "episode", id: fix.attempt.episodeId },
        value: merged,
        tags: prTags(fix),
        // A PR closed and later reopened and merged reports both, in order.
        dedupKey: `pr:${prKey(fix)}:${merged ? "merged" : "closed"}`,
      },
      now,
    );
    return { outcome: merged ? "merged" : "closed", feedbackCreated: created };
  });
}

// ---- held up -------------------------------------------------------------------

/** Records the held-up verdict once it is known (false at once, true after the window). */
export async function recordHeldUpVerdict(db: DbHandle, fix: FixPr, windowDays: number, now: Date): Promise<HeldUpVerdict & { feedbackCreated: boolean }> {
  const merged = mergedFixOf(fix);
  if (!merged) return { verdict: null, reason: "not merged", feedbackCreated: false };
  const current = (await prRow(db, fix.pr.repoSlug, fix.pr.prNumber)) ?? fix.pr;
  const verdict = heldUpVerdict({ mergedAt: merged.mergedAt, revertedAt: current.revertedAt, refixedAt: await refixedAt(db, fix, windowDays), windowDays, now });
  if (verdict.verdict === null || !fix.attempt.episodeId) return { ...verdict, feedbackCreated: false };
  const { created } = await recordFeedback(
    db,
    {
      attemptId: fix.attempt.id,
      metricName: METRICS.heldUp,
      target: { type: "episode", id: fix.attempt.episodeId },
      value: verdict.verdict,
      tags: prTags(fix, { window_days: String(windowDays) }),
      dedupKey: `pr:${prKey(fix)}`,
    },
    now,
  );
  return { ...verdict, feedbackCreated: created };
}

// ---- reverts -------------------------------------------------------------------

export interface RevertFact {
  /** When the revert landed. */
  at: string;
  /** The revert commit's SHA, or `owner/repo#N` for a revert PR. */
  by: string;
}

/**
 * Marks the fix reverted and records `fixloop_pr_reverted` (and a false
 * held-up verdict when within the window) in one transaction. The earliest
 * revert is kept on the row; the feedback (value and tags alike) does not
 * depend on which revert was seen first, so any order of events sends the same.
 */
export async function recordRevert(db: Db, fix: FixPr, revert: RevertFact, windowDays: number, now: Date = new Date()): Promise<{ marked: boolean }> {
  return db.transaction(async (tx) => {
    const marked = await markReverted(tx, fix.pr.id, revert.at, revert.by);
    const current = (await prRow(tx, fix.pr.repoSlug, fix.pr.prNumber)) ?? fix.pr;
    if (fix.attempt.episodeId) {
      await recordFeedback(
        tx,
        {
          attemptId: fix.attempt.id,
          metricName: METRICS.prReverted,
          target: { type: "episode", id: fix.attempt.episodeId },
          value: true,
          tags: prTags(fix),
          dedupKey: `pr:${prKey(fix)}`,
        },
        now,
      );
      await recordHeldUpVerdict(tx, { ...fix, pr: current }, windowDays, now);
    }
    return { marked };
  });
}

/**
 * A merged PR that says it reverts a merged fix PR of the same repository and
 * base branch (`Reverts owner/repo#N`, or the title `Revert "<title>"`).
 */
export async function revertTargetOfPr(db: DbHandle, pr: PrOutcome): Promise<FixPr | null> {
  if (pr.state !== "merged" || !pr.mergedAt) return null;
  const body = (pr.rawJson as { body?: unknown } | null)?.body;
  const ref = revertedPrFromPr({ title: pr.title, body: typeof body === "string" ? body : null }, pr.repoSlug);
  if (!ref) return null;
  const sameBase = (fix: FixPr | undefined): fix is FixPr =>
    Boolean(fix && fix.pr.prNumber !== pr.prNumber && fix.pr.state === "merged" && fix.pr.baseRef === pr.baseRef && (fix.pr.mergedAt ?? "") <= pr.mergedAt!);
  if (ref.prNumber !== null) {
    const byNumber = await fixPrByNumber(db, pr.repoSlug, ref.prNumber);
    if (sameBase(byNumber)) return byNumber;
  }
  if (ref.title !== null) {
    const byTitle = (await mergedFixPrsByTitle(db, pr.repoSlug, ref.title, pr.mergedAt)).find(sameBase);
    if (byTitle) return byTitle;
  }
  return null;
}

export async function applyRevertPr(db: Db, pr: PrOutcome, windowDays: number, now: Date = new Date()): Promise<FixPr | null> {
  const target = await revertTargetOfPr(db, pr);
  if (!target) return null;
  await recordRevert(db, target, { at: pr.mergedAt!, by: `${pr.repoSlug}#${pr.prNumber}` }, windowDays, now);
  return target;
}

// ---- commits on a base branch -------------------------------------------------------

export interface BranchCommitsInput {
  repo: string;
  branch: string;
  /** Oldest first. */
  commits: PushedCommit[];
  /** The push's `after` SHA when the commits came from a push; null from the API. */
  pushHead: string | null;
  windowDays: number;
  now?: Date;
}

export interface BranchCommitsResult {
  /** PR numbers of the fixes this batch reverted (first sighting or not). */
  reverted: number[];
  /** Ledger entries this batch added. */
  touchesAdded: number;
}

const DAY_MS = 86_400_000;

/**
 * Commits that landed on a branch: reverts of merged fixes by message, and
 * downstream touches of merged fixes' files within their windows.
 */
export async function applyBranchCommits(db: Db, input: BranchCommitsInput): Promise<BranchCommitsResult> {
  const now = input.now ?? new Date();
  const result: BranchCommitsResult = { reverted: [], touchesAdded: 0 };
  if (input.commits.length === 0) return result;

  for (const commit of input.commits) {
    const shas = revertedShas(commit.message);
    if (shas.length === 0) continue;
    for (const fix of await mergedFixPrsByShas(db, input.repo, shas)) {
      const merged = mergedFixOf(fix);
      if (!merged || fix.pr.baseRef !== input.branch || !revertsFix(commit, merged)) continue;
      await recordRevert(db, fix, { at: commit.timestamp, by: commit.sha }, input.windowDays, now);
      result.reverted.push(fix.pr.prNumber);
    }
  }

  const times = input.commits.map((c) => c.timestamp).sort();
  const from = new Date(Date.parse(times[0]) - input.windowDays * DAY_MS).toISOString();
  const fixes = await mergedFixPrsOnBranch(db, input.repo, input.branch, from, times[times.length - 1]);
  const touched = fixes.flatMap((fix) => {
    const merged = mergedFixOf(fix)!;
    const touches = input.commits.flatMap((commit) => {
      const files = downstreamTouch(commit, merged, input.windowDays, input.pushHead);
      return files.length > 0 ? [{ sha: commit.sha, committedAt: commit.timestamp, files }] : [];
    });
    return touches.length > 0 ? [{ fix, touches }] : [];
  });
  if (touched.length === 0) return result;
  await db.transaction(async (tx) => {
    for (const { fix, touches } of touched) {
      let added = 0;
      for (const touch of touches) if (await recordTouch(tx, fix, touch, now)) added++;
      // Ledger and count move together, so a commit seen before changes neither.
      if (added > 0) await recountTouches(tx, fix);
      result.touchesAdded += added;
    }
  });
  return result;
}

// ---- the pull_request hook -------------------------------------------------------------

/** Job kinds the hook enqueues; their handlers live in jobs.ts. */
export const OUTCOME_MERGED_JOB = "outcome-merged";
export const OUTCOME_HELD_UP_JOB = "outcome-held-up";
export const OUTCOME_BACKFILL_JOB = "outcome-backfill";

export interface OutcomePayload {
  repo: string;
  prNumber: number;
}

export interface TrackContext {
  store: Store;
  log: Logger;
  queue?: JobQueue;
  windowDays: number;
  now?: Date;
}

/** The follow-ups of a merged fix: the edited-diff check now, the held-up verdict when its window closes. */
export async function enqueueMergedFollowUps(queue: JobQueue, fix: FixPr, windowDays: number): Promise<void> {
  const payload: OutcomePayload = { repo: fix.pr.repoSlug, prNumber: fix.pr.prNumber };
  await queue.enqueue(OUTCOME_MERGED_JOB, payload, { dedupKey: `${OUTCOME_MERGED_JOB}:${prKey(fix)}` });
  const due = Date.parse(fix.pr.mergedAt!) + windowDays * DAY_MS;
  await queue.enqueue(OUTCOME_HELD_UP_JOB, payload, { dedupKey: `${OUTCOME_HELD_UP_JOB}:${prKey(fix)}`, runAfter: new Date(due) });
}

/**
 * After a pull_request event is stored: settle the PR if it is a fix PR, and
 * mark the fix it reverts if it is a merged revert PR. Reads the stored row,
 * so a stale event acts on the newer state that is already there.
 */
export async function trackPullRequest(ctx: TrackContext, repo: string, prNumber: number, provider: string = GITHUB_PROVIDER): Promise<string[]> {
  const db = ctx.store.db;
  const now = ctx.now ?? new Date();
  const notes: string[] = [];
  const row = await prRow(db, repo, prNumber, provider);
  if (!row) return notes;
  const fix = isFixBranch(row.headRef) && !row.isFork ? await fixPrByHeadRef(db, repo, row.headRef!) : undefined;
  if (fix) {
    const settled = await settleFixPr(db, fix, now);
    if (settled.outcome === "merged" || settled.outcome === "closed") notes.push(`fix PR ${settled.outcome}`);
    else if (settled.outcome !== "open") notes.push(`fix PR closed: ${settled.outcome}`);
    if (settled.outcome === "merged" && ctx.queue) await enqueueMergedFollowUps(ctx.queue, fix, ctx.windowDays);
  }
  const reverted = await applyRevertPr(db, row, ctx.windowDays, now);
  if (reverted) notes.push(`reverts fix PR #${reverted.pr.prNumber}`);
  // Commits attributed before this PR row existed (an agent's push, then the PR) join it now (GitHub's PR rows only).
  if (provider === GITHUB_PROVIDER && (await refreshPrLinks(db, { repo, number: prNumber }))) notes.push("linked sessions updated");
  return notes;
}

/**
 * Reads and writes of outcome tracking. A fix PR is a pr_outcomes row whose
 * head ref is a fix attempt's branch in the same repository. Every write here
 * is idempotent: a replayed event, a backfill and a live event converge on
 * the same rows.
 *
 * Downstream touches are kept in their own table, one row per (fix attempt,
 * commit), so a commit is counted once however often it is seen, and the
 * count on the PR row is always recomputed from those rows.
 */
import { and, desc, eq, gt, gte, inArray, isNotNull, lt, lte, ne, or, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { DbHandle, Queryable } from "../store/db.js";
import { downstreamTouches, feedback, fixAttempts, prOutcomes, type FixAttempt, type PrOutcome } from "../store/schema.js";
import { anyDeliveryMatching } from "../store/delivery-queries.js";
import { GITHUB_PROVIDER } from "../ingest/map.js";
import { windowEnd, type MergedFix } from "./touches.js";


export interface FixPr {
  pr: PrOutcome;
  attempt: FixAttempt;
}

/*
 * Repositories compare as GitHub spells them (every row takes the payload's
 * full_name), so the lookups below stay on indexes: attempts by
 * (repo_slug, fix_branch), PRs by (provider, repo_slug, pr_number).
 */

/** The forge whose PR rows an attempt's fix PR is among: the fix loop's trigger provider names it (github-actions → github). */
const FORGE_OF_ATTEMPT = sql`(CASE WHEN ${fixAttempts.triggerProvider} LIKE 'gitlab%' THEN 'gitlab' WHEN ${fixAttempts.triggerProvider} LIKE 'gitea%' THEN 'gitea' ELSE ${GITHUB_PROVIDER} END)`;

/** A place in an ordered sweep: rows after (at, id) come next. */
export interface Keyset {
  at: string;
  id: number;
}

function afterKeyset(column: SQLiteColumn, after: Keyset | null): SQL | undefined {
  return after ? or(gt(column, after.at), and(eq(column, after.at), gt(prOutcomes.id, after.id))) : undefined;
}

async function selectFixPrs(db: DbHandle, where: SQL | undefined, page?: { orderBy: SQLiteColumn; limit: number }): Promise<FixPr[]> {
  const handle: Queryable = db;
  const rows = await handle
    .select({ pr: prOutcomes, attempt: fixAttempts })
    .from(fixAttempts)
    .innerJoin(
      prOutcomes,
      and(
        eq(prOutcomes.provider, FORGE_OF_ATTEMPT),
        eq(prOutcomes.repoSlug, fixAttempts.repoSlug),
        // The pipeline stores the branch and the PR number together when it publishes.
        eq(prOutcomes.prNumber, fixAttempts.prNumber),
        eq(prOutcomes.headRef, fixAttempts.fixBranch),
      ),
    )
    .where(and(isNotNull(fixAttempts.fixBranch), eq(prOutcomes.isFork, false), where))
    .orderBy(...(page ? [page.orderBy] : []), prOutcomes.id, desc(fixAttempts.createdAt))
    .limit(page?.limit ?? -1);
  // A branch belongs to one attempt; should two rows ever name it, the latest attempt speaks for the PR.
  const seen = new Set<number>();
  return rows.filter((row) => (seen.has(row.pr.id) ? false : (seen.add(row.pr.id), true)));
}

export function mergedFixOf(fix: FixPr): MergedFix | null {
  if (fix.pr.state !== "merged" || !fix.pr.mergedAt) return null;
  return {
    mergedAt: fix.pr.mergedAt,
    mergeCommitSha: fix.pr.mergeCommitSha,
    headSha: fix.pr.headSha,
    fixCommitSha: fix.attempt.fixCommitSha,
    inferenceId: fix.attempt.inferenceId,
    files: fix.attempt.changedFiles,
  };
}

export async function fixPrByNumber(db: DbHandle, repo: string, prNumber: number): Promise<FixPr | undefined> {
  const [row] = await selectFixPrs(db, and(eq(fixAttempts.repoSlug, repo), eq(prOutcomes.prNumber, prNumber)));
  return row;
}

export async function fixPrByHeadRef(db: DbHandle, repo: string, headRef: string): Promise<FixPr | undefined> {
  const [row] = await selectFixPrs(db, and(eq(fixAttempts.repoSlug, repo), eq(prOutcomes.headRef, headRef)));
  return row;
}

export async function prRow(db: DbHandle, repo: string, prNumber: number, provider: string = GITHUB_PROVIDER): Promise<PrOutcome | undefined> {
  const handle: Queryable = db;
  const [row] = await handle
    .select()
    .from(prOutcomes)
    .where(and(eq(prOutcomes.provider, provider), eq(prOutcomes.repoSlug, repo), eq(prOutcomes.prNumber, prNumber)));
  return row;
}

/** Fix PRs merged into `branch` between two instants (inclusive). */
export async function mergedFixPrsOnBranch(db: DbHandle, repo: string, branch: string, mergedFrom: string, mergedTo: string): Promise<FixPr[]> {
  return selectFixPrs(
    db,
    and(
      eq(fixAttempts.repoSlug, repo),
      eq(prOutcomes.state, "merged"),
      eq(prOutcomes.baseRef, branch),
      gte(prOutcomes.mergedAt, mergedFrom),
      lte(prOutcomes.mergedAt, mergedTo),
    ),
  );
}

/** Merged fix PRs whose merge, head or fix commit starts with one of these SHAs (full or abbreviated). */
export async function mergedFixPrsByShas(db: DbHandle, repo: string, shas: string[]): Promise<FixPr[]> {
  const hex = shas.filter((sha) => /^[0-9a-f]{7,40}$/.test(sha));
  if (hex.length === 0) return [];
  const matches = hex.flatMap((sha) => [
    sql`${prOutcomes.mergeCommitSha} LIKE ${`${sha}%`}`,
    sql`${prOutcomes.headSha} LIKE ${`${sha}%`}`,
    sql`${fixAttempts.fixCommitSha} LIKE ${`${sha}%`}`,
  ]);
  return selectFixPrs(db, and(eq(fixAttempts.repoSlug, repo), eq(prOutcomes.state, "merged"), or(...matches)));
}

/** Merged fix PRs with this exact title, merged before `before`, latest first. */
export async function mergedFixPrsByTitle(db: DbHandle, repo: string, title: string, before: string): Promise<FixPr[]> {
  const rows = await selectFixPrs(
    db,
    and(eq(fixAttempts.repoSlug, repo), eq(prOutcomes.state, "merged"), eq(prOutcomes.title, title), lte(prOutcomes.mergedAt, before)),
  );
  return rows.sort((a, b) => (b.pr.mergedAt ?? "").localeCompare(a.pr.mergedAt ?? ""));
}

const withoutFeedback = (metric: string) =>
  sql`NOT EXISTS (SELECT 1 FROM ${feedback} WHERE ${feedback.attemptId} = ${fixAttempts.id} AND ${feedback.metricName} = ${metric})`;

/** Merged or closed fix PRs (candidates for the merged verdict) whose row was written after `after`, in that order. */
export async function closedFixPrsAfter(db: DbHandle, after: Keyset | null, limit: number): Promise<FixPr[]> {
  return selectFixPrs(db, and(inArray(prOutcomes.state, ["merged", "closed"]), afterKeyset(prOutcomes.recordedAt, after)), { orderBy: prOutcomes.recordedAt, limit });
}

/**
 * Merged fix PRs with no feedback of `metric` yet: of one repo and base
 * branch or all, merged within [from, to), and — for a sweep — after `after`
 * by merge time, in that order, a page at a time.
 */
export async function mergedFixPrsWithout(
  db: DbHandle,
  metric: string,
  filter: { repo?: string; branch?: string; from?: string; to?: string; after?: Keyset | null; limit?: number } = {},
): Promise<FixPr[]> {
  return selectFixPrs(
    db,
    and(
      eq(prOutcomes.state, "merged"),
      filter.repo ? eq(fixAttempts.repoSlug, filter.repo) : undefined,
      filter.branch ? eq(prOutcomes.baseRef, filter.branch) : undefined,
      filter.from ? gte(prOutcomes.mergedAt, filter.from) : undefined,
      filter.to ? lt(prOutcomes.mergedAt, filter.to) : undefined,
      afterKeyset(prOutcomes.mergedAt, filter.after ?? null),
      withoutFeedback(metric),
    ),
    filter.limit === undefined ? undefined : { orderBy: prOutcomes.mergedAt, limit: filter.limit },
  );
}

/** Whether feedback of `metric` exists for this attempt (any target, any dedup key). */
export async function hasFeedback(db: DbHandle, attemptId: string, metric: string): Promise<boolean> {
  const handle: Queryable = db;
  const [row] = await handle
    .select({ id: feedback.id })
    .from(feedback)
    .where(and(eq(feedback.attemptId, attemptId), eq(feedback.metricName, metric)))
    .limit(1);
  return Boolean(row);
}

/** Merged PRs whose title or body looks like a revert (candidates for revert-by-PR), written after `after`, in that order. */
export async function mergedRevertPrsAfter(db: DbHandle, after: Keyset | null, limit: number): Promise<PrOutcome[]> {
  const handle: Queryable = db;
  return handle
    .select()
    .from(prOutcomes)
    .where(
      and(
        eq(prOutcomes.provider, GITHUB_PROVIDER),
        eq(prOutcomes.state, "merged"),
        or(sql`${prOutcomes.title} LIKE 'Revert "%'`, sql`json_extract(${prOutcomes.rawJson}, '$.body') LIKE '%Reverts %'`),
        afterKeyset(prOutcomes.recordedAt, after),
      ),
    )
    .orderBy(prOutcomes.recordedAt, prOutcomes.id)
    .limit(limit);
}

/**
 * Adds the attempt to the PR row's linked sessions, kept as a sorted set (the
 * form attribution's refreshPrLinks writes), and writes only on change.
 */
export async function linkSession(db: DbHandle, prId: number, attemptId: string): Promise<void> {
  const handle: Queryable = db;
  const [row] = await handle.select({ ids: prOutcomes.linkedSessionIds }).from(prOutcomes).where(eq(prOutcomes.id, prId));
  const stored = Array.isArray(row?.ids) ? row.ids : [];
  if (!row || stored.includes(attemptId)) return;
  await handle.update(prOutcomes).set({ linkedSessionIds: [...new Set([...stored, attemptId])].sort() }).where(eq(prOutcomes.id, prId));
}

/** A later attempt of the same chain opened its own PR: this one was superseded, not rejected. */
export async function supersededBy(db: DbHandle, attempt: FixAttempt): Promise<FixAttempt | undefined> {
  const handle: Queryable = db;
  const [row] = await handle
    .select()
    .from(fixAttempts)
    .where(and(eq(fixAttempts.chainId, attempt.chainId), gt(fixAttempts.attemptNumber, attempt.attemptNumber), sql`${fixAttempts.prNumber} IS NOT NULL`))
    .orderBy(fixAttempts.attemptNumber)
    .limit(1);
  return row;
}

/**
 * Sets reverted_at/by to this revert unless an earlier one is recorded: the
 * earliest revert wins whatever order the events arrive in. True when written.
 */
export async function markReverted(db: DbHandle, prId: number, at: string, by: string): Promise<boolean> {
  const handle: Queryable = db;
  const rows = await handle
    .update(prOutcomes)
    .set({ revertedAt: at, revertedBy: by })
    .where(and(eq(prOutcomes.id, prId), sql`(${prOutcomes.revertedAt} IS NULL OR ${prOutcomes.revertedAt} > ${at})`))
    .returning({ id: prOutcomes.id });
  return rows.length > 0;
}

/**
 * When another fix chain of the repository first changed one of these files
 * after the merge and within the window ("fixed again"), or null.
 */
export async function refixedAt(db: DbHandle, fix: FixPr, windowDays: number): Promise<string | null> {
  const merged = mergedFixOf(fix);
  if (!merged || merged.files.length === 0) return null;
  const handle: Queryable = db;
  const others = await handle
    .select({ createdAt: fixAttempts.createdAt, changedFiles: fixAttempts.changedFiles })
    .from(fixAttempts)
    .where(
      and(
        eq(fixAttempts.repoSlug, fix.pr.repoSlug),
        ne(fixAttempts.chainId, fix.attempt.chainId),
        gt(fixAttempts.createdAt, merged.mergedAt),
        lte(fixAttempts.createdAt, windowEnd(merged.mergedAt, windowDays)),
      ),
    )
    .orderBy(fixAttempts.createdAt);
  const files = new Set(merged.files);
  return others.find((other) => other.changedFiles.some((path) => files.has(path)))?.createdAt ?? null;
}

export interface TouchRecord {
  sha: string;
  committedAt: string;
  files: string[];
}

/** Records the commit as a touch of the fix; true when it was not recorded yet. */
export async function recordTouch(db: DbHandle, fix: FixPr, touch: TouchRecord, now: Date): Promise<boolean> {
  const handle: Queryable = db;
  const rows = await handle
    .insert(downstreamTouches)
    .values({
      attemptId: fix.attempt.id,
      commitSha: touch.sha,
      repoSlug: fix.pr.repoSlug,
      prNumber: fix.pr.prNumber,
      committedAt: touch.committedAt,
      files: touch.files,
      recordedAt: now.toISOString(),
    })
    .onConflictDoNothing()
    .returning({ sha: downstreamTouches.commitSha });
  return rows.length > 0;
}

/** downstream_touch_count and last_downstream_touch_ts recomputed from the recorded touches. */
export async function recountTouches(db: DbHandle, fix: FixPr): Promise<{ count: number; last: string | null }> {
  const handle: Queryable = db;
  const touches = sql`FROM downstream_touches WHERE attempt_id = ${fix.attempt.id}`;
  const [row] = await handle
    .update(prOutcomes)
    .set({
      downstreamTouchCount: sql`(SELECT count(*) ${touches})`,
      lastDownstreamTouchTs: sql`(SELECT max(committed_at) ${touches})`,
    })
    .where(eq(prOutcomes.id, fix.pr.id))
    .returning({ count: prOutcomes.downstreamTouchCount, last: prOutcomes.lastDownstreamTouchTs });
  return { count: row?.count ?? 0, last: row?.last ?? null };
}

/**
 * Whether any push delivery of this repository was received at or after
 * `since`, one still waiting in the inbox included: the webhook path stores
 * the body unparsed, so such a row has no repository column yet.
 */
export async function pushSeenSince(db: DbHandle, repo: string, since: string): Promise<boolean> {
  return anyDeliveryMatching(db, { event: "push", repo, since });
}

/**
 * Stale commits: a failure of a commit the branch has already moved past may
 * be gone. A push (or a PR's head moving) cancels the fix jobs still waiting
 * for older commits of that branch, and a fix job that is already running
 * asks `supersededReason` before it spends tokens and again before it
 * publishes. Both end with a reason that starts with `superseded`.
 */
import { and, eq, sql } from "drizzle-orm";
import { cancelQueuedFixJobs } from "./cancel.js";
import type { Db } from "../store/db.js";
import { branchHeads, ciRuns, fixAttempts, prOutcomes } from "../store/schema.js";
import { nowIso } from "../time.js";
import type { FixTrigger } from "./trigger.js";

export const SUPERSEDED = "superseded";

function short(sha: string): string {
  return sha.slice(0, 7);
}

/**
 * Records a pushed branch head. A late delivery of an older push (its `after`
 * is the `before` of the push already stored) does not move the head back.
 */
export async function recordBranchHead(db: Db, push: { repo: string; branch: string; sha: string; before: string | null }, at = nowIso()): Promise<boolean> {
  const repo = push.repo.toLowerCase();
  const rows = await db
    .insert(branchHeads)
    .values({ repoSlug: repo, branch: push.branch, sha: push.sha, beforeSha: push.before, updatedAt: at })
    .onConflictDoUpdate({
      target: [branchHeads.repoSlug, branchHeads.branch],
      set: { sha: push.sha, beforeSha: push.before, updatedAt: at },
      setWhere: sql`coalesce(${branchHeads.beforeSha}, '') <> ${push.sha}`,
    })
    .returning({ sha: branchHeads.sha });
  return rows.length > 0;
}

/**
 * What moved: a branch to a new head (a push: everything older on it is
 * stale), or a PR's head away from one commit (`synchronize`, which also
 * covers fork PRs, whose pushes the base repository never sees).
 */
export type HeadMove = { repo: string; branch: string; sha: string; why: string } | { repo: string; fromSha: string; sha: string; why: string };

/**
 * A newer commit superseded older ones: fix jobs queued for them end
 * `skipped` (superseded), and so do their first attempts still waiting to
 * start (e.g. for a re-run of the failed jobs). Returns the cancelled job ids.
 */
export async function supersedeStaleFixJobs(db: Db, moved: HeadMove): Promise<number[]> {
  const reason = `${SUPERSEDED}: ${moved.why} (now at ${short(moved.sha)}); the failure may be gone`;
  const repo = moved.repo.toLowerCase();
  const stale =
    "branch" in moved
      ? { job: sql`json_extract(payload, '$.headBranch') = ${moved.branch} AND json_extract(payload, '$.headSha') <> ${moved.sha}`, attempt: sql`${fixAttempts.headBranch} = ${moved.branch} AND ${fixAttempts.headSha} <> ${moved.sha}` }
      : { job: sql`json_extract(payload, '$.headSha') = ${moved.fromSha}`, attempt: sql`${fixAttempts.headSha} = ${moved.fromSha}` };
  const cancelled = await cancelQueuedFixJobs(
    db,
    sql`lower(json_extract(payload, '$.repo')) = ${repo} AND json_extract(payload, '$.continuation') IS NULL AND ${stale.job}`,
    reason,
  );
  await db
    .update(fixAttempts)
    .set({ status: "skipped", reason, updatedAt: nowIso() })
    .where(and(sql`lower(${fixAttempts.repoSlug}) = ${repo}`, stale.attempt, eq(fixAttempts.status, "queued"), eq(fixAttempts.attemptNumber, 1)));
  return cancelled;
}

/** When the failing run started: only a move after it makes the run stale. */
async function runStartedAt(db: Db, trigger: Pick<FixTrigger, "provider" | "runId">): Promise<string | null> {
  const [row] = await db
    .select({ startedTs: ciRuns.startedTs, recordedAt: ciRuns.recordedAt })
    .from(ciRuns)
    .where(and(eq(ciRuns.provider, trigger.provider), eq(ciRuns.runId, trigger.runId)));
  return row ? (row.startedTs ?? row.recordedAt) : null;
}

/**
 * Why fixing this trigger's commit is pointless now, or null: its branch (or
 * its PR's head) moved on to another commit after the run started. A chain's
 * later attempts run on fixloop's own branch and are never stale this way.
 */
export async function supersededReason(db: Db, trigger: FixTrigger & { continuation?: unknown }): Promise<string | null> {
  if (trigger.continuation || !trigger.headBranch) return null;
  const started = (await runStartedAt(db, trigger)) ?? "";
  const sameRepo = trigger.headRepoSlug === null || trigger.headRepoSlug.toLowerCase() === trigger.repo.toLowerCase();
  if (sameRepo) {
    const [head] = await db
      .select()
      .from(branchHeads)
      .where(and(eq(branchHeads.repoSlug, trigger.repo.toLowerCase()), eq(branchHeads.branch, trigger.headBranch)));
    if (head && head.sha !== trigger.headSha && head.updatedAt > started) {
      return `${SUPERSEDED}: ${trigger.headBranch} moved on to ${short(head.sha)} after ${short(trigger.headSha)} failed; the failure may be gone`;
    }
  }
  if (trigger.prNumbers.length === 0) return null;
  const prs = await db
    .select({ number: prOutcomes.prNumber, headSha: prOutcomes.headSha, headRef: prOutcomes.headRef, updatedAt: prOutcomes.updatedAt })
    .from(prOutcomes)
    .where(
      and(
        sql`lower(${prOutcomes.repoSlug}) = ${trigger.repo.toLowerCase()}`,
        eq(prOutcomes.state, "open"),
        sql`${prOutcomes.prNumber} IN (${sql.join(trigger.prNumbers.map((n) => sql`${n}`), sql`, `)})`,
      ),
    );
  const moved = prs.find((pr) => pr.headRef === trigger.headBranch && pr.headSha && pr.headSha !== trigger.headSha && (pr.updatedAt ?? "") > started);
  return moved ? `${SUPERSEDED}: the head of PR #${moved.number} moved on to ${short(moved.headSha!)} after ${short(trigger.headSha)} failed; the failure may be gone` : null;
}

/**
 * fix_attempts: one row per proposed fix, the unit of attribution. A chain is
 * the sequence of attempts for one failing (repo, head SHA, workflow); a red
 * run on a fixloop branch continues its chain instead of starting one. The fix
 * job writes attempts and outcome tracking reads them: both come here.
 */
import { and, desc, eq, gte, inArray, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { redactText } from "../fix/redact.js";
import { nowIso } from "../time.js";
import type { Db, DbHandle } from "./db.js";
import { recordFeedback } from "./feedback.js";
import { fixAttempts, type FixAttempt, type FixStatus } from "./schema.js";

export type NewAttempt = Omit<typeof fixAttempts.$inferInsert, "id" | "createdAt" | "updatedAt">;

export async function createAttempt(db: Db, attempt: NewAttempt): Promise<FixAttempt> {
  const at = nowIso();
  const [row] = await db
    .insert(fixAttempts)
    .values({ ...attempt, id: uuidv7(), createdAt: at, updatedAt: at })
    .returning();
  return row;
}

/** Texts of an attempt that are shown or sent on (reasons, the PR body, the model's explanation): stored redacted. */
const SHOWN_TEXTS = ["reason", "prBody", "explanation"] as const;

export async function updateAttempt(db: DbHandle, id: string, changes: Partial<typeof fixAttempts.$inferInsert>): Promise<FixAttempt> {
  const redacted = { ...changes };
  for (const key of SHOWN_TEXTS) {
    const value = redacted[key];
    if (typeof value === "string") redacted[key] = redactText(value);
  }
  const [row] = await db
    .update(fixAttempts)
    .set({ ...redacted, updatedAt: nowIso() })
    .where(eq(fixAttempts.id, id))
    .returning();
  return row;
}

export async function setAttemptStatus(db: DbHandle, id: string, status: FixStatus, reason: string | null = null): Promise<FixAttempt> {
  return updateAttempt(db, id, { status, reason });
}

export async function getAttempt(db: Db, id: string): Promise<FixAttempt | undefined> {
  const [row] = await db.select().from(fixAttempts).where(eq(fixAttempts.id, id));
  return row;
}

export async function attemptsOfChain(db: Db, chainId: string): Promise<FixAttempt[]> {
  return db.select().from(fixAttempts).where(eq(fixAttempts.chainId, chainId)).orderBy(fixAttempts.attemptNumber);
}

export async function findAttemptByFixBranch(db: Db, repo: string, branch: string): Promise<FixAttempt | undefined> {
  const [row] = await db
    .select()
    .from(fixAttempts)
    .where(and(sql`lower(${fixAttempts.repoSlug}) = lower(${repo})`, eq(fixAttempts.fixBranch, branch)))
    .orderBy(desc(fixAttempts.createdAt))
    .limit(1);
  return row;
}

/** Tokens spent since `since` (per repo when given): the daily budget's measure. */
export async function tokensSpentSince(db: Db, since: string, repo?: string): Promise<number> {
  const [row] = await db
    .select({ total: sql<number>`coalesce(sum(coalesce(${fixAttempts.inputTokens}, 0) + coalesce(${fixAttempts.outputTokens}, 0)), 0)` })
    .from(fixAttempts)
    .where(and(gte(fixAttempts.createdAt, since), repo ? sql`lower(${fixAttempts.repoSlug}) = lower(${repo})` : undefined));
  return Number(row.total);
}

/** A chain waiting for the re-run of its failed jobs (triage before spending tokens). */
export const AWAITING_RERUN = "awaiting re-run of the failed jobs";

/** The re-run passed: the failure was flaky, nothing to fix. */
export async function markChainFlaky(db: Db, chainId: string): Promise<number> {
  const rows = await db
    .update(fixAttempts)
    .set({ status: "skipped", reason: "flaky: the failed jobs passed when re-run", updatedAt: nowIso() })
    .where(and(eq(fixAttempts.chainId, chainId), eq(fixAttempts.reason, AWAITING_RERUN), inArray(fixAttempts.status, ["queued"])))
    .returning({ id: fixAttempts.id });
  return rows.length;
}

/**
 * Changes an attempt and records its outcome metric for the attempt's
 * inference in one transaction: the outbox then reports it to TensorZero, once.
 */
export async function recordAttemptOutcome(
  db: Db,
  attempt: FixAttempt,
  changes: Partial<typeof fixAttempts.$inferInsert>,
  metric: { name: string; value: boolean } | null,
): Promise<FixAttempt> {
  return db.transaction(async (tx) => {
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

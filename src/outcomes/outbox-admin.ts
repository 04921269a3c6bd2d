/**
 * The operator's view of the feedback outbox (CLI, API): list, count, and
 * make dead or waiting rows due again.
 */
import { and, count, desc, eq, inArray, type SQL } from "drizzle-orm";
import type { Store } from "../store/db.js";
import { equalsIfGiven, statusIs } from "../store/filters.js";
import type { FeedbackStatus } from "../store/feedback.js";
import { FEEDBACK_STATUSES, feedback, type FeedbackRow } from "../store/schema.js";

export interface FeedbackFilter {
  status?: FeedbackStatus | FeedbackStatus[];
  metric?: string;
  /** Most recent first; default 100. */
  limit?: number;
}

export async function listFeedback(store: Store, filter: FeedbackFilter = {}): Promise<FeedbackRow[]> {
  const where = and(statusIs(feedback.status, filter.status), equalsIfGiven(feedback.metricName, filter.metric));
  return store.db.select().from(feedback).where(where).orderBy(desc(feedback.id)).limit(filter.limit ?? 100);
}

export async function getFeedback(store: Store, id: number): Promise<FeedbackRow | null> {
  const [row] = await store.db.select().from(feedback).where(eq(feedback.id, id));
  return row ?? null;
}

/** Rows per status, every status present (0 when none). */
export async function feedbackCounts(store: Store): Promise<Record<FeedbackStatus, number>> {
  const rows = await store.db.select({ status: feedback.status, n: count() }).from(feedback).groupBy(feedback.status);
  const counts = Object.fromEntries(FEEDBACK_STATUSES.map((status) => [status, 0])) as Record<FeedbackStatus, number>;
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/**
 * Makes dead and pending rows (one, with `id`) due now with a fresh count of
 * tries and a fresh wait for a missing target. Sent rows are never touched,
 * and a live claim stays in force, so a row in flight is not sent twice.
 * Returns how many rows changed.
 */
export async function retryFeedback(store: Store, options: { id?: number } = {}, now: Date = new Date()): Promise<number> {
  const conditions: SQL[] = [inArray(feedback.status, ["pending", "dead"])];
  if (options.id !== undefined) conditions.push(eq(feedback.id, options.id));
  const changed = await store.db
    .update(feedback)
    .set({ status: "pending", nextTryAt: now.toISOString(), tries: 0, targetMissingSince: null })
    .where(and(...conditions))
    .returning({ id: feedback.id });
  return changed.length;
}

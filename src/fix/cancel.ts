/** Ending fix jobs that have not started yet, for a reason (superseded, stopped). */
import { and, eq, type SQL } from "drizzle-orm";
import type { Db } from "../store/db.js";
import { jobs } from "../store/schema.js";
import { nowIso } from "../time.js";
import { FIX_JOB } from "./trigger.js";

/**
 * Cancels fix jobs that have not started: they end `skipped` with the reason.
 * `match` is SQL over the job's JSON payload. Running jobs are left to their
 * own guard, which checks again before it spends tokens or publishes.
 */
export async function cancelQueuedFixJobs(db: Db, match: SQL, reason: string): Promise<number[]> {
  const rows = await db
    .update(jobs)
    .set({ status: "skipped", result: { reason }, leaseOwner: null, leaseExpiresAt: null, updatedAt: nowIso() })
    .where(and(eq(jobs.kind, FIX_JOB), eq(jobs.status, "queued"), match))
    .returning({ id: jobs.id });
  return rows.map((r) => r.id);
}

/**
 * The `jobs` table as a queue. Every state change is one conditional UPDATE,
 * so it is atomic across processes sharing one libSQL file: a statement that
 * writes takes SQLite's write lock before it reads, and busy_timeout makes the
 * other writers wait their turn rather than fail.
 */
import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import type { Db, Store } from "../store/db.js";
import { equalsIfGiven, statusIs } from "../store/filters.js";
import { jobs, type Job, type JobStatus } from "../store/schema.js";
import type { EnqueueOptions, JobQueue } from "./types.js";

export const DEFAULT_MAX_ATTEMPTS = 5;
/** Stored errors are for people reading `fixloop jobs`; the full stack goes to the log. */
const MAX_ERROR_CHARS = 2_000;

function iso(date: Date): string {
  return date.toISOString();
}

export function createLibsqlQueue(store: Store, options: { now?: () => Date } = {}): JobQueue {
  const now = options.now ?? (() => new Date());
  return {
    async enqueue(kind, payload, enqueueOptions: EnqueueOptions = {}) {
      if (!kind.trim()) throw new Error("enqueue: job kind must not be empty");
      if (payload === undefined) throw new Error(`enqueue ${kind}: payload must be JSON (got undefined)`);
      const maxAttempts = enqueueOptions.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`enqueue ${kind}: maxAttempts must be a positive integer`);
      const dedupKey = enqueueOptions.dedupKey;
      // Redeliveries are the common case: answer them without an insert (a refused insert still spends an id).
      if (dedupKey !== undefined) {
        const existing = await jobIdByDedupKey(store, dedupKey);
        if (existing !== null) return { id: existing, created: false };
      }
      const at = iso(now());
      const inserted = await store.db
        .insert(jobs)
        .values({
          kind,
          dedupKey: dedupKey ?? null,
          payload,
          status: "queued",
          attempts: 0,
          maxAttempts,
          runAfter: enqueueOptions.runAfter ? iso(enqueueOptions.runAfter) : at,
          createdAt: at,
          updatedAt: at,
        })
        .onConflictDoNothing({ target: jobs.dedupKey })
        .returning({ id: jobs.id });
      if (inserted.length > 0) return { id: inserted[0].id, created: true };
      // Only a dedup key can conflict (a concurrent enqueue won), and jobs are never deleted.
      const winner = dedupKey === undefined ? null : await jobIdByDedupKey(store, dedupKey);
      if (winner === null) throw new Error(`enqueue ${kind}: insert refused and no job holds dedup key ${JSON.stringify(dedupKey)}`);
      return { id: winner, created: false };
    },
    bind: (other) => createLibsqlQueue(other, options),
  };
}

/**
 * Asked on every enqueue with a key (every completed run at ingest): plain SQL
 * on the client, as Drizzle's prepared select cost a third again of running
 * it (binding its placeholders, mapping the row; enqueue with a dedup hit
 * 9.7-9.9 → 8.0-8.4 µs in a scratch bench, same process, interleaved).
 */
const DEDUP_LOOKUP = 'SELECT "id" FROM "jobs" WHERE "dedup_key" = ?';

async function jobIdByDedupKey(store: Store, dedupKey: string): Promise<number | null> {
  const { rows } = await store.client.execute({ sql: DEDUP_LOOKUP, args: [dedupKey] });
  return rows.length > 0 ? Number(rows[0].id) : null;
}

/** Due to run: queued and its time has come, or running under a lease that expired (its worker died or stalled). */
export function claimableBy(dueBy: Date): SQL {
  const due = iso(dueBy);
  return sql`((${jobs.status} = 'queued' AND ${jobs.runAfter} <= ${due}) OR (${jobs.status} = 'running' AND ${jobs.leaseExpiresAt} < ${due}))`;
}

/**
 * Takes the next due job under a lease held by `owner` until now + leaseMs,
 * counting the run as an attempt. One statement: two workers never get the
 * same job. `dueBy` (default: now) bounds which jobs count as due, so a caller
 * draining the queue once does not pick up what it rescheduled itself.
 */
export async function claimNextJob(store: Store, owner: string, leaseMs: number, now: Date = new Date(), dueBy: Date = now): Promise<Job | null> {
  const next = sql`(SELECT "id" FROM "jobs" WHERE ${claimableBy(dueBy)} ORDER BY "run_after", "id" LIMIT 1)`;
  return claimDue(store, next, owner, leaseMs, now, dueBy);
}

/**
 * claimNextJob for one named job (an SQS message names its row): takes it
 * under a lease held by `owner`, counting an attempt, if and only if it is
 * due. One conditional UPDATE, so two copies of a message never run the job
 * twice. Null when the job is unknown, not yet due, finished, or leased to
 * someone else.
 */
export async function claimJobById(store: Store, id: number, owner: string, leaseMs: number, now: Date = new Date()): Promise<Job | null> {
  return claimDue(store, id, owner, leaseMs, now, now);
}

/** The claim itself: job `id` (a number or a subquery) becomes running under `owner`'s lease, if it is due by `dueBy`. */
async function claimDue(store: Store, id: number | SQL, owner: string, leaseMs: number, now: Date, dueBy: Date): Promise<Job | null> {
  const [job] = await store.db
    .update(jobs)
    .set({
      status: "running",
      leaseOwner: owner,
      leaseExpiresAt: iso(new Date(now.getTime() + leaseMs)),
      attempts: sql`${jobs.attempts} + 1`,
      // SET expressions see the row as it was: record whose lease ran out, if this is a takeover.
      lastError: sql`CASE WHEN ${jobs.status} = 'running' THEN 'lease of ' || coalesce(${jobs.leaseOwner}, '?') || ' expired at ' || coalesce(${jobs.leaseExpiresAt}, '?') ELSE ${jobs.lastError} END`,
      updatedAt: iso(now),
    })
    .where(and(eq(jobs.id, id), claimableBy(dueBy)))
    .returning();
  return job ?? null;
}

/** Extends a running job's lease; false when `owner` no longer holds it. */
export async function renewLease(store: Store, id: number, owner: string, leaseMs: number, now: Date = new Date()): Promise<boolean> {
  const renewed = await store.db
    .update(jobs)
    .set({ leaseExpiresAt: iso(new Date(now.getTime() + leaseMs)), updatedAt: iso(now) })
    .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), eq(jobs.status, "running")))
    .returning({ id: jobs.id });
  return renewed.length > 0;
}

/** How a run ended, as the row should record it. */
export type JobSettlement =
  | { status: "done"; result: unknown }
  | { status: "skipped"; reason: string; result: unknown }
  | { status: "failed" | "dead"; error: string; attempts?: number }
  | { status: "queued"; runAfter: Date; error: string; attempts?: number };

/**
 * Writes the end of a run, but only while `owner` still holds the lease: a
 * zombie worker that lost its job to another cannot overwrite that one's result.
 * Returns false when the write was refused.
 */
export async function settleJob(store: Store, id: number, owner: string, settlement: JobSettlement, now: Date = new Date()): Promise<boolean> {
  const common = { status: settlement.status, leaseExpiresAt: null, updatedAt: iso(now) };
  const set =
    settlement.status === "done"
      ? { ...common, result: settlement.result ?? null, lastError: null }
      : settlement.status === "skipped"
        ? { ...common, result: skippedResult(settlement.reason, settlement.result), lastError: null }
        : settlement.status === "queued"
          ? { ...common, runAfter: iso(settlement.runAfter), lastError: trimError(settlement.error), ...attemptsSet(settlement.attempts) }
          : { ...common, lastError: trimError(settlement.error), ...attemptsSet(settlement.attempts) };
  const settled = await store.db
    .update(jobs)
    .set(set)
    .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), eq(jobs.status, "running")))
    .returning({ id: jobs.id });
  return settled.length > 0;
}

function attemptsSet(attempts: number | undefined): { attempts?: number } {
  return attempts === undefined ? {} : { attempts: Math.max(0, attempts) };
}

function trimError(error: string): string {
  return error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS - 1)}…` : error;
}

/** A skipped job keeps its reason beside whatever the handler returned, so listings can show why. */
function skippedResult(reason: string, result: unknown): { reason: string; result?: unknown } {
  return result === undefined ? { reason } : { reason, result };
}

/**
 * Why a job is where it is, in one line: the skip reason, or the last error
 * (a failure, a wait, a lease takeover). Null when there is nothing to say.
 */
export function jobReason(job: Pick<Job, "status" | "result" | "lastError">): string | null {
  if (job.status === "skipped" && job.result && typeof job.result === "object" && "reason" in job.result) {
    return String((job.result as { reason: unknown }).reason);
  }
  return job.lastError;
}

/**
 * Puts a finished (or waiting) job back in line to run now with a fresh set of
 * attempts. A running job is left alone: its worker still holds the lease.
 * Returns the updated job, or null when the id is unknown or the job is running.
 */
export async function retryJob(store: Store, id: number, now: Date = new Date()): Promise<Job | null> {
  const [job] = await store.db
    .update(jobs)
    .set({
      status: "queued",
      attempts: 0,
      runAfter: iso(now),
      leaseOwner: null,
      leaseExpiresAt: null,
      lastError: null,
      result: null,
      updatedAt: iso(now),
    })
    .where(and(eq(jobs.id, id), sql`${jobs.status} <> 'running'`))
    .returning();
  return job ?? null;
}

export interface JobFilter {
  status?: JobStatus | JobStatus[];
  kind?: string;
  /** Most recent first; default 100. */
  limit?: number;
}

export async function listJobs(store: Store, filter: JobFilter = {}): Promise<Job[]> {
  const where = and(statusIs(jobs.status, filter.status), equalsIfGiven(jobs.kind, filter.kind));
  return store.db.select().from(jobs).where(where).orderBy(desc(jobs.id)).limit(filter.limit ?? 100);
}

export async function getJob(store: Store, id: number): Promise<Job | null> {
  const [job] = await store.db.select().from(jobs).where(eq(jobs.id, id));
  return job ?? null;
}

/**
 * The job queue's contract. The libSQL table with leases implements it on one
 * machine; an SQS implementation can sit behind the same `JobQueue` later, and
 * handlers (`JobHandler`) run unchanged under either.
 */
import type { Logger } from "pino";
import type { Store } from "../store/db.js";
import type { Job } from "../store/schema.js";

export type { Job, JobStatus } from "../store/schema.js";
export type { Logger } from "pino";

export interface EnqueueOptions {
  /** Idempotency key: a second enqueue with the same key yields the existing job. */
  dedupKey?: string;
  /** Not before this instant (default: now). */
  runAfter?: Date;
  /** Runs allowed before the job is dead (default 5). */
  maxAttempts?: number;
}

export interface JobQueue {
  /** Same dedupKey → the existing job and `created: false`, whatever its status. */
  enqueue(kind: string, payload: unknown, options?: EnqueueOptions): Promise<{ id: number; created: boolean }>;
  /**
   * The same queue writing through another handle of its store (a batch
   * transaction), so an enqueue commits or rolls back with the rest. Absent
   * where an enqueue cannot join a transaction (SQS sends a message).
   */
  bind?(store: Store): JobQueue;
}

/** What a handler says happened; a thrown error is the fourth answer (see PermanentJobError). */
export type JobOutcome =
  | { status: "done"; result?: unknown }
  | { status: "skipped"; reason: string; result?: unknown }
  /** Reschedule WITHOUT consuming an attempt, e.g. while the gateway's circuit breaker is open. */
  | { status: "wait"; delayMs: number; reason: string };

export interface JobContext {
  job: Job;
  /** Aborted when the job times out, its lease is lost to another worker, or the worker gives up on it. */
  signal: AbortSignal;
  log: Logger;
  /** Extends the lease; throws LeaseLostError when another worker has taken the job over. */
  heartbeat(): Promise<void>;
}

// Handlers validate their own payloads (zod); the queue only carries JSON.
export type JobHandler = (payload: any, ctx: JobContext) => Promise<JobOutcome>;

/** Thrown by a handler when retrying cannot help: the job is `failed` at once. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentJobError";
  }
}

/** The lease of a running job now belongs to another worker (this one stalled past its expiry). */
export class LeaseLostError extends Error {
  constructor(jobId: number) {
    super(`job ${jobId}: lease lost to another worker`);
    this.name = "LeaseLostError";
  }
}

export interface BackoffPolicy {
  /** Delay after the first failed attempt. */
  baseMs: number;
  factor: number;
  /** Upper bound of any delay, jitter included. */
  capMs: number;
  /** Relative spread: 0.1 → each delay is drawn from ±10 % of its nominal value. */
  jitter: number;
}

export interface WorkerOptions {
  store: Store;
  handlers: Record<string, JobHandler>;
  /** Jobs run at once by this worker (default 2). */
  concurrency?: number;
  /** Lease length (default 60 s); the worker renews it every third of that while a job runs. */
  leaseMs?: number;
  /** Idle wait between claim attempts (default 1 s). */
  pollMs?: number;
  /** Who holds leases; each claim adds its own suffix so even one owner's slots never share a lease. */
  owner?: string;
  log?: Logger;
  /** Clock for every stored timestamp (run_after, leases); tests inject one. */
  now?: () => Date;
  /** A handler still running after this long is abandoned and the job retried (default 15 min). */
  jobTimeoutMs?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Source of jitter, [0, 1) (default Math.random). */
  random?: () => number;
}

export interface Worker {
  /** Starts the polling loop; never throws, errors are logged. A second call does nothing. */
  start(): void;
  /** Stops claiming; jobs in flight are aborted and handed back (queued, due now, the attempt given back). */
  stop(): Promise<void>;
  /** Claims and runs everything due now, once, `concurrency` at a time; returns how many jobs ran. */
  runDue(): Promise<number>;
}

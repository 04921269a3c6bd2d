/**
 * The in-process worker: `concurrency` slots, each claiming a due job under a
 * lease, running its handler and recording the outcome. A worker that dies
 * mid-job loses nothing: its lease runs out and another worker resumes the job,
 * which is why every handler step must be idempotent.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import type { Job } from "../store/schema.js";
import { backoffDelayMs, DEFAULT_BACKOFF } from "./backoff.js";
import { claimNextJob, renewLease, settleJob, type JobSettlement } from "./libsql.js";
import {
  LeaseLostError,
  PermanentJobError,
  type BackoffPolicy,
  type JobContext,
  type JobOutcome,
  type Logger,
  type Worker,
  type WorkerOptions,
} from "./types.js";

export const DEFAULT_CONCURRENCY = 2;
export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_POLL_MS = 1_000;
export const DEFAULT_JOB_TIMEOUT_MS = 15 * 60_000;

export function defaultWorkerOwner(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** Handlers may throw anything; the row and the log need words. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message ? `${error.name}: ${error.message}` : error.name;
  if (typeof error === "string") return error;
  try {
    const json = JSON.stringify(error);
    if (json !== undefined) return `non-Error thrown: ${json}`;
  } catch {
    // circular or otherwise unserialisable: fall through
  }
  return `non-Error thrown: ${String(error)}`;
}

/** A handler's answer is data from code we do not own: check its shape before trusting it. */
function validOutcome(value: unknown): JobOutcome | null {
  if (!value || typeof value !== "object") return null;
  const outcome = value as Record<string, unknown>;
  if (outcome.status === "done") return outcome as JobOutcome;
  if (outcome.status === "skipped" && typeof outcome.reason === "string") return outcome as JobOutcome;
  if (outcome.status === "wait" && typeof outcome.reason === "string" && typeof outcome.delayMs === "number" && outcome.delayMs >= 0) {
    return outcome as JobOutcome;
  }
  return null;
}

type RunEnd = { kind: "outcome"; outcome: JobOutcome } | { kind: "threw"; error: unknown } | { kind: "timeout" } | { kind: "lease-lost" };

export function createWorker(options: WorkerOptions): Worker {
  const { store, handlers } = options;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const jobTimeoutMs = options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  const owner = options.owner ?? defaultWorkerOwner();
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.backoff };
  const log: Logger = options.log ?? pino({ level: process.env.LOG_LEVEL ?? "info" });

  let lifetime: AbortController | null = null;
  let slots: Promise<void>[] = [];

  /** Each claim gets its own lease token, so two slots of one worker can never mistake each other's lease. */
  const leaseToken = () => `${owner}#${randomUUID().slice(0, 8)}`;

  async function claim(dueBy?: Date): Promise<{ job: Job; lease: string } | null> {
    const lease = leaseToken();
    const at = now();
    const job = await claimNextJob(store, lease, leaseMs, at, dueBy ?? at);
    return job ? { job, lease } : null;
  }

  async function settle(job: Job, lease: string, settlement: JobSettlement, jobLog: Logger): Promise<void> {
    try {
      const written = await settleJob(store, job.id, lease, settlement, now());
      if (!written) jobLog.warn({ status: settlement.status }, "job lease was taken over by another worker; this run's outcome is discarded");
    } catch (error) {
      // The lease will run out and another run will record the outcome; the handler must be idempotent anyway.
      jobLog.error({ err: error }, "could not record job outcome");
    }
  }

  function retryOrDie(job: Job, error: string): JobSettlement {
    if (job.attempts >= job.maxAttempts) return { status: "dead", error: `${error} (attempt ${job.attempts} of ${job.maxAttempts})` };
    const delay = backoffDelayMs(job.attempts, backoff, random);
    return { status: "queued", runAfter: new Date(now().getTime() + delay), error: `${error} (attempt ${job.attempts} of ${job.maxAttempts})` };
  }

  /** Runs one claimed job to a recorded end. Never throws. */
  async function runClaimed(job: Job, lease: string): Promise<void> {
    const jobLog = log.child({ jobId: job.id, kind: job.kind, attempt: job.attempts });
    try {
      // A takeover of a job whose final attempt never reported back: no attempts are left to give it.
      if (job.attempts > job.maxAttempts) {
        await settle(job, lease, { status: "dead", attempts: job.maxAttempts, error: `${job.lastError ?? "lease expired"} on the final attempt: the worker stopped or hung` }, jobLog);
        jobLog.warn("job is dead: its last attempt's lease expired");
        return;
      }
      const handler = Object.hasOwn(handlers, job.kind) ? handlers[job.kind] : undefined;
      if (!handler) {
        const known = Object.keys(handlers).sort().join(", ") || "none";
        await settle(job, lease, { status: "failed", error: `no handler for job kind "${job.kind}" (known kinds: ${known})` }, jobLog);
        jobLog.error("job failed: unknown kind");
        return;
      }
      const settlement = await runHandler(job, lease, handler, jobLog);
      if (settlement) await settle(job, lease, settlement, jobLog);
    } catch (error) {
      jobLog.error({ err: error }, "worker error while running job");
    }
  }

  /** The handler under lease renewal and a time limit; null when the lease was lost (nothing may be written). */
  async function runHandler(job: Job, lease: string, handler: NonNullable<WorkerOptions["handlers"][string]>, jobLog: Logger): Promise<JobSettlement | null> {
    const abort = new AbortController();
    let leaseLost!: () => void;
    const lost = new Promise<RunEnd>((resolve) => {
      leaseLost = () => resolve({ kind: "lease-lost" });
    });
    const renew = async (): Promise<boolean> => {
      const held = await renewLease(store, job.id, lease, leaseMs, now());
      if (!held && !abort.signal.aborted) {
        abort.abort(new LeaseLostError(job.id));
        leaseLost();
      }
      return held;
    };
    const ctx: JobContext = {
      job,
      signal: abort.signal,
      log: jobLog,
      async heartbeat() {
        if (!(await renew())) throw new LeaseLostError(job.id);
      },
    };
    const renewTimer = setInterval(() => {
      renew().catch((error: unknown) => jobLog.warn({ err: error }, "lease renewal failed; will try again"));
    }, Math.max(10, Math.floor(leaseMs / 3)));
    let timeoutTimer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<RunEnd>((resolve) => {
      timeoutTimer = setTimeout(() => resolve({ kind: "timeout" }), jobTimeoutMs);
    });
    const ran = Promise.resolve()
      .then(() => handler(job.payload, ctx))
      .then(
        (outcome): RunEnd => ({ kind: "outcome", outcome }),
        (error: unknown): RunEnd => ({ kind: "threw", error }),
      );
    let end: RunEnd;
    try {
      end = await Promise.race([ran, timedOut, lost]);
    } finally {
      clearInterval(renewTimer);
      clearTimeout(timeoutTimer);
    }

    switch (end.kind) {
      case "lease-lost":
        jobLog.warn("job lease lost to another worker while running; leaving the job to it");
        return null;
      case "timeout":
        abort.abort(new Error(`timed out after ${jobTimeoutMs} ms`));
        jobLog.error({ timeoutMs: jobTimeoutMs }, "job timed out; abandoning the handler");
        return retryOrDie(job, `timed out after ${jobTimeoutMs} ms`);
      case "threw": {
        if (end.error instanceof LeaseLostError) return null;
        const message = describeError(end.error);
        if (end.error instanceof PermanentJobError) {
          jobLog.error({ err: end.error }, "job failed permanently");
          return { status: "failed", error: message };
        }
        jobLog.warn({ err: end.error }, "job attempt failed");
        return retryOrDie(job, message);
      }
      case "outcome": {
        const outcome = validOutcome(end.outcome);
        if (!outcome) {
          const got = describeError(end.outcome).replace(/^non-Error thrown: /, "");
          return { status: "failed", error: `handler for "${job.kind}" returned no valid outcome (got ${got})` };
        }
        if (outcome.status === "done") return { status: "done", result: outcome.result };
        if (outcome.status === "skipped") return { status: "skipped", reason: outcome.reason, result: outcome.result };
        // Waiting is not trying: give back the attempt this claim counted.
        const delayMs = Math.max(1, Math.round(outcome.delayMs));
        return { status: "queued", runAfter: new Date(now().getTime() + delayMs), error: `waiting: ${outcome.reason}`, attempts: job.attempts - 1 };
      }
    }
  }

  async function slotLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let claimed: { job: Job; lease: string } | null = null;
      try {
        claimed = await claim();
      } catch (error) {
        log.error({ err: error }, "could not claim a job; will poll again");
      }
      if (claimed) {
        await runClaimed(claimed.job, claimed.lease);
        continue;
      }
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  return {
    start() {
      if (lifetime) return;
      lifetime = new AbortController();
      const signal = lifetime.signal;
      slots = Array.from({ length: concurrency }, () =>
        slotLoop(signal).catch((error: unknown) => log.error({ err: error }, "worker slot stopped unexpectedly")),
      );
      log.info({ owner, concurrency, leaseMs, pollMs }, "job worker started");
    },

    async stop() {
      if (!lifetime) return;
      lifetime.abort();
      await Promise.all(slots);
      lifetime = null;
      slots = [];
      log.info({ owner }, "job worker stopped");
    },

    async runDue() {
      // Jobs this call reschedules (wait, backoff) land after dueBy, so the drain ends.
      const dueBy = now();
      let ran = 0;
      const drain = async () => {
        for (;;) {
          const claimed = await claim(dueBy);
          if (!claimed) return;
          ran++;
          await runClaimed(claimed.job, claimed.lease);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, drain));
      return ran;
    },
  };
}

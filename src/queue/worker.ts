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
import { DEFAULT_BACKOFF } from "./backoff.js";
import { claimNextJob, settleJob, type JobSettlement } from "./libsql.js";
import { runClaimedJob } from "./run-job.js";
import type { BackoffPolicy, Logger, Worker, WorkerOptions } from "./types.js";

export const DEFAULT_CONCURRENCY = 2;
export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_POLL_MS = 1_000;
export const DEFAULT_JOB_TIMEOUT_MS = 15 * 60_000;

export function defaultWorkerOwner(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

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

  /** Runs one claimed job to a recorded end, renewing its lease every third of its length. Never throws. */
  async function runClaimed(job: Job, lease: string, stopSignal?: AbortSignal): Promise<void> {
    const jobLog = log.child({ jobId: job.id, kind: job.kind, attempt: job.attempts });
    const settle = async (settlement: JobSettlement): Promise<boolean> => {
      try {
        const written = await settleJob(store, job.id, lease, settlement, now());
        if (!written) jobLog.warn({ status: settlement.status }, "job lease was taken over by another worker; this run's outcome is discarded");
        return written;
      } catch (error) {
        // The lease will run out and another run will record the outcome; the handler must be idempotent anyway.
        jobLog.error({ err: error }, "could not record job outcome");
        return false;
      }
    };
    try {
      await runClaimedJob({
        store,
        job,
        lease,
        leaseMs,
        handlers,
        log: jobLog,
        timeoutMs: jobTimeoutMs,
        now,
        backoff,
        random,
        renewEveryMs: Math.max(10, Math.floor(leaseMs / 3)),
        settle,
        stopSignal,
      });
    } catch (error) {
      jobLog.error({ err: error }, "worker error while running job");
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
        await runClaimed(claimed.job, claimed.lease, signal);
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

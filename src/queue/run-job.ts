/**
 * One claimed job, run to a recorded end: the part the in-process worker and
 * the SQS worker function share. The job's handler runs with a JobContext
 * (heartbeat renews the lease, the signal aborts it) under a time limit, and
 * how it ended (an outcome, a throw, the time limit, the lease lost to
 * another worker) becomes the settlement its row records: done, skipped,
 * wait, retry with backoff or dead, failed. The callers differ only in how
 * they claim, what time a job gets, whether the lease is renewed on a timer,
 * and what they do once the row is written.
 */
import { describeError } from "../ops/describe-error.js";
import type { Store } from "../store/db.js";
import { backoffDelayMs } from "./backoff.js";
import { renewLease, type JobSettlement } from "./libsql.js";
import {
  LeaseLostError,
  PermanentJobError,
  type BackoffPolicy,
  type Job,
  type JobContext,
  type JobHandler,
  type JobOutcome,
  type Logger,
} from "./types.js";

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

export interface RunClaimedJobOptions {
  store: Store;
  /** The job as its claim returned it (attempts already counts this run). */
  job: Job;
  /** The lease token the claim was taken under. */
  lease: string;
  leaseMs: number;
  handlers: Record<string, JobHandler>;
  /** The job's own logger. */
  log: Logger;
  /** The handler is abandoned (aborted, the job retried) after this long. */
  timeoutMs: number;
  now: () => Date;
  backoff: BackoffPolicy;
  random: () => number;
  /**
   * Renew the lease this often while the handler runs, so a lease shorter than
   * the job stays held. Without it the lease is extended only by heartbeat
   * (the SQS worker's lease outlasts its invocation anyway).
   */
  renewEveryMs?: number;
  /** Writes the settlement under the lease; false when the write was refused (the lease was taken over). */
  settle(settlement: JobSettlement): Promise<boolean>;
  /**
   * The worker is stopping: the handler is aborted and the job handed back at
   * once (queued, due now, this attempt given back) rather than held until
   * its lease runs out.
   */
  stopSignal?: AbortSignal;
}

export type ClaimedJobEnd =
  /** Settled without running: dead after its final attempt's lease expired, or no handler for its kind. */
  | { kind: "refused" }
  /** The lease went to another worker while the handler ran: nothing was written. */
  | { kind: "lease-lost" }
  /** The handler's end as settled; `waited` when it asked to run later (no attempt spent). */
  | { kind: "ran"; settlement: JobSettlement; written: boolean; waited: boolean };

type RunEnd = { kind: "outcome"; outcome: unknown } | { kind: "threw"; error: unknown } | { kind: "timeout" } | { kind: "stopped" } | { kind: "lease-lost" };

/** Runs a claimed job's handler and settles its row. Throws only what `settle` (or the clock) throws. */
export async function runClaimedJob(options: RunClaimedJobOptions): Promise<ClaimedJobEnd> {
  const { job, handlers, log, settle } = options;
  // A takeover of a job whose final attempt never reported back: no attempts are left to give it.
  if (job.attempts > job.maxAttempts) {
    await settle({ status: "dead", attempts: job.maxAttempts, error: `${job.lastError ?? "lease expired"} on the final attempt: the worker stopped or hung` });
    log.warn("job is dead: its last attempt's lease expired");
    return { kind: "refused" };
  }
  const handler = Object.hasOwn(handlers, job.kind) ? handlers[job.kind] : undefined;
  if (!handler) {
    const known = Object.keys(handlers).sort().join(", ") || "none";
    await settle({ status: "failed", error: `no handler for job kind "${job.kind}" (known kinds: ${known})` });
    log.error("job failed: unknown kind");
    return { kind: "refused" };
  }
  const end = await runHandler(options, handler);
  if (end.kind === "lease-lost" || (end.kind === "threw" && end.error instanceof LeaseLostError)) {
    log.warn("job lease lost to another worker while running; leaving the job to it");
    return { kind: "lease-lost" };
  }
  const settlement = settlementOf(options, end);
  const written = await settle(settlement);
  return { kind: "ran", settlement, written, waited: end.kind === "outcome" && settlement.status === "queued" };
}

/** The handler under a time limit, racing the loss of its lease (found by heartbeat or by the renewal timer). */
async function runHandler(options: RunClaimedJobOptions, handler: JobHandler): Promise<RunEnd> {
  const { store, job, lease, leaseMs, log, timeoutMs, now } = options;
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
    log,
    async heartbeat() {
      if (!(await renew())) throw new LeaseLostError(job.id);
    },
  };
  const renewTimer =
    options.renewEveryMs === undefined
      ? undefined
      : setInterval(() => {
          renew().catch((error: unknown) => log.warn({ err: error }, "lease renewal failed; will try again"));
        }, options.renewEveryMs);
  let timeoutTimer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<RunEnd>((resolve) => {
    timeoutTimer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs);
  });
  const stopSignal = options.stopSignal;
  let onStop: (() => void) | undefined;
  const stopped = new Promise<RunEnd>((resolve) => {
    if (!stopSignal) return;
    onStop = () => resolve({ kind: "stopped" });
    if (stopSignal.aborted) onStop();
    else stopSignal.addEventListener("abort", onStop, { once: true });
  });
  const ran = Promise.resolve()
    .then(() => handler(job.payload, ctx))
    .then(
      (outcome): RunEnd => ({ kind: "outcome", outcome }),
      (error: unknown): RunEnd => ({ kind: "threw", error }),
    );
  try {
    const end = await Promise.race([ran, timedOut, lost, stopped]);
    if (end.kind === "timeout") abort.abort(new Error(`timed out after ${timeoutMs} ms`));
    if (end.kind === "stopped") abort.abort(new Error("the worker is stopping"));
    return end;
  } finally {
    clearInterval(renewTimer);
    clearTimeout(timeoutTimer);
    if (onStop) stopSignal?.removeEventListener("abort", onStop);
  }
}

/** What the row should record for a run that ended with the lease still held. */
function settlementOf(options: RunClaimedJobOptions, end: Exclude<RunEnd, { kind: "lease-lost" }>): JobSettlement {
  const { job, log, timeoutMs, now } = options;
  switch (end.kind) {
    case "stopped":
      log.info("worker stopping: job handed back for the next worker");
      return { status: "queued", runAfter: now(), error: "handed back: the worker stopped while running it", attempts: job.attempts - 1 };
    case "timeout":
      log.error({ timeoutMs }, "job timed out; abandoning the handler");
      return retryOrDie(options, `timed out after ${timeoutMs} ms`);
    case "threw": {
      const message = describeError(end.error);
      if (end.error instanceof PermanentJobError) {
        log.error({ err: end.error }, "job failed permanently");
        return { status: "failed", error: message };
      }
      log.warn({ err: end.error }, "job attempt failed");
      return retryOrDie(options, message);
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

/** Another try after the backoff, or dead when this was the last attempt. */
function retryOrDie(options: RunClaimedJobOptions, error: string): JobSettlement {
  const { job, backoff, random, now } = options;
  const note = `${error} (attempt ${job.attempts} of ${job.maxAttempts})`;
  if (job.attempts >= job.maxAttempts) return { status: "dead", error: note };
  return { status: "queued", runAfter: new Date(now().getTime() + backoffDelayMs(job.attempts, backoff, random)), error: note };
}

/**
 * The worker function: each SQS record names one row of the `jobs` table.
 * The record's job is claimed under a lease (so a duplicate message never runs
 * it twice), run by the same handler the in-process worker would use, and
 * settled in the row. What goes back to SQS:
 *  - done, skipped, permanent failure, dead: the message is deleted;
 *  - wait (and a message that arrived before its job is due): a new message
 *    is sent with the remaining delay (standard queue), the old one deleted;
 *  - a thrown error with attempts left: the row is rescheduled with the usual
 *    backoff, the message's visibility is set to that backoff and the record
 *    is reported in `batchItemFailures`, so SQS delivers it again then;
 *  - anything the worker could not record (database down, a message it cannot
 *    read): reported as a failure, retried after the visibility timeout and
 *    sent to the DLQ after the queue's maxReceiveCount.
 * FIFO queues take no per-message delay, so there every "later" is a
 * visibility change, and records are run in order, stopping at the first
 * failure as Lambda's FIFO partial-batch contract requires.
 */
import { randomUUID } from "node:crypto";
import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import { DEFAULT_BACKOFF } from "../queue/backoff.js";
import { claimJobById, getJob, settleJob, type JobSettlement } from "../queue/libsql.js";
import { runClaimedJob } from "../queue/run-job.js";
import { decodeJobMessage, type SqsJobQueue } from "../queue/sqs.js";
import type { BackoffPolicy, Job, JobHandler, Logger } from "../queue/types.js";
import type { Store } from "../store/db.js";
import type { LambdaContext, SqsBatchResponse, SqsEvent, SqsRecord } from "./events.js";

/** A job may run this long when Lambda gives no clock (tests, local invocations). */
export const DEFAULT_JOB_TIMEOUT_MS = 15 * 60_000;
/** Kept back from the invocation's remaining time to settle the row and answer SQS. */
export const DEFAULT_SAFETY_MARGIN_MS = 15_000;
/** Less time than this left in the invocation: the record goes back to SQS unclaimed rather than start a run it cannot finish. */
export const MIN_JOB_MS = 1_000;
/** SQS's ceiling for a message's visibility timeout (12 hours). */
const MAX_VISIBILITY_SECONDS = 43_200;

export interface SqsWorkerOptions {
  store: Store;
  queue: SqsJobQueue;
  handlers: Record<string, JobHandler>;
  log: Logger;
  now?: () => Date;
  backoff?: Partial<BackoffPolicy>;
  random?: () => number;
  /** Upper bound on one job's run; the invocation's remaining time (less the margin) bounds it too. */
  jobTimeoutMs?: number;
  safetyMarginMs?: number;
  /** Lease owner prefix (default: the Lambda request id, or a random id). */
  owner?: string;
}

export type SqsWorkerHandler = (event: SqsEvent, context?: LambdaContext) => Promise<SqsBatchResponse>;

/** What to do with one record once its job is dealt with. */
type Disposal = { ack: true } | { ack: false; visibilitySeconds?: number };

export function createSqsWorkerHandler(options: SqsWorkerOptions): SqsWorkerHandler {
  const { store, queue, handlers, log } = options;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.backoff };
  const margin = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;

  function secondsUntil(at: Date | string): number {
    const due = typeof at === "string" ? Date.parse(at) : at.getTime();
    return Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil((due - now().getTime()) / 1000)));
  }

  /** The job should run at `runAfter`: a fresh delayed message on a standard queue, a held-back message on FIFO. */
  async function later(job: Job, runAfter: string): Promise<Disposal> {
    if (queue.fifo) return { ack: false, visibilitySeconds: secondsUntil(runAfter) };
    await queue.dispatch({ ...job, runAfter }, "resend");
    return { ack: true };
  }

  async function processRecord(record: SqsRecord, owner: string, budgetMs: number): Promise<Disposal> {
    const message = decodeJobMessage(record.body);
    if (!message) {
      // Not ours, or damaged: leave it to SQS's redrive so it lands in the DLQ for a person to read.
      log.error({ messageId: record.messageId }, "SQS message is not a fixloop job message");
      return { ack: false };
    }
    const lease = `${owner}#${randomUUID().slice(0, 8)}`;
    const timeoutMs = Math.min(options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS, budgetMs);
    // The lease outlives the invocation: after a crash the message comes back only after the (longer) visibility timeout.
    const leaseMs = timeoutMs + margin;
    const job = await claimJobById(store, message.jobId, lease, leaseMs, now());
    if (!job) {
      const row = await getJob(store, message.jobId);
      if (!row) {
        log.warn({ jobId: message.jobId, messageId: record.messageId }, "message names no job row; dropping it");
        return { ack: true };
      }
      if (row.status === "queued" && Date.parse(row.runAfter) > now().getTime()) return later(row, row.runAfter);
      // Finished, or running under another live lease: this copy of the message has nothing to do.
      log.info({ jobId: row.id, status: row.status, messageId: record.messageId }, "job not claimable; dropping the message");
      return { ack: true };
    }
    const jobLog = log.child({ jobId: job.id, kind: job.kind, attempt: job.attempts, messageId: record.messageId });
    const settle = async (settlement: JobSettlement): Promise<boolean> => {
      const written = await settleJob(store, job.id, lease, settlement, now());
      if (!written) jobLog.warn({ status: settlement.status }, "job lease was taken over; this run's outcome is discarded");
      return written;
    };
    const end = await runClaimedJob({ store, job, lease, leaseMs, handlers, log: jobLog, timeoutMs, now, backoff, random, settle });
    if (end.kind !== "ran" || !end.written) return { ack: true };
    const { settlement } = end;
    if (settlement.status !== "queued") {
      jobLog.info({ status: settlement.status }, "job settled");
      return { ack: true };
    }
    const runAfter = settlement.runAfter.toISOString();
    // A wait is a new run at a later time; a failure is SQS's retry of this message after the backoff.
    if (end.waited) return later(job, runAfter);
    return { ack: false, visibilitySeconds: secondsUntil(runAfter) };
  }

  async function holdBack(record: SqsRecord, seconds: number): Promise<void> {
    try {
      await queue.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds }));
    } catch (error) {
      // The queue's own visibility timeout applies instead: later than planned, never lost.
      log.warn({ err: error, messageId: record.messageId }, "could not set the message's visibility; SQS retries it after the queue's timeout");
    }
  }

  async function handleRecord(record: SqsRecord, owner: string, budgetMs: number): Promise<boolean> {
    if (budgetMs < MIN_JOB_MS) {
      log.warn({ messageId: record.messageId, budgetMs }, "too little of the invocation left to start a job; SQS will deliver the message again");
      return false;
    }
    let disposal: Disposal;
    try {
      disposal = await processRecord(record, owner, budgetMs);
    } catch (error) {
      log.error({ err: error, messageId: record.messageId }, "could not process the job message; SQS will deliver it again");
      return false;
    }
    if (disposal.ack) return true;
    if (disposal.visibilitySeconds !== undefined) await holdBack(record, disposal.visibilitySeconds);
    return false;
  }

  return async function worker(event, context) {
    const owner = options.owner ?? `lambda:${context?.awsRequestId ?? randomUUID()}`;
    const budget = () => (context ? context.getRemainingTimeInMillis() - margin : DEFAULT_JOB_TIMEOUT_MS);
    const records = event.Records ?? [];
    const failed: string[] = [];
    if (queue.fifo) {
      for (const [index, record] of records.entries()) {
        if (await handleRecord(record, owner, budget())) continue;
        // FIFO: nothing after a failure may run before it; hand all the rest back in order.
        failed.push(...records.slice(index).map((r) => r.messageId));
        break;
      }
    } else {
      const budgetMs = budget();
      const results = await Promise.all(records.map((record) => handleRecord(record, owner, budgetMs)));
      results.forEach((ok, index) => {
        if (!ok) failed.push(records[index].messageId);
      });
    }
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

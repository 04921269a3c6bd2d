/**
 * The job queue on SQS (the Lambda deployment). The `jobs` table stays the
 * record of every job: enqueue inserts the row first (dedup on its unique
 * dedup_key) and sends a message only when the row was created, so a
 * redelivered webhook never yields two jobs even on a standard queue, which
 * delivers at least once and has no dedup of its own. The message only says
 * "run job <id>"; the worker claims that row under a lease, exactly as the
 * in-process worker claims the next one, and settles it the same way.
 */
import { createHash } from "node:crypto";
import { SendMessageCommand, type SendMessageCommandInput, type SQSClient } from "@aws-sdk/client-sqs";
import { z } from "zod";
import type { Store } from "../store/db.js";
import { jobs, type Job } from "../store/schema.js";
import { claimableBy, createLibsqlQueue } from "./libsql.js";
import type { JobQueue } from "./types.js";

// The SQS worker claims the row its message names; the claim is the table's, shared with claimNextJob.
export { claimJobById } from "./libsql.js";

/** SQS refuses per-message delays above 15 minutes; the worker sends a longer wait on again when it arrives early. */
export const SQS_MAX_DELAY_SECONDS = 900;
/** Queued jobs this long past due with no run are taken to have lost their message (a failed send, a message gone to the DLQ). */
export const DEFAULT_STRANDED_AFTER_MS = 10 * 60_000;
const MESSAGE_VERSION = 1;

/** What a queue message carries. Only jobId is trusted; the rest is there for people reading the queue or its DLQ. */
export interface JobMessage {
  fixloop: typeof MESSAGE_VERSION;
  jobId: number;
  kind: string;
  dedupKey: string | null;
  payload: unknown;
}

const jobMessageSchema = z.object({
  fixloop: z.literal(MESSAGE_VERSION),
  jobId: z.number().int().positive(),
  kind: z.string(),
});

export type JobToDispatch = Pick<Job, "id" | "kind" | "payload" | "dedupKey" | "runAfter">;

export function encodeJobMessage(job: JobToDispatch): string {
  const message: JobMessage = { fixloop: MESSAGE_VERSION, jobId: job.id, kind: job.kind, dedupKey: job.dedupKey, payload: job.payload };
  return JSON.stringify(message);
}

/** The job a message names, or null for a body fixloop did not write. */
export function decodeJobMessage(body: string): { jobId: number; kind: string } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  const result = jobMessageSchema.safeParse(parsed);
  return result.success ? { jobId: result.data.jobId, kind: result.data.kind } : null;
}

export function isFifoQueueUrl(queueUrl: string): boolean {
  return queueUrl.endsWith(".fifo");
}

/** Whole seconds until `runAfter`, within what one SQS message can wait. */
export function delaySecondsUntil(runAfter: string | Date, now: Date): number {
  const due = typeof runAfter === "string" ? Date.parse(runAfter) : runAfter.getTime();
  if (!Number.isFinite(due)) return 0;
  return Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.ceil((due - now.getTime()) / 1000)));
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** FIFO order is per group: one repository's jobs run in order, different repositories in parallel. */
function messageGroupOf(job: JobToDispatch): string {
  const payload = job.payload as { repo?: unknown } | null;
  const repo = payload && typeof payload === "object" && typeof payload.repo === "string" ? payload.repo.toLowerCase() : null;
  return (repo ?? `kind:${job.kind}`).slice(0, 128);
}

export interface SqsQueueOptions {
  store: Store;
  client: SQSClient;
  queueUrl: string;
  now?: () => Date;
}

export interface SqsJobQueue extends JobQueue {
  readonly queueUrl: string;
  readonly fifo: boolean;
  readonly client: SQSClient;
  /**
   * Sends the message that runs `job` at its run_after: after enqueue, after a
   * wait, for a message that arrived early, for a stranded job. Duplicate
   * messages are harmless: only one claim of the row can succeed.
   */
  dispatch(job: JobToDispatch, reason: "enqueue" | "resend"): Promise<void>;
}

export function createSqsQueue(options: SqsQueueOptions): SqsJobQueue {
  const { store, client, queueUrl } = options;
  const now = options.now ?? (() => new Date());
  const fifo = isFifoQueueUrl(queueUrl);
  const rows = createLibsqlQueue(store, { now });

  async function dispatch(job: JobToDispatch, reason: "enqueue" | "resend"): Promise<void> {
    const input: SendMessageCommandInput = { QueueUrl: queueUrl, MessageBody: encodeJobMessage(job) };
    if (fifo) {
      // FIFO queues take no per-message delay: an early message is held back by the worker instead.
      input.MessageGroupId = messageGroupOf(job);
      // The first send dedups on the job's own key; a resend is a new run (new run_after) and must not be swallowed.
      input.MessageDeduplicationId = sha256(reason === "enqueue" ? (job.dedupKey ?? `job:${job.id}`) : `job:${job.id}:run:${job.runAfter}`);
    } else {
      input.DelaySeconds = delaySecondsUntil(job.runAfter, now());
    }
    await client.send(new SendMessageCommand(input));
  }

  return {
    queueUrl,
    fifo,
    client,
    dispatch,
    async enqueue(kind, payload, enqueueOptions = {}) {
      const enqueuedAt = now();
      const row = await rows.enqueue(kind, payload, enqueueOptions);
      if (!row.created) return row;
      // What the row holds, from the arguments: no read back (each statement is a round trip to a remote database).
      const runAfter = (enqueueOptions.runAfter ?? enqueuedAt).toISOString();
      // A failed send leaves the row queued with no message; the scheduled sweep (redispatchStrandedJobs) sends it later.
      await dispatch({ id: row.id, kind, payload, dedupKey: enqueueOptions.dedupKey ?? null, runAfter }, "enqueue");
      return row;
    },
  };
}

/**
 * Sends a message again for jobs that should have run long ago and have not:
 * the send after the insert failed, `fixloop jobs retry` put a job back, a
 * worker died and its message went to the DLQ. Run from the scheduled
 * function. Returns the ids sent.
 */
export async function redispatchStrandedJobs(
  store: Store,
  queue: Pick<SqsJobQueue, "dispatch">,
  options: { now?: Date; strandedAfterMs?: number; limit?: number } = {},
): Promise<number[]> {
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - (options.strandedAfterMs ?? DEFAULT_STRANDED_AFTER_MS));
  const stranded = await store.db
    .select({ id: jobs.id, kind: jobs.kind, payload: jobs.payload, dedupKey: jobs.dedupKey, runAfter: jobs.runAfter })
    .from(jobs)
    .where(claimableBy(cutoff))
    .orderBy(jobs.runAfter, jobs.id)
    .limit(options.limit ?? 100);
  const sent: number[] = [];
  for (const job of stranded) {
    await queue.dispatch(job, "resend");
    sent.push(job.id);
  }
  return sent;
}

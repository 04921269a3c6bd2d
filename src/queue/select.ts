/**
 * Which queue carries fix jobs, from configuration alone:
 * FIXLOOP_QUEUE=libsql (default: the `jobs` table and the in-process worker)
 * or FIXLOOP_QUEUE=sqs with FIXLOOP_SQS_QUEUE_URL (the Lambda deployment).
 * The job handlers are the same either way.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Store } from "../store/db.js";
import { createLibsqlQueue } from "./libsql.js";
import { createSqsQueue, type SqsJobQueue } from "./sqs.js";
import type { JobQueue } from "./types.js";

export const QUEUE_KINDS = ["libsql", "sqs"] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

export type SelectedQueue = { kind: "libsql"; queue: JobQueue } | { kind: "sqs"; queue: SqsJobQueue };

export function queueKindFromEnv(env: NodeJS.ProcessEnv = process.env): QueueKind {
  const value = (env.FIXLOOP_QUEUE ?? "").trim().toLowerCase() || "libsql";
  if (!(QUEUE_KINDS as readonly string[]).includes(value)) {
    throw new Error(`FIXLOOP_QUEUE must be one of ${QUEUE_KINDS.join(", ")}, got "${env.FIXLOOP_QUEUE}"`);
  }
  return value as QueueKind;
}

export function queueFromEnv(store: Store, options: { env?: NodeJS.ProcessEnv; sqsClient?: SQSClient; now?: () => Date } = {}): SelectedQueue {
  const env = options.env ?? process.env;
  const kind = queueKindFromEnv(env);
  if (kind === "libsql") return { kind, queue: createLibsqlQueue(store, { now: options.now }) };
  const queueUrl = env.FIXLOOP_SQS_QUEUE_URL?.trim();
  if (!queueUrl) throw new Error("FIXLOOP_QUEUE=sqs needs FIXLOOP_SQS_QUEUE_URL (the queue's URL, https://sqs.<region>.amazonaws.com/<account>/<name>)");
  // The region comes from the queue URL when AWS_REGION is unset (outside Lambda, e.g. `fixloop replay` against SQS).
  const region = env.AWS_REGION || /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\//.exec(queueUrl)?.[1];
  const client = options.sqsClient ?? new SQSClient(region ? { region } : {});
  return { kind, queue: createSqsQueue({ store, client, queueUrl, now: options.now }) };
}

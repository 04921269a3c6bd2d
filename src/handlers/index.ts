/**
 * The ingest handlers, one per event family, and the one entry that routes a
 * delivery to its handler.
 */
import type { Logger } from "pino";
import { FORGE_HANDLERS } from "../forges/handlers.js";
import { MalformedPayloadError } from "../ingest/map.js";
import { describeError } from "../ops/describe-error.js";
import type { JobQueue } from "../queue/index.js";
import type { Store } from "../store/db.js";
import type { TransactionMemo } from "../store/transaction-scope.js";
import { recordCheckSuite } from "./check-suite.js";
import { recordIssueComment } from "./issue-comment.js";
import { recordPullRequest } from "./pull-request.js";
import { recordPullRequestReview, recordPullRequestReviewComment } from "./pr-review.js";
import { recordPush } from "./push.js";
import type { IngestHandler } from "./types.js";
import { recordWorkflowRun } from "./workflow-run.js";

export const INGEST_HANDLERS: Record<string, IngestHandler> = {
  pull_request: recordPullRequest,
  workflow_run: recordWorkflowRun,
  check_suite: recordCheckSuite,
  push: recordPush,
  pull_request_review: recordPullRequestReview,
  pull_request_review_comment: recordPullRequestReviewComment,
  issue_comment: recordIssueComment,
  // GitLab and Gitea deliveries (forge-prefixed names), so replays of stored ones find their handlers too.
  ...FORGE_HANDLERS,
};

export type DeliveryAnswer =
  | { status: "processed" | "ignored"; note?: string }
  /** `malformed`: the payload lacks what its event must carry — the sender's fault, answered with a 400. */
  | { status: "failed"; error: string; malformed?: true };

export interface Delivery {
  id: string;
  name: string;
  payload: Record<string, unknown>;
  /** The body is stored in `delivery_bodies` (the inbox's deliveries): see IngestContext.bodyStored. */
  bodyStored?: boolean;
  /** The write transaction the delivery runs in, if any: see IngestContext.memo. */
  memo?: TransactionMemo;
}

export interface DispatchDeps {
  store: Store;
  log: Logger;
  queue?: JobQueue;
  handlers?: Record<string, IngestHandler>;
}

/**
 * Routes one delivery to its handler and says how it went. Recording and
 * settling the delivery row is the inbox's job (src/inbox/): this only runs
 * the handler, so the same code serves the processor and the tests.
 */
export async function handleDelivery(deps: DispatchDeps, delivery: Delivery): Promise<DeliveryAnswer> {
  const { store, log } = deps;
  const { id, name, payload } = delivery;
  const handler = (deps.handlers ?? INGEST_HANDLERS)[name];
  if (!handler) return { status: "ignored", note: `no handler for ${name}` };
  try {
    return await handler({ deliveryId: id, event: name, payload, store, log, queue: deps.queue, bodyStored: delivery.bodyStored, memo: delivery.memo });
  } catch (error) {
    const message = describeError(error);
    if (error instanceof MalformedPayloadError) return { status: "failed", error: message, malformed: true };
    return { status: "failed", error: message };
  }
}

/**
 * One entry for every delivery: record it (dedup on the delivery id), route it
 * to its thin handler, and mark the row processed or failed. A handler error
 * never loses the delivery row.
 */
import type { Logger } from "pino";
import { FORGE_HANDLERS } from "../forges/handlers.js";
import { MalformedPayloadError } from "../ingest/map.js";
import { describeError } from "../queue/run-job.js";
import type { JobQueue } from "../queue/index.js";
import type { Store } from "../store/db.js";
import { claimDelivery, finishDelivery } from "../store/records.js";
import { recordCheckSuite } from "./check-suite.js";
import { recordIssueComment } from "./issue-comment.js";
import { recordPullRequest } from "./pull-request.js";
import { recordPullRequestReview, recordPullRequestReviewComment } from "./pr-review.js";
import { recordPush } from "./push.js";
import { actionOf, installationIdOf, repoSlugOf, type IngestHandler } from "./types.js";
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
  | { status: "duplicate" }
  /** `malformed`: the payload lacks what its event must carry — the sender's fault, answered with a 400. */
  | { status: "failed"; error: string; malformed?: true };

export interface Delivery {
  id: string;
  name: string;
  payload: Record<string, unknown>;
}

/**
 * The JSON text each payload object was parsed from, filled in by the webhook
 * ingress. Probot hands the same object to the handler, so the delivery row
 * can store the body as received instead of serialising 20 KB again.
 */
const payloadTexts = new WeakMap<object, string>();

export function rememberPayloadJson(payload: object, json: string): void {
  payloadTexts.set(payload, json);
}

export interface DispatchDeps {
  store: Store;
  log: Logger;
  queue?: JobQueue;
  handlers?: Record<string, IngestHandler>;
}

export async function dispatchDelivery(deps: DispatchDeps, delivery: Delivery): Promise<DeliveryAnswer> {
  const { store, log } = deps;
  const { id, name, payload } = delivery;
  const claimed = await claimDelivery(store.db, {
    id,
    event: name,
    action: actionOf(payload),
    repoSlug: repoSlugOf(payload),
    installationId: installationIdOf(payload),
    payload,
    payloadJson: payloadTexts.get(payload),
  });
  if (!claimed) {
    log.info({ delivery: id, event: name }, "duplicate delivery: already recorded, nothing done");
    return { status: "duplicate" };
  }
  const handler = (deps.handlers ?? INGEST_HANDLERS)[name];
  if (!handler) {
    await finishDelivery(store.db, id, { status: "ignored" });
    return { status: "ignored", note: `no handler for ${name}` };
  }
  try {
    const result = await handler({ deliveryId: id, event: name, payload, store, log, queue: deps.queue });
    await finishDelivery(store.db, id, { status: result.status });
    return result;
  } catch (error) {
    const message = describeError(error);
    // The row stays (failed, with the error) either way: a redelivery or `fixloop replay` can process it later.
    await finishDelivery(store.db, id, { status: "failed", error: message });
    if (error instanceof MalformedPayloadError) {
      log.warn({ delivery: id, event: name, error: message }, "delivery payload is malformed");
      return { status: "failed", error: message, malformed: true };
    }
    log.error({ delivery: id, event: name, err: error }, "delivery failed");
    return { status: "failed", error: message };
  }
}

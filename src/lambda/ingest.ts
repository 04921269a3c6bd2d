/**
 * The ingest function: SQS records from the deliveries queue, each one
 * delivery the webhook function verified and sent. Each is appended to the
 * inbox (the `deliveries` table, deduplicated on the delivery id) and
 * processed at once by the inbox processor, with the same handlers as on a
 * node server. What goes back to SQS:
 *  - processed, ignored, failed for good, or a duplicate (the row was there
 *    already: a redelivery, or SQS delivering a message twice): deleted;
 *  - our own failure with tries left: the row waits with its backoff, and the
 *    message is held back until then and reported in `batchItemFailures`, so
 *    SQS brings it back when the row is due (the scheduled inbox drain is the
 *    backstop);
 *  - a message fixloop did not write, or a database that cannot be reached:
 *    reported as a failure; after the queue's maxReceiveCount it is in the DLQ.
 * Records run one after another, in the batch's order.
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryProcessor } from "../inbox/index.js";
import { inboxEntryOf } from "../inbox/index.js";
import { appendDeliveries } from "../inbox/rows.js";
import type { Logger } from "../queue/types.js";
import type { Store } from "../store/db.js";
import type { LambdaContext, SqsBatchResponse, SqsEvent, SqsRecord } from "./events.js";
import { decodeDeliveryMessage } from "./intake.js";

/** Kept back from the invocation's remaining time: below it, the rest of the batch goes back to SQS untouched. */
export const INGEST_SAFETY_MARGIN_MS = 5_000;
const MAX_VISIBILITY_SECONDS = 43_200;

export interface IngestHandlerOptions {
  store: Store;
  processor: DeliveryProcessor;
  sqs: SQSClient;
  queueUrl: string;
  log: Logger;
  now?: () => Date;
}

export type IngestHandler = (event: SqsEvent, context?: LambdaContext) => Promise<SqsBatchResponse>;

type Outcome = { ack: true } | { ack: false; visibilitySeconds?: number };

export function createIngestHandler(options: IngestHandlerOptions): IngestHandler {
  const { store, processor, log } = options;
  const now = options.now ?? (() => new Date());

  async function ingest(record: SqsRecord): Promise<Outcome> {
    const message = decodeDeliveryMessage(record.body);
    if (!message) {
      log.error({ messageId: record.messageId }, "SQS message is not a fixloop delivery; leaving it to the DLQ");
      return { ack: false };
    }
    // Stored as it came: the processor parses it (and fails a body that is not a JSON object as malformed, for a person to see).
    const entry = inboxEntryOf({ id: message.id, name: message.event, body: message.body, headers: message.headers });
    const taken = await appendDeliveries(store.client, [entry], now().toISOString());
    // Due only if new, or a copy of a message whose earlier run is waiting for its retry time now reached.
    const answer = await processor.processById(message.id, { retry: true });
    const ids = { delivery: message.id, event: message.event, messageId: record.messageId };
    if (!answer) {
      log.info({ ...ids, appended: taken.has(message.id) }, "delivery already in the inbox and not due: nothing to do for this message");
      return { ack: true };
    }
    if (answer.status === "retry") {
      const seconds = Math.ceil((Date.parse(answer.retryAt) - now().getTime()) / 1000);
      return { ack: false, visibilitySeconds: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, seconds)) };
    }
    log.info({ ...ids, status: answer.status }, "delivery processed");
    return { ack: true };
  }

  async function holdBack(record: SqsRecord, seconds: number): Promise<void> {
    try {
      await options.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: options.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds }));
    } catch (error) {
      log.warn({ err: error, messageId: record.messageId }, "could not hold the message back; SQS brings it back after the queue's visibility timeout");
    }
  }

  return async function ingestBatch(event, context) {
    const failed: string[] = [];
    const records = event.Records ?? [];
    for (const [index, record] of records.entries()) {
      if (context && context.getRemainingTimeInMillis() < INGEST_SAFETY_MARGIN_MS) {
        log.warn({ left: records.length - index }, "invocation nearly out of time; handing the rest of the batch back to SQS");
        failed.push(...records.slice(index).map((r) => r.messageId));
        break;
      }
      let outcome: Outcome;
      try {
        outcome = await ingest(record);
      } catch (error) {
        log.error({ err: error, messageId: record.messageId }, "could not store or process the delivery; SQS will deliver it again");
        outcome = { ack: false };
      }
      if (outcome.ack) continue;
      if (outcome.visibilitySeconds !== undefined) await holdBack(record, outcome.visibilitySeconds);
      failed.push(record.messageId);
    }
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

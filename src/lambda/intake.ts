/**
 * The Lambda webhook's one write. A verified delivery becomes either
 *  - one SQS message on the deliveries queue carrying the body, when it fits
 *    the queue's message size (almost every delivery: a `workflow_run` is
 *    ~20 KB), or
 *  - one inbox row on the remote libSQL database, when it does not (a `push`
 *    with a long commit list); the scheduled function's inbox drain takes it.
 * Then the function answers 202. The ingest function (ingest.ts) puts a
 * message's delivery into the inbox, deduplicated on the delivery id, and
 * processes it with the inbox processor's handlers; nothing else reads a
 * message, so a duplicate message or a redelivery by GitHub is found there.
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Client } from "@libsql/client";
import { z } from "zod";
import { inboxEntryOf, type AppendResult, type VerifiedDelivery } from "../inbox/index.js";
import { appendDeliveries } from "../inbox/rows.js";

/** SQS's default (and, before 2025, largest) message size. A queue set to 1 MiB can say so with FIXLOOP_SQS_MAX_MESSAGE_BYTES. */
export const DEFAULT_SQS_MAX_MESSAGE_BYTES = 256 * 1024;
const MESSAGE_VERSION = 1;

/** What a deliveries-queue message carries: the delivery as verified, its body as received. */
export interface DeliveryMessage {
  fixloopDelivery: typeof MESSAGE_VERSION;
  id: string;
  event: string;
  headers: Record<string, string> | null;
  body: string;
}

const deliveryMessageSchema = z.object({
  fixloopDelivery: z.literal(MESSAGE_VERSION),
  id: z.string().min(1),
  event: z.string().min(1),
  headers: z.record(z.string(), z.string()).nullable(),
  body: z.string(),
});

export function encodeDeliveryMessage(delivery: VerifiedDelivery): string {
  const message: DeliveryMessage = {
    fixloopDelivery: MESSAGE_VERSION,
    id: delivery.id,
    event: delivery.name,
    headers: delivery.headers ?? null,
    body: delivery.body ?? JSON.stringify(delivery.payload),
  };
  return JSON.stringify(message);
}

/** The delivery a message carries, or null for a body fixloop did not write (it is left to the DLQ). */
export function decodeDeliveryMessage(text: string): DeliveryMessage | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const result = deliveryMessageSchema.safeParse(parsed);
  return result.success ? result.data : null;
}

export interface DeliveryIntakeOptions {
  sqs: SQSClient;
  /** The deliveries queue (a standard queue: the inbox deduplicates, and order is kept by the rows' order keys). */
  queueUrl: string;
  /** The remote database's client, for the deliveries too big for a message. */
  client: Client;
  maxMessageBytes?: number;
  now?: () => Date;
}

/** Which write took the delivery. */
export type IntakeResult = { result: AppendResult; via: "sqs" | "inbox" };

export interface DeliveryIntake {
  accept(delivery: VerifiedDelivery): Promise<IntakeResult>;
}

export function createDeliveryIntake(options: DeliveryIntakeOptions): DeliveryIntake {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_SQS_MAX_MESSAGE_BYTES;
  const now = options.now ?? (() => new Date());
  return {
    async accept(delivery) {
      const message = encodeDeliveryMessage(delivery);
      if (Buffer.byteLength(message, "utf8") <= maxMessageBytes) {
        // SQS cannot say whether it saw this delivery before: the ingest function's inbox append does.
        await options.sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: message }));
        return { result: "accepted", via: "sqs" };
      }
      const taken = await appendDeliveries(options.client, [inboxEntryOf(delivery)], now().toISOString());
      return { result: taken.has(delivery.id) ? "accepted" : "duplicate", via: "inbox" };
    },
  };
}

/**
 * The delivery inbox: the webhook ingress appends a verified delivery and
 * answers at once; the processor works through what was appended. Both sit
 * on the `deliveries` table, so a crash between the two loses nothing.
 */
import { FORGE_HANDLERS } from "../forges/handlers.js";
import { INGEST_HANDLERS } from "../handlers/index.js";
import { appendDeliveries, deliveryFacts, type InboxEntry } from "./rows.js";
import { createDeliveryProcessor, type DeliveryProcessor, type DeliveryProcessorOptions, type ProcessedAnswer } from "./processor.js";
import { createInboxWriter, type AppendResult, type InboxWriter, type InboxWriterOptions } from "./writer.js";
import { createWriteTurns, type WriteTurns } from "./write-turns.js";

export { requeueDelivery } from "./rows.js";
export type { AppendResult, DeliveryProcessor, InboxWriter, ProcessedAnswer };

/**
 * A delivery whose signature was checked. The webhook ingress hands over the
 * body alone: parsing 20 KB of JSON was a tenth of the request thread's work,
 * and the processor parses it anyway (then records action, repository and
 * installation, see settleDeliveries). Other paths hand over the payload.
 */
export type VerifiedDelivery = {
  id: string;
  name: string;
  headers?: Record<string, string> | null;
} & (
  | {
      payload: Record<string, unknown>;
      /** The body as received; stored as-is. Absent when the payload came as an object (probot receive). */
      body?: string;
    }
  | { payload?: undefined; body: string }
);

/** How a delivery handed over synchronously went. */
export type ReceiveAnswer = ProcessedAnswer | { status: "duplicate" } | { status: "queued" };

export interface Inbox {
  /** The ingress path: a group-committed append; the processor is woken to take it. */
  accept(delivery: VerifiedDelivery): Promise<AppendResult>;
  /** The synchronous path (`probot receive`, replay, Lambda): append, then process it before answering; a failure is final there. */
  receiveNow(delivery: VerifiedDelivery): Promise<ReceiveAnswer>;
  writer: InboxWriter;
  processor: DeliveryProcessor;
  /** Write turns of this inbox's writer and processor; an inbox thread on the same file shares them (thread.ts). */
  turns: WriteTurns;
}

export type InboxOptions = DeliveryProcessorOptions & { writer?: InboxWriterOptions };

export function inboxEntryOf(delivery: VerifiedDelivery): InboxEntry {
  const { payload } = delivery;
  return {
    id: delivery.id,
    event: delivery.name,
    ...(payload ? deliveryFacts(payload) : { action: null, repoSlug: null, installationId: null }),
    body: delivery.body ?? JSON.stringify(payload),
    headers: delivery.headers ?? null,
  };
}

/** Every handler a stored delivery may need: GitHub's by event name, GitLab's and Gitea's by their `forge:` prefixed names. */
export const DELIVERY_HANDLERS = { ...INGEST_HANDLERS, ...FORGE_HANDLERS };

export function createInbox(options: InboxOptions): Inbox {
  const now = options.now ?? (() => new Date());
  const turns = options.turns ?? createWriteTurns();
  const writer = createInboxWriter(options.store.client, { now, turns, ...options.writer });
  const processor = createDeliveryProcessor({ handlers: DELIVERY_HANDLERS, ...options, turns });
  return {
    writer,
    processor,
    turns,
    async accept(delivery) {
      const result = await writer.append(inboxEntryOf(delivery));
      if (result === "accepted") processor.wake();
      return result;
    },
    async receiveNow(delivery) {
      const taken = await appendDeliveries(options.store.client, [inboxEntryOf(delivery)], now().toISOString());
      if (!taken.has(delivery.id)) return { status: "duplicate" };
      // Null: a running processor took it first; it is stored and will be processed there.
      return (await processor.processById(delivery.id, { retry: false })) ?? { status: "queued" };
    },
  };
}

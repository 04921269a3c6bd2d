/**
 * Whoever hands a delivery to Probot (the HTTP ingress, the Lambda adapter,
 * `fixloop replay`) can learn how it went: the app's handler writes its
 * answer into the caller's slot. Ingress plumbing, below the app: the app
 * fills the slot, the ingress reads it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Probot } from "probot";
import type { ReceiveAnswer } from "../inbox/index.js";

const answerSlot = new AsyncLocalStorage<{ answer?: ReceiveAnswer }>();

export type Delivered = { id: string; name: string; payload: Record<string, unknown> };

export async function receiveWithAnswer(
  probot: Probot,
  delivery: Delivered,
  /** How the delivery reaches Probot's handlers; the Lambda adapter brings its own. */
  deliver: (delivery: Delivered) => Promise<unknown> = (d) => probot.receive(d as Parameters<Probot["receive"]>[0]),
): Promise<ReceiveAnswer> {
  const slot: { answer?: ReceiveAnswer } = {};
  try {
    await answerSlot.run(slot, () => deliver(delivery));
  } catch (error) {
    if (!slot.answer) return { status: "failed", error: error instanceof Error ? error.message : String(error) };
  }
  return slot.answer ?? { status: "ignored", note: "no handler answered" };
}

/** The app's handler: tells the caller that handed this delivery in (if it waits for one) how it went. */
export function answerDelivery(answer: ReceiveAnswer): void {
  const slot = answerSlot.getStore();
  if (slot) slot.answer = answer;
}

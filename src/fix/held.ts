/**
 * Whether a fix job may go on: nobody said `/fixloop stop` for its PR or
 * chain, and its commit is still the head of its branch. Asked before any
 * token is spent and again before publishing.
 */
import { stoppedReason } from "../commands/store.js";
import type { Db } from "../store/db.js";
import { supersededReason } from "./supersede.js";
import { chainIdOf, type FixTrigger } from "./trigger.js";

/** Who asked for an attempt with a comment, and what they said (`/fixloop retry <hint>`). */
export interface CommandRequest {
  commentId: number;
  author: string;
  /** Redacted and bounded; shown to the model as the person's hint. */
  hint?: string | null;
}

export async function stoppedOrSuperseded(db: Db, trigger: FixTrigger & { continuation?: { chainId: string } }): Promise<string | null> {
  const chainId = trigger.continuation?.chainId ?? chainIdOf(trigger);
  return (await stoppedReason(db, trigger.repo, { chainId, prNumbers: trigger.prNumbers })) ?? (await supersededReason(db, trigger));
}

/**
 * A cap on request bodies held in memory before their signature is checked.
 * Anyone can send 25 MB to a webhook URL; 16 such bodies at once held 400 MB
 * before each was refused. A body with a Content-Length reserves it before a
 * byte is read; one without reserves as its chunks arrive. A request the
 * budget cannot cover is answered 503 with Retry-After (GitHub, GitLab and
 * Gitea all redeliver on a 5xx) and the rest of its body is never buffered.
 * The reservation is held until the request is answered. One budget serves
 * every webhook route of a process.
 */
import type { IncomingMessage } from "node:http";
import { BodyTooLargeError } from "./respond.js";

export interface BodyBudget {
  /** Reserves `bytes`; false when the budget cannot cover them now. */
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
  readonly inUse: number;
  readonly limit: number;
}

/** Two bodies of GitHub's maximum size at once, or thousands of ordinary ones (most deliveries are a few KB). */
export const DEFAULT_UNVERIFIED_BODY_BYTES = 50 * 1024 * 1024;

export function createBodyBudget(limit = DEFAULT_UNVERIFIED_BODY_BYTES): BodyBudget {
  let inUse = 0;
  return {
    tryReserve(bytes) {
      if (inUse + bytes > limit) return false;
      inUse += bytes;
      return true;
    },
    release(bytes) {
      inUse = Math.max(0, inUse - bytes);
    },
    get inUse() {
      return inUse;
    },
    limit,
  };
}

export class BodyBudgetExceededError extends Error {
  override name = "BodyBudgetExceededError";
  /** Seconds a sender should wait: bodies in flight are read and answered within about that. */
  readonly retryAfterSeconds = 5;
}

export interface BudgetedBody {
  body: Buffer;
  /** Gives the reservation back; call once the request is answered. */
  release(): void;
}

/**
 * Reads a body of at most `maxBytes` within the budget. Throws
 * BodyTooLargeError past `maxBytes`, BodyBudgetExceededError when the budget
 * cannot hold it; either way nothing stays reserved.
 */
export async function readBudgetedBody(req: IncomingMessage, maxBytes: number, budget: BodyBudget): Promise<BudgetedBody> {
  const declared = Number(req.headers["content-length"]);
  const hasLength = req.headers["content-length"] !== undefined && Number.isFinite(declared) && declared >= 0;
  if (hasLength && declared > maxBytes) throw new BodyTooLargeError(`body of ${declared} bytes exceeds ${maxBytes}`);
  let held = 0;
  const release = () => {
    budget.release(held);
    held = 0;
  };
  const reserve = (bytes: number) => {
    if (!budget.tryReserve(bytes)) {
      throw new BodyBudgetExceededError(`too many unverified webhook bodies in flight (${budget.inUse} of ${budget.limit} bytes held): retry later`);
    }
    held += bytes;
  };
  try {
    if (hasLength) reserve(declared);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw new BodyTooLargeError(`body exceeds ${maxBytes} bytes`);
      if (size > held) reserve(size - held);
      chunks.push(chunk);
    }
    return { body: Buffer.concat(chunks, size), release };
  } catch (error) {
    release();
    throw error;
  }
}

/** The 503 answer: the connection is closed, so the unread rest of the body is not read either. */
export function budgetExceededAnswer(error: BodyBudgetExceededError): { status: 503; body: { error: string }; headers: Record<string, string> } {
  return { status: 503, body: { error: error.message }, headers: { "retry-after": String(error.retryAfterSeconds), connection: "close" } };
}

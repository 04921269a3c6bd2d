import { redactDeep } from "../fix/redact.js";
import { gatewayEndpoint, type GatewayConfig } from "./gateway.js";

/**
 * One call to TensorZero's `POST /feedback`. No retry loop lives here: the
 * feedback outbox owns retries and scheduling. This module only sends and
 * classifies the outcome so the outbox can tell "try again later" from "give up".
 */

export type FeedbackValue = boolean | number | string | Record<string, unknown> | unknown[];

export type FeedbackTarget = { inferenceId: string; episodeId?: undefined } | { episodeId: string; inferenceId?: undefined };

export type FeedbackInput = FeedbackTarget & {
  metricName: string;
  value: FeedbackValue;
  /** Flat string tags stored with the feedback (e.g. repo, PR number). */
  tags?: Record<string, string>;
  /** Validate without storing (TensorZero `dryrun`); meant for checks and tests, not production. */
  dryrun?: boolean;
};

export interface FeedbackResult {
  feedbackId: string;
}

export interface FeedbackClientOptions {
  /** Abort the request after this long (ms). Default 30 s: the gateway itself waits up to ~6 s for a fresh target. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export type FeedbackErrorKind = "target_not_found" | "gateway_unavailable" | "rejected";

export class FeedbackError extends Error {
  constructor(
    message: string,
    readonly kind: FeedbackErrorKind,
    /** True when sending the same feedback later may succeed. */
    readonly retriable: boolean,
    /** HTTP status, or null when no response arrived. */
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The gateway does not know the inference or episode (yet). Right after an inference the
 * row may not be written; TensorZero answers 400 "Inference ID: … does not exist". Retriable.
 */
export class FeedbackTargetNotFoundError extends FeedbackError {
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, "target_not_found", true, status, options);
  }
}

/** Network failure, timeout, 401/403, 408, 429 or 5xx: the gateway could not take the feedback now. Retriable. */
export class FeedbackGatewayUnavailableError extends FeedbackError {
  constructor(message: string, status: number | null, options?: { cause?: unknown }) {
    super(message, "gateway_unavailable", true, status, options);
  }
}

/** Any other 4xx (unknown metric, wrong value type, malformed id…): sending it again will not help. */
export class FeedbackRejectedError extends FeedbackError {
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, "rejected", false, status, options);
  }
}

export function buildFeedbackBody(input: FeedbackInput): Record<string, unknown> {
  const hasInference = typeof input.inferenceId === "string" && input.inferenceId !== "";
  const hasEpisode = typeof input.episodeId === "string" && input.episodeId !== "";
  if (hasInference === hasEpisode) {
    throw new TypeError("Feedback needs exactly one of inferenceId or episodeId");
  }
  if (!input.metricName) throw new TypeError("Feedback needs a metricName");
  return {
    metric_name: input.metricName,
    ...(hasInference ? { inference_id: input.inferenceId } : { episode_id: input.episodeId }),
    // Comment feedback quotes people and logs: redacted like every string that leaves the process.
    value: redactDeep(input.value),
    ...(input.tags && Object.keys(input.tags).length > 0 ? { tags: redactDeep(input.tags) } : {}),
    ...(input.dryrun ? { dryrun: true } : {}),
  };
}

export async function sendFeedback(
  gateway: GatewayConfig,
  input: FeedbackInput,
  options: FeedbackClientOptions = {},
): Promise<FeedbackResult> {
  const body = buildFeedbackBody(input);
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (gateway.apiKey) headers.authorization = `Bearer ${gateway.apiKey}`;

  let response: Response;
  let text: string;
  try {
    response = await doFetch(gatewayEndpoint(gateway, "/feedback"), {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    text = await response.text();
  } catch (error) {
    throw new FeedbackGatewayUnavailableError(`TensorZero /feedback unreachable: ${describe(error)}`, null, { cause: error });
  }

  if (response.ok) {
    const feedbackId = readFeedbackId(text);
    if (!feedbackId) {
      throw new FeedbackRejectedError(`TensorZero /feedback answered ${response.status} without a feedback_id`, response.status);
    }
    return { feedbackId };
  }
  throw classifyFeedbackFailure(response.status, errorMessage(text));
}

/** Turns a non-2xx answer into the error the outbox acts on. */
export function classifyFeedbackFailure(status: number, message: string): FeedbackError {
  const summary = `TensorZero /feedback ${status}: ${message}`;
  if ((status === 400 || status === 404) && TARGET_MISSING.test(message)) {
    return new FeedbackTargetNotFoundError(summary, status);
  }
  // 401/403 mean our TENSORZERO_API_KEY is missing or revoked: the feedback itself is fine and
  // will go through once the operator fixes the key, so it waits like an outage instead of being dropped.
  if (status === 401 || status === 403 || status === 408 || status === 429 || status >= 500) {
    return new FeedbackGatewayUnavailableError(summary, status);
  }
  return new FeedbackRejectedError(summary, status);
}

// TensorZero: "Inference ID: <uuid> does not exist" / "Episode ID: <uuid> does not exist".
const TARGET_MISSING = /\b(inference|episode)\b.*\b(does not exist|not found)\b/i;

function readFeedbackId(text: string): string | null {
  try {
    const parsed = JSON.parse(text) as { feedback_id?: unknown };
    return typeof parsed.feedback_id === "string" && parsed.feedback_id !== "" ? parsed.feedback_id : null;
  } catch {
    return null;
  }
}

/** TensorZero answers `{"error": "…"}` on its native endpoints; keep a bounded copy for logs. */
function errorMessage(text: string): string {
  let message = text;
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") message = parsed.error;
    else if (parsed.error && typeof parsed.error === "object" && typeof (parsed.error as { message?: unknown }).message === "string") {
      message = (parsed.error as { message: string }).message;
    }
  } catch {
    // Not JSON (a proxy error page, for instance): keep the raw text.
  }
  message = message.trim() || "(empty body)";
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

import OpenAI, { APIConnectionError, APIError } from "openai";
import { reachability, unreachableCause } from "../ops/network.js";
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { validate as isUuid, version as uuidVersion } from "uuid";
import { gatewayEndpoint, type GatewayConfig } from "../tensorzero/gateway.js";
import { PROMPT_VERSION, type PatchSystemArguments, type PatchUserArguments } from "./prompt.js";
import { redactDeep } from "./redact.js";

/**
 * The model step: one `fixloop_patch` inference through TensorZero's OpenAI-compatible
 * endpoint, with our own retry policy and a circuit breaker. The gateway picks the
 * variant (model + prompt) and records the inference; we keep its inference id and
 * episode id so feedback can reach it later.
 */

export const PATCH_FUNCTION_NAME = "fixloop_patch";
export const PATCH_MODEL = `tensorzero::function_name::${PATCH_FUNCTION_NAME}`;

/** Tags stored with the inference in TensorZero. Values must be strings. */
export interface InferenceTags {
  repo: string;
  run: string;
  attempt: string;
  [key: string]: string;
}

export interface PatchInferenceRequest {
  /**
   * The chain's TensorZero episode: absent on a chain's first inference, where the gateway
   * creates the episode and returns its id (PatchInferenceResult.episodeId), which the chain
   * keeps for its later attempts. Ids made by the gateway carry the gateway's clock, so a
   * fixloop clock running ahead cannot make them "in the future".
   */
  episodeId?: string | null;
  tags: InferenceTags;
  system: PatchSystemArguments;
  /**
   * Builds the user arguments for a share of the normal token budget: called with 1 first,
   * and once more with a smaller factor if the model reports the context is too long.
   */
  user: (budgetFactor: number) => PatchUserArguments;
  /** Pin a variant (replays, debugging). Normally the gateway's experiment chooses. */
  variantName?: string;
}

export interface PatchInferenceResult {
  /** TensorZero inference id (the response `id`): the target of inference-level feedback. */
  inferenceId: string;
  /** TensorZero episode id: the target of episode-level feedback. */
  episodeId: string;
  /** Variant the gateway chose, parsed from `model`; null if the gateway did not say. */
  variant: string | null;
  /** The response `model` as returned, e.g. tensorzero::function_name::fixloop_patch::variant_name::gpt_5_mini_v1. */
  model: string;
  /** Assistant text: explanation plus the ```diff block (untrusted). */
  content: string;
  usage: { inputTokens: number; outputTokens: number };
  finishReason: string;
  /** Budget factor of the arguments that produced this answer (1 unless a context-length retry happened). */
  budgetFactor: number;
  /** HTTP requests made for this result, retries included. */
  requests: number;
}

/** What the fix pipeline depends on; tests and replays inject fakes. */
export interface ModelClient {
  proposePatch(request: PatchInferenceRequest): Promise<PatchInferenceResult>;
  /** Milliseconds until the gateway may be tried again (0: now), so a job can wait before reading anything. */
  unavailableForMs?(): number;
}

/**
 * The gateway cannot serve us now: the breaker is open, retries ran out, or the gateway
 * asked us to come back later. Jobs should wait `retryAfterMs` and run again, not fail.
 */
export class GatewayUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
    /**
     * `unreachable`: DNS, refused, TLS; `all_variants_failed`: the gateway is up but every
     * variant's provider failed (an outage the fallback variant did not cover either);
     * `clock_skew`: the gateway kept refusing the episode id as "in the future".
     */
    readonly reason: "circuit_open" | "retries_exhausted" | "retry_later" | "unreachable" | "all_variants_failed" | "clock_skew",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "GatewayUnavailableError";
  }
}

/** The prompt is too long for the chosen model even after one retry with a smaller budget. */
export class ContextLengthError extends Error {
  constructor(
    message: string,
    /** Budget factor of the last arguments that were rejected. */
    readonly budgetFactor: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ContextLengthError";
  }
}

/** The gateway refused the request or answered something unusable; retrying the same request will not help. */
export class GatewayRequestError extends Error {
  constructor(
    message: string,
    /** HTTP status, or null when the answer was a 2xx we could not use. */
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "GatewayRequestError";
  }
}

export type Sleep = (ms: number) => Promise<void>;

export interface RetryPolicy {
  /** Retries after the first request for 408/429/5xx, timeouts and connection errors. Default 3. */
  maxRetries: number;
  /** First backoff delay; doubles per retry. Default 1 s. */
  baseDelayMs: number;
  /** Longest single wait inside one call; a longer Retry-After hands the wait to the job queue. Default 30 s. */
  maxDelayMs: number;
}

export interface CircuitBreakerOptions {
  /** Consecutive gateway failures (any request) that open the breaker. Default 5. */
  failureThreshold?: number;
  /** How long the breaker stays open before one probe request is let through. Default 60 s. */
  coolDownMs?: number;
  now?: () => number;
}

export type BreakerState = "closed" | "open" | "half_open";

export type ModelClientEvent =
  | { type: "retry"; retry: number; delayMs: number; status: number | null; message: string }
  | { type: "context_retry"; budgetFactor: number }
  | { type: "breaker_opened"; retryAfterMs: number };

export interface TensorZeroModelClientOptions {
  gateway: GatewayConfig;
  /** Per-request timeout. Default 180 s (the variants time out at 150 s inside the gateway). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  breaker?: CircuitBreakerOptions | CircuitBreaker;
  /** Budget factor for the single retry after a context-length error. Default 0.5. */
  contextRetryBudgetFactor?: number;
  /** How long a job waits after the gateway said every variant failed (a provider outage). Default 5 min. */
  allVariantsFailedWaitMs?: number;
  sleep?: Sleep;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  fetch?: typeof fetch;
  onEvent?: (event: ModelClientEvent) => void;
}

const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, baseDelayMs: 1_000, maxDelayMs: 30_000 };
const DEFAULT_ALL_VARIANTS_FAILED_WAIT_MS = 5 * 60_000;
/** An episode id "in the future" is clock skew between fixloop and the gateway: a few seconds, usually. */
const CLOCK_SKEW_RETRY_MS = 2_000;

/**
 * Counts consecutive gateway failures across calls. Closed: requests flow. Open: calls
 * fail fast with GatewayUnavailableError until the cool-down ends. Half-open: one probe
 * goes through; success closes the breaker, failure opens it again for a full cool-down.
 * One breaker per process (per client instance) is the intended use.
 */
export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly coolDownMs: number;
  private readonly now: () => number;
  private current: BreakerState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? 5;
    this.coolDownMs = options.coolDownMs ?? 60_000;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.failureThreshold) || this.failureThreshold < 1) throw new RangeError("failureThreshold must be an integer ≥ 1");
    if (!(this.coolDownMs >= 0)) throw new RangeError("coolDownMs must be ≥ 0");
  }

  get state(): BreakerState {
    return this.current;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Milliseconds until a request may go out; 0 when one may go out now. */
  retryAfterMs(): number {
    if (this.current === "open") return Math.max(0, this.openedAt + this.coolDownMs - this.now());
    // Someone else's probe is deciding; check back soon rather than after a whole cool-down.
    if (this.current === "half_open" && this.probeInFlight) return Math.min(this.coolDownMs, 5_000);
    return 0;
  }

  /** Lets a request through or throws GatewayUnavailableError. After the cool-down the caller becomes the probe. */
  admit(): void {
    if (this.current === "open" && this.now() - this.openedAt >= this.coolDownMs) {
      this.current = "half_open";
      this.probeInFlight = false;
    }
    if (this.current === "closed") return;
    if (this.current === "half_open" && !this.probeInFlight) {
      this.probeInFlight = true;
      return;
    }
    const wait = this.retryAfterMs();
    throw new GatewayUnavailableError(
      `TensorZero gateway circuit is ${this.current === "open" ? "open" : "probing"} after ${this.failures} consecutive failures; retry in ${wait} ms`,
      wait,
      "circuit_open",
    );
  }

  /** The gateway answered (any 2xx, or a 4xx about our request): it is up. */
  recordSuccess(): void {
    this.current = "closed";
    this.failures = 0;
    this.probeInFlight = false;
  }

  /** The gateway failed (5xx, 408, 429, timeout, connection). Returns true when this opened the breaker. */
  recordFailure(): boolean {
    this.failures += 1;
    if (this.current === "half_open" || (this.current === "closed" && this.failures >= this.failureThreshold)) {
      this.current = "open";
      this.openedAt = this.now();
      this.probeInFlight = false;
      return true;
    }
    return false;
  }

  /** A request ended without telling us anything about the gateway (a local error): free the probe slot. */
  releaseProbe(): void {
    this.probeInFlight = false;
  }
}

export class TensorZeroModelClient implements ModelClient {
  readonly breaker: CircuitBreaker;

  unavailableForMs(): number {
    return this.breaker.retryAfterMs();
  }
  private readonly openai: OpenAI;
  private readonly retry: RetryPolicy;
  private readonly contextRetryBudgetFactor: number;
  private readonly allVariantsFailedWaitMs: number;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly onEvent: (event: ModelClientEvent) => void;

  constructor(options: TensorZeroModelClientOptions) {
    this.openai = new OpenAI({
      baseURL: gatewayEndpoint(options.gateway, "/openai/v1"),
      // The gateway ignores the key unless its auth is enabled; the SDK insists on having one.
      apiKey: options.gateway.apiKey ?? "tensorzero-no-auth",
      // Never pick up OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment: they are not the gateway's business.
      organization: null,
      project: null,
      // Retries are ours (breaker-aware, context-length aware); the SDK must not add its own.
      maxRetries: 0,
      timeout: options.timeoutMs ?? 180_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.breaker = options.breaker instanceof CircuitBreaker ? options.breaker : new CircuitBreaker(options.breaker);
    this.contextRetryBudgetFactor = options.contextRetryBudgetFactor ?? 0.5;
    if (!(this.contextRetryBudgetFactor > 0 && this.contextRetryBudgetFactor < 1)) {
      throw new RangeError("contextRetryBudgetFactor must be between 0 and 1");
    }
    this.allVariantsFailedWaitMs = options.allVariantsFailedWaitMs ?? DEFAULT_ALL_VARIANTS_FAILED_WAIT_MS;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.onEvent = options.onEvent ?? (() => {});
  }

  async proposePatch(request: PatchInferenceRequest): Promise<PatchInferenceResult> {
    if (request.episodeId) assertEpisodeId(request.episodeId);
    assertTags(request.tags);

    let budgetFactor = 1;
    let userArguments = request.user(budgetFactor);
    let contextRetried = false;
    let transientFailures = 0;
    let skewRetries = 0;
    let requests = 0;

    for (;;) {
      this.breaker.admit();
      requests += 1;
      let response: ChatCompletion;
      try {
        const body = buildPatchRequestBody(request, userArguments);
        response = await this.openai.chat.completions.create(body as unknown as ChatCompletionCreateParamsNonStreaming);
      } catch (error) {
        const failure = classifyGatewayError(error);
        if (failure.kind === "unknown") {
          this.breaker.releaseProbe();
          throw error;
        }

        if (failure.kind === "all_variants_failed") {
          // The gateway already tried every candidate and the fallback: asking again now meets the same outage.
          const opened = this.breaker.recordFailure();
          if (opened) this.onEvent({ type: "breaker_opened", retryAfterMs: this.breaker.retryAfterMs() });
          const retryAfterMs = Math.max(this.allVariantsFailedWaitMs, this.breaker.retryAfterMs(), failure.retryAfterMs ?? 0);
          throw new GatewayUnavailableError(`every TensorZero variant failed (${failure.message})`, retryAfterMs, "all_variants_failed", { cause: error });
        }

        if (failure.kind === "clock_skew") {
          // The gateway answered, so it is up; its clock is behind the one that made the episode id.
          this.breaker.recordSuccess();
          skewRetries += 1;
          const waitMs = Math.max(CLOCK_SKEW_RETRY_MS, this.backoffDelay(skewRetries));
          if (skewRetries > this.retry.maxRetries) {
            throw new GatewayUnavailableError(`TensorZero still refuses the episode id as in the future: ${failure.message}`, 60_000, "clock_skew", { cause: error });
          }
          this.onEvent({ type: "retry", retry: skewRetries, delayMs: waitMs, status: failure.status, message: failure.message });
          await this.sleep(waitMs);
          continue;
        }

        if (failure.kind === "transient") {
          const opened = this.breaker.recordFailure();
          // DNS, refused, TLS: retrying in a second will not help; wait a full cool-down, like an open breaker.
          const unreachable = unreachableCause(error);
          if (unreachable) {
            reachability.failed("TensorZero", unreachable);
            const retryAfterMs = Math.max(this.breaker.retryAfterMs(), this.breaker.coolDownMs);
            if (opened) this.onEvent({ type: "breaker_opened", retryAfterMs });
            throw new GatewayUnavailableError(`TensorZero gateway unreachable: ${unreachable.message}`, retryAfterMs, "unreachable", { cause: error });
          }
          if (this.breaker.state === "open") {
            const retryAfterMs = this.breaker.retryAfterMs();
            if (opened) this.onEvent({ type: "breaker_opened", retryAfterMs });
            throw new GatewayUnavailableError(
              `TensorZero gateway failing (${failure.message}); circuit open for ${retryAfterMs} ms`,
              retryAfterMs,
              "circuit_open",
              { cause: error },
            );
          }
          transientFailures += 1;
          const delayMs = this.backoffDelay(transientFailures);
          if (failure.retryAfterMs !== null && failure.retryAfterMs > this.retry.maxDelayMs) {
            throw new GatewayUnavailableError(
              `TensorZero gateway asked to retry after ${failure.retryAfterMs} ms (${failure.message})`,
              failure.retryAfterMs,
              "retry_later",
              { cause: error },
            );
          }
          const waitMs = Math.max(delayMs, failure.retryAfterMs ?? 0);
          if (transientFailures > this.retry.maxRetries) {
            throw new GatewayUnavailableError(
              `TensorZero gateway still failing after ${transientFailures} attempt(s): ${failure.message}`,
              waitMs,
              "retries_exhausted",
              { cause: error },
            );
          }
          this.onEvent({ type: "retry", retry: transientFailures, delayMs: waitMs, status: failure.status, message: failure.message });
          await this.sleep(waitMs);
          continue;
        }

        // The gateway answered about our request, so it is up.
        this.breaker.recordSuccess();
        if (failure.kind === "context_length") {
          if (contextRetried) {
            throw new ContextLengthError(
              `Prompt too long for the model even at ${budgetFactor} of the token budget: ${failure.message}`,
              budgetFactor,
              { cause: error },
            );
          }
          contextRetried = true;
          budgetFactor = this.contextRetryBudgetFactor;
          userArguments = request.user(budgetFactor);
          this.onEvent({ type: "context_retry", budgetFactor });
          continue;
        }
        throw new GatewayRequestError(`TensorZero rejected the request (${failure.status}): ${failure.message}`, failure.status, {
          cause: error,
        });
      }

      this.breaker.recordSuccess();
      reachability.succeeded("TensorZero");
      return { ...parseCompletion(response, request.episodeId), budgetFactor, requests };
    }
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, capped. */
  private backoffDelay(retry: number): number {
    const exponential = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (retry - 1));
    return Math.round(exponential / 2 + (this.random() * exponential) / 2);
  }
}

export function createTensorZeroModelClient(options: TensorZeroModelClientOptions): TensorZeroModelClient {
  return new TensorZeroModelClient(options);
}

/** The body sent to POST /openai/v1/chat/completions. */
export function buildPatchRequestBody(request: PatchInferenceRequest, userArguments: PatchUserArguments): Record<string, unknown> {
  return {
    model: PATCH_MODEL,
    messages: [
      // The last look before the prompt leaves the process: every string argument is redacted, whoever built it.
      { role: "system", content: [{ type: "tensorzero::template", name: "system", arguments: redactDeep(request.system) }] },
      { role: "user", content: [{ type: "tensorzero::template", name: "user", arguments: redactDeep(userArguments) }] },
    ],
    // Absent on a chain's first inference: the gateway creates the episode (TensorZero's own advice).
    ...(request.episodeId ? { "tensorzero::episode_id": request.episodeId } : {}),
    "tensorzero::tags": redactDeep({ ...request.tags, prompt_version: PROMPT_VERSION }),
    // A typo in a tensorzero:: field must fail loudly instead of being ignored with a gateway-side warning.
    "tensorzero::deny_unknown_fields": true,
    ...(request.variantName ? { "tensorzero::variant_name": request.variantName } : {}),
  };
}

const VARIANT_MARKER = "::variant_name::";

/** `tensorzero::function_name::fixloop_patch::variant_name::X` → X. A bare name (older gateways) is taken as is. */
export function parseVariantName(model: string): string | null {
  const at = model.lastIndexOf(VARIANT_MARKER);
  if (at >= 0) return model.slice(at + VARIANT_MARKER.length) || null;
  if (model !== "" && !model.includes("::")) return model;
  return null;
}

function parseCompletion(response: ChatCompletion, requestedEpisodeId: string | null | undefined): Omit<PatchInferenceResult, "budgetFactor" | "requests"> {
  const raw = response as ChatCompletion & { episode_id?: unknown };
  if (typeof raw.id !== "string" || raw.id === "") {
    throw new GatewayRequestError("TensorZero response has no inference id", null);
  }
  const choice = raw.choices?.[0];
  if (!choice) throw new GatewayRequestError("TensorZero response has no choices", null);
  const model = typeof raw.model === "string" ? raw.model : "";
  const episodeId = typeof raw.episode_id === "string" && raw.episode_id !== "" ? raw.episode_id : requestedEpisodeId;
  if (!episodeId) throw new GatewayRequestError("TensorZero response has no episode id (the request let the gateway create the episode)", null);
  return {
    inferenceId: raw.id,
    episodeId,
    variant: parseVariantName(model),
    model,
    content: typeof choice.message?.content === "string" ? choice.message.content : "",
    usage: {
      inputTokens: raw.usage?.prompt_tokens ?? 0,
      outputTokens: raw.usage?.completion_tokens ?? 0,
    },
    finishReason: choice.finish_reason ?? "stop",
  };
}

export interface GatewayFailure {
  /**
   * `all_variants_failed`: TensorZero's AllVariantsFailed (502), every candidate and the fallback
   * failed; `clock_skew`: the episode id is "in the future" for the gateway's clock (400).
   */
  kind: "transient" | "context_length" | "request" | "unknown" | "all_variants_failed" | "clock_skew";
  status: number | null;
  message: string;
  /** From Retry-After / retry-after-ms, when the gateway sent one. */
  retryAfterMs: number | null;
}

// Provider wording as relayed by TensorZero (it returns 502 "All variants failed…" with the
// provider's own message inside): OpenAI "maximum context length" / context_length_exceeded,
// Anthropic "prompt is too long", and the usual variations of other providers.
/** TensorZero's AllVariantsFailed: "All variants failed with errors: <variant>: <error>…". */
const ALL_VARIANTS_FAILED = /^All variants failed with errors/i;
/** InvalidTensorzeroUuid ("Invalid Episode ID: Timestamp is in the future") and UuidInFuture ("UUID is in the future: …"). */
const UUID_IN_FUTURE = /\b(timestamp|uuid) is in the future\b/i;

const CONTEXT_LENGTH =
  /context[_ ]length|context window|maximum context|prompt is too long|input is too long|too many (input )?tokens|reduce the length of the (messages|prompt|input)/i;

export function classifyGatewayError(error: unknown): GatewayFailure {
  if (error instanceof APIConnectionError) {
    // Includes APIConnectionTimeoutError: no answer at all.
    return { kind: "transient", status: null, message: error.message, retryAfterMs: null };
  }
  if (!(error instanceof APIError)) {
    return { kind: "unknown", status: null, message: error instanceof Error ? error.message : String(error), retryAfterMs: null };
  }
  const status = typeof error.status === "number" ? error.status : null;
  const message = apiErrorMessage(error);
  if (status === null || status === 408 || status === 429 || status >= 500) {
    if (status !== 429 && CONTEXT_LENGTH.test(message)) return { kind: "context_length", status, message, retryAfterMs: null };
    // A 429 inside it is surfaced by the gateway as 429 (rate limit: the usual retry); a 502 is an outage.
    if (status === 502 && ALL_VARIANTS_FAILED.test(message)) return { kind: "all_variants_failed", status, message, retryAfterMs: retryAfterFrom(error.headers) };
    return { kind: "transient", status, message, retryAfterMs: retryAfterFrom(error.headers) };
  }
  if (status === 413 || CONTEXT_LENGTH.test(message)) return { kind: "context_length", status, message, retryAfterMs: null };
  if (status === 400 && UUID_IN_FUTURE.test(message)) return { kind: "clock_skew", status, message, retryAfterMs: null };
  return { kind: "request", status, message, retryAfterMs: null };
}

function apiErrorMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | string | undefined;
  const message =
    typeof body === "string" ? body : body && typeof body.message === "string" ? body.message : error.message || "no message";
  return message.length > 1_000 ? `${message.slice(0, 1_000)}…` : message;
}

function retryAfterFrom(headers: Headers | undefined): number | null {
  if (!headers) return null;
  const ms = headers.get("retry-after-ms");
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get("retry-after");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

function assertEpisodeId(episodeId: string): void {
  // TensorZero only accepts UUIDv7 episode ids (they carry the time the chain started).
  if (!isUuid(episodeId) || uuidVersion(episodeId) !== 7) {
    throw new TypeError(`episodeId must be a UUIDv7, got "${episodeId}"`);
  }
}

function assertTags(tags: InferenceTags): void {
  for (const [key, value] of Object.entries(tags)) {
    if (typeof value !== "string") throw new TypeError(`Tag "${key}" must be a string`);
    if (key.startsWith("tensorzero::")) throw new TypeError(`Tag "${key}" uses the reserved tensorzero:: prefix`);
  }
  for (const required of ["repo", "run", "attempt"] as const) {
    if (!tags[required]) throw new TypeError(`Tag "${required}" is required`);
  }
}

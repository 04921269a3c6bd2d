import nock from "nock";
import { v4, v7 } from "uuid";
import { describe, expect, it } from "vitest";
import {
  CircuitBreaker,
  ContextLengthError,
  GatewayRequestError,
  GatewayUnavailableError,
  PATCH_MODEL,
  TensorZeroModelClient,
  classifyGatewayError,
  parseVariantName,
  type ModelClientEvent,
  type PatchInferenceRequest,
  type TensorZeroModelClientOptions,
} from "../src/fix/model.js";
import { buildPatchRequestArguments, buildPatchSystemArguments, type PatchPromptInput } from "../src/fix/prompt.js";
import { APIError } from "openai";

const GATEWAY = "http://tensorzero.test";
const PATH = "/openai/v1/chat/completions";
const EPISODE = v7();

const PROMPT_INPUT: PatchPromptInput = {
  repo: "acme/widgets",
  workflow: "CI",
  job: "test",
  failingStep: "Run npm test",
  failureClass: "test",
  errorLines: ["FAIL src/sum.test.ts > adds", "AssertionError: expected 3 to be 4"],
  logExcerpt: Array.from({ length: 2_000 }, (_, i) => `  ✓ case ${i} passed`).join("\n") + "\nFAIL src/sum.test.ts\n",
  files: [{ path: "src/sum.ts", content: "export const sum = (a: number, b: number) => a - b;\n", startLine: 1 }],
  attempt: 1,
  maxAttempts: 3,
};

const SYSTEM = buildPatchSystemArguments({ maxFiles: 5, maxChangedLines: 200, protectedPaths: [".github/workflows/**"] });

function request(overrides: Partial<PatchInferenceRequest> = {}): PatchInferenceRequest & { factors: number[] } {
  const factors: number[] = [];
  return {
    episodeId: EPISODE,
    tags: { repo: "acme/widgets", run: "9001", attempt: "1" },
    system: SYSTEM,
    user: (factor) => {
      factors.push(factor);
      return buildPatchRequestArguments(PROMPT_INPUT, { tokenBudget: 6_000 * factor });
    },
    factors,
    ...overrides,
  };
}

function completion(variant = "gpt_5_mini_v1", content = "Subtraction instead of addition.\n```diff\n-a - b\n+a + b\n```") {
  return {
    id: "0192e5a4-1111-7000-8000-000000000001",
    episode_id: EPISODE,
    object: "chat.completion",
    created: 1_730_000_000,
    model: `tensorzero::function_name::fixloop_patch::variant_name::${variant}`,
    system_fingerprint: "",
    service_tier: null,
    choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content } }],
    usage: { prompt_tokens: 1234, completion_tokens: 321, total_tokens: 1555 },
  };
}

function client(overrides: Partial<TensorZeroModelClientOptions> = {}) {
  const sleeps: number[] = [];
  const events: ModelClientEvent[] = [];
  const instance = new TensorZeroModelClient({
    gateway: { url: GATEWAY },
    retry: { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1_000 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    onEvent: (event) => events.push(event),
    ...overrides,
  });
  return { instance, sleeps, events };
}

/** A fake clock for the breaker. */
function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("TensorZeroModelClient request", () => {
  it("sends the function name, template content blocks and tensorzero:: fields, and nothing else", async () => {
    let body: unknown;
    let headers: Record<string, string | string[]> = {};
    nock(GATEWAY)
      .post(PATH, (b) => {
        body = b;
        return true;
      })
      .reply(function () {
        headers = this.req.headers;
        return [200, completion()];
      });

    const req = request();
    await client({ gateway: { url: `${GATEWAY}/`, apiKey: "sk-t0-test" } }).instance.proposePatch(req);

    expect(body).toEqual({
      model: "tensorzero::function_name::fixloop_patch",
      messages: [
        {
          role: "system",
          content: [
            {
              type: "tensorzero::template",
              name: "system",
              arguments: { max_files: 5, max_changed_lines: 200, protected_paths: [".github/workflows/**"] },
            },
          ],
        },
        {
          role: "user",
          content: [{ type: "tensorzero::template", name: "user", arguments: buildPatchRequestArguments(PROMPT_INPUT, { tokenBudget: 6_000 }) }],
        },
      ],
      "tensorzero::episode_id": EPISODE,
      "tensorzero::tags": { repo: "acme/widgets", run: "9001", attempt: "1", prompt_version: "v2" },
      "tensorzero::deny_unknown_fields": true,
    });
    expect(PATCH_MODEL).toBe("tensorzero::function_name::fixloop_patch");
    expect(headers.authorization).toBe("Bearer sk-t0-test");
    // The SDK announces its own retry count; ours stays at zero because SDK retries are off.
    expect(headers["x-stainless-retry-count"]).toBe("0");
    expect(headers["openai-organization"]).toBeUndefined();
    expect(req.factors).toEqual([1]);
  });

  it("pins a variant only when asked", async () => {
    let body: Record<string, unknown> = {};
    nock(GATEWAY)
      .post(PATH, (b) => {
        body = b;
        return true;
      })
      .reply(200, completion("claude_sonnet_4_5_v1"));
    const result = await client().instance.proposePatch(request({ variantName: "claude_sonnet_4_5_v1" }));
    expect(body["tensorzero::variant_name"]).toBe("claude_sonnet_4_5_v1");
    expect(result.variant).toBe("claude_sonnet_4_5_v1");
  });

  it("rejects episode ids that are not UUIDv7 and reserved tag keys before calling the gateway", async () => {
    const { instance } = client();
    await expect(instance.proposePatch(request({ episodeId: v4() }))).rejects.toThrow(/UUIDv7/);
    await expect(
      instance.proposePatch(request({ tags: { repo: "a/b", run: "1", attempt: "1", "tensorzero::x": "y" } })),
    ).rejects.toThrow(/reserved/);
    await expect(instance.proposePatch(request({ tags: { repo: "a/b", run: "", attempt: "1" } }))).rejects.toThrow(/"run"/);
  });
});

describe("TensorZeroModelClient response", () => {
  it("returns inference id, episode id, variant, content, usage and finish reason", async () => {
    nock(GATEWAY).post(PATH).reply(200, completion("gpt_5_mini_v1"));
    const result = await client().instance.proposePatch(request());
    expect(result).toEqual({
      inferenceId: "0192e5a4-1111-7000-8000-000000000001",
      episodeId: EPISODE,
      variant: "gpt_5_mini_v1",
      model: "tensorzero::function_name::fixloop_patch::variant_name::gpt_5_mini_v1",
      content: "Subtraction instead of addition.\n```diff\n-a - b\n+a + b\n```",
      usage: { inputTokens: 1234, outputTokens: 321 },
      finishReason: "stop",
      budgetFactor: 1,
      requests: 1,
    });
  });

  it("treats a 200 without an inference id as an unusable answer", async () => {
    nock(GATEWAY).post(PATH).reply(200, { ...completion(), id: "" });
    await expect(client().instance.proposePatch(request())).rejects.toBeInstanceOf(GatewayRequestError);
  });

  it("parses variant names from the model string", () => {
    expect(parseVariantName("tensorzero::function_name::fixloop_patch::variant_name::claude_sonnet_4_5_v1")).toBe("claude_sonnet_4_5_v1");
    expect(parseVariantName("gpt_5_mini_v1")).toBe("gpt_5_mini_v1");
    expect(parseVariantName("tensorzero::function_name::fixloop_patch")).toBeNull();
    expect(parseVariantName("")).toBeNull();
  });
});

describe("TensorZeroModelClient retries", () => {
  it("retries a 503 with exponential backoff and jitter, then succeeds", async () => {
    nock(GATEWAY).post(PATH).reply(503, { error: { message: "Service Unavailable" } });
    nock(GATEWAY).post(PATH).reply(504, { error: { message: "Gateway Timeout" } });
    nock(GATEWAY).post(PATH).reply(200, completion());
    const { instance, sleeps, events } = client();
    const result = await instance.proposePatch(request());
    expect(result.requests).toBe(3);
    // base 100 ms, doubling; jitter 0.5 → three quarters of the exponential step.
    expect(sleeps).toEqual([75, 150]);
    expect(events.map((e) => e.type)).toEqual(["retry", "retry"]);
    expect(instance.breaker.consecutiveFailures).toBe(0);
  });

  it("honours Retry-After on 429 when it is short", async () => {
    nock(GATEWAY).post(PATH).reply(429, { error: { message: "Rate limit exceeded" } }, { "retry-after": "0.5" });
    nock(GATEWAY).post(PATH).reply(200, completion());
    const { instance, sleeps } = client();
    await instance.proposePatch(request());
    expect(sleeps).toEqual([500]);
  });

  it("hands a long Retry-After to the caller instead of sleeping", async () => {
    nock(GATEWAY).post(PATH).reply(429, { error: { message: "Rate limit exceeded" } }, { "retry-after": "120" });
    const { instance, sleeps } = client();
    const error = await instance.proposePatch(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect((error as GatewayUnavailableError).reason).toBe("retry_later");
    expect((error as GatewayUnavailableError).retryAfterMs).toBe(120_000);
    expect(sleeps).toEqual([]);
  });

  it("retries after a request timeout", async () => {
    // The timeout leaves room for a loaded machine to build and send the request; the slow answer is far beyond it.
    nock(GATEWAY).post(PATH).delay(5_000).reply(200, completion("slow"));
    nock(GATEWAY).post(PATH).reply(200, completion("fast"));
    const { instance, sleeps } = client({ timeoutMs: 400 });
    const result = await instance.proposePatch(request());
    expect(result.variant).toBe("fast");
    expect(result.requests).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it("retries after a connection error", async () => {
    nock(GATEWAY).post(PATH).replyWithError({ code: "ECONNRESET", message: "socket hang up" });
    nock(GATEWAY).post(PATH).reply(200, completion());
    const result = await client().instance.proposePatch(request());
    expect(result.requests).toBe(2);
  });

  it("gives up with GatewayUnavailableError once retries run out, and makes exactly maxRetries + 1 requests", async () => {
    const scope = nock(GATEWAY).post(PATH).times(3).reply(500, { error: { message: "boom" } });
    const { instance, sleeps } = client({ retry: { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1_000 } });
    const error = await instance.proposePatch(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect((error as GatewayUnavailableError).reason).toBe("retries_exhausted");
    expect((error as GatewayUnavailableError).retryAfterMs).toBeGreaterThan(0);
    expect(scope.isDone()).toBe(true);
    expect(sleeps).toHaveLength(2);
  });

  it("with maxRetries 0 sends exactly one request: the SDK adds no retries of its own", async () => {
    nock(GATEWAY).post(PATH).reply(503, { error: { message: "down" } });
    const { instance } = client({ retry: { maxRetries: 0 } });
    await expect(instance.proposePatch(request())).rejects.toBeInstanceOf(GatewayUnavailableError);
  });

  it("does not retry a 400 and reports it as a request error", async () => {
    nock(GATEWAY).post(PATH).reply(400, { error: { message: "Invalid request: unknown field `tensorzero::tagz`" } });
    const { instance, sleeps } = client();
    const error = await instance.proposePatch(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayRequestError);
    expect((error as GatewayRequestError).status).toBe(400);
    expect((error as Error).message).toContain("tensorzero::tagz");
    expect(sleeps).toEqual([]);
  });
});

describe("TensorZeroModelClient context length", () => {
  const tooLong = {
    error: {
      message:
        'All variants failed with errors: gpt_5_mini_v1: All model providers failed to infer with errors: openai::gpt-5-mini: Error 400 Bad Request from openai client: {"error":{"message":"This model\'s maximum context length is 128000 tokens.","code":"context_length_exceeded"}}',
    },
  };

  it("retries once with arguments rebuilt for a smaller budget", async () => {
    const bodies: Array<{ messages: Array<{ content: Array<{ arguments: { log_excerpt: string } }> }> }> = [];
    nock(GATEWAY)
      .post(PATH, (b) => {
        bodies.push(b);
        return true;
      })
      .reply(502, tooLong);
    nock(GATEWAY)
      .post(PATH, (b) => {
        bodies.push(b);
        return true;
      })
      .reply(200, completion());
    const req = request();
    const { instance, sleeps, events } = client();
    const result = await instance.proposePatch(req);
    expect(req.factors).toEqual([1, 0.5]);
    expect(result.budgetFactor).toBe(0.5);
    expect(result.requests).toBe(2);
    const firstLog = bodies[0].messages[1].content[0].arguments.log_excerpt;
    const secondLog = bodies[1].messages[1].content[0].arguments.log_excerpt;
    expect(secondLog.length).toBeLessThan(firstLog.length);
    expect(sleeps).toEqual([]);
    expect(events).toEqual([{ type: "context_retry", budgetFactor: 0.5 }]);
    // A context-length answer proves the gateway is up.
    expect(instance.breaker.consecutiveFailures).toBe(0);
  });

  it("throws ContextLengthError when the smaller prompt is still too long", async () => {
    nock(GATEWAY).post(PATH).twice().reply(400, { error: { message: "prompt is too long: 230000 tokens > 200000 maximum" } });
    const error = await client().instance.proposePatch(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContextLengthError);
    expect((error as ContextLengthError).budgetFactor).toBe(0.5);
  });

  it("classifies provider wording, and never a 429, as context length", () => {
    const make = (status: number, message: string) => APIError.generate(status, { error: { message } }, undefined, new Headers());
    expect(classifyGatewayError(make(502, "Anthropic: prompt is too long: 210000 tokens > 200000 maximum")).kind).toBe("context_length");
    expect(classifyGatewayError(make(413, "payload too large")).kind).toBe("context_length");
    expect(classifyGatewayError(make(429, "Request too large: too many tokens per min")).kind).toBe("transient");
    expect(classifyGatewayError(make(502, "All variants failed with errors: timeout")).kind).toBe("all_variants_failed");
    expect(classifyGatewayError(make(502, "Bad Gateway")).kind).toBe("transient");
    expect(classifyGatewayError(make(400, "Invalid Episode ID: Timestamp is in the future")).kind).toBe("clock_skew");
    expect(classifyGatewayError(make(400, "UUID is in the future: 0192e5a4-1111-7000-8000-000000000001")).kind).toBe("clock_skew");
    expect(classifyGatewayError(make(401, "Unauthorized")).kind).toBe("request");
    expect(classifyGatewayError(new TypeError("bug")).kind).toBe("unknown");
  });
});

describe("TensorZeroModelClient episodes", () => {
  const GATEWAY_EPISODE = "0192e5a4-3333-7000-8000-0000000e9150";

  it("lets the gateway create a chain's episode on its first inference, then sends that id on the next", async () => {
    const bodies: Record<string, unknown>[] = [];
    const capture = (b: Record<string, unknown>) => {
      bodies.push(b);
      return true;
    };
    nock(GATEWAY).post(PATH, capture).reply(200, { ...completion(), episode_id: GATEWAY_EPISODE });
    nock(GATEWAY).post(PATH, capture).reply(200, { ...completion(), id: "0192e5a4-1111-7000-8000-000000000002", episode_id: GATEWAY_EPISODE });
    const { instance } = client();

    const first = await instance.proposePatch(request({ episodeId: null }));
    expect(bodies[0]).not.toHaveProperty(["tensorzero::episode_id"]);
    expect(bodies[0]).toMatchObject({ model: PATCH_MODEL, "tensorzero::deny_unknown_fields": true });
    expect(first.episodeId).toBe(GATEWAY_EPISODE);

    const second = await instance.proposePatch(request({ episodeId: first.episodeId, tags: { repo: "acme/widgets", run: "9002", attempt: "2" } }));
    expect(bodies[1]["tensorzero::episode_id"]).toBe(GATEWAY_EPISODE);
    expect(second.episodeId).toBe(GATEWAY_EPISODE);
  });

  it("refuses an answer that names no episode when the request named none", async () => {
    const { episode_id: _dropped, ...noEpisode } = completion();
    nock(GATEWAY).post(PATH).reply(200, noEpisode);
    await expect(client().instance.proposePatch(request({ episodeId: undefined }))).rejects.toThrow(/no episode id/);
  });

  it("retries an episode id refused as 'in the future' (clock skew), with the same body, without counting it against the gateway", async () => {
    const bodies: unknown[] = [];
    const capture = (b: unknown) => {
      bodies.push(b);
      return true;
    };
    // TensorZero's InvalidTensorzeroUuid, in its OpenAI-compatible error shape.
    nock(GATEWAY).post(PATH, capture).reply(400, { error: { message: "Invalid Episode ID: Timestamp is in the future" } });
    nock(GATEWAY).post(PATH, capture).reply(200, completion());
    const { instance, sleeps, events } = client();
    const result = await instance.proposePatch(request());
    expect(result.requests).toBe(2);
    expect(bodies[1]).toEqual(bodies[0]);
    expect((bodies[0] as Record<string, unknown>)["tensorzero::episode_id"]).toBe(EPISODE);
    expect(sleeps).toEqual([2_000]);
    expect(events).toMatchObject([{ type: "retry", status: 400, message: "Invalid Episode ID: Timestamp is in the future" }]);
    expect(instance.breaker.consecutiveFailures).toBe(0);
  });

  it("hands a skew that does not pass to the job as a wait, not a failure", async () => {
    nock(GATEWAY).post(PATH).times(3).reply(400, { error: { message: "UUID is in the future: " + EPISODE } });
    const { instance, sleeps } = client({ retry: { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1_000 } });
    const error = await instance.proposePatch(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect((error as GatewayUnavailableError).reason).toBe("clock_skew");
    expect((error as GatewayUnavailableError).retryAfterMs).toBe(60_000);
    expect(sleeps).toHaveLength(2);
  });
});

describe("TensorZeroModelClient AllVariantsFailed", () => {
  // TensorZero's AllVariantsFailed after every candidate and the fallback failed: 502, the providers' errors inside.
  const allVariantsFailed = {
    error: {
      message:
        "All variants failed with errors: gpt_5_mini_v2: All model providers failed to infer with errors: openai::gpt-5-mini: Error 503 Service Unavailable from openai client\n" +
        "claude_haiku_4_5_v2: All model providers failed to infer with errors: anthropic::claude-haiku-4-5: Error 529 from anthropic client: overloaded_error",
    },
  };

  it("does not ask again inside the call: the job waits out the outage, and the breaker counts it", async () => {
    const scope = nock(GATEWAY).post(PATH).once().reply(502, allVariantsFailed);
    const { instance, sleeps } = client({ allVariantsFailedWaitMs: 300_000 });
    const error = await instance.proposePatch(request()).catch((e: unknown) => e);
    expect(scope.isDone()).toBe(true);
    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect((error as GatewayUnavailableError).reason).toBe("all_variants_failed");
    expect((error as GatewayUnavailableError).retryAfterMs).toBe(300_000);
    expect((error as Error).message).toContain("claude_haiku_4_5_v2");
    expect(sleeps).toEqual([]);
    expect(instance.breaker.consecutiveFailures).toBe(1);
  });

  it("still reads a context-length error wrapped in AllVariantsFailed as context length", () => {
    const wrapped = APIError.generate(
      502,
      { error: { message: "All variants failed with errors: gpt_5_mini_v2: … maximum context length is 128000 tokens" } },
      undefined,
      new Headers(),
    );
    expect(classifyGatewayError(wrapped).kind).toBe("context_length");
  });
});

describe("circuit breaker", () => {
  it("opens after N consecutive gateway failures and then fails fast without a request", async () => {
    const time = clock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 60_000, now: time.now });
    nock(GATEWAY).post(PATH).times(3).reply(503, { error: { message: "down" } });
    const { instance, sleeps, events } = client({ breaker, retry: { maxRetries: 10, baseDelayMs: 10, maxDelayMs: 100 } });

    const first = await instance.proposePatch(request()).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(GatewayUnavailableError);
    expect((first as GatewayUnavailableError).reason).toBe("circuit_open");
    expect((first as GatewayUnavailableError).retryAfterMs).toBe(60_000);
    expect(breaker.state).toBe("open");
    expect(sleeps).toHaveLength(2);
    expect(events.at(-1)).toEqual({ type: "breaker_opened", retryAfterMs: 60_000 });

    // No interceptor is left: a request now would fail with a nock error, not GatewayUnavailableError.
    time.advance(20_000);
    const second = await instance.proposePatch(request()).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(GatewayUnavailableError);
    expect((second as GatewayUnavailableError).reason).toBe("circuit_open");
    expect((second as GatewayUnavailableError).retryAfterMs).toBe(40_000);
  });

  it("counts failures across calls", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, coolDownMs: 1_000, now: clock().now });
    nock(GATEWAY).post(PATH).twice().reply(500, { error: { message: "down" } });
    const { instance } = client({ breaker, retry: { maxRetries: 0 } });
    const first = (await instance.proposePatch(request()).catch((e: unknown) => e)) as GatewayUnavailableError;
    expect(first.reason).toBe("retries_exhausted");
    expect(breaker.state).toBe("closed");
    const second = (await instance.proposePatch(request()).catch((e: unknown) => e)) as GatewayUnavailableError;
    expect(second.reason).toBe("circuit_open");
    expect(breaker.state).toBe("open");
  });

  it("half-opens after the cool-down: a successful probe closes it", async () => {
    const time = clock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 5_000, now: time.now });
    nock(GATEWAY).post(PATH).reply(503, { error: { message: "down" } });
    const { instance } = client({ breaker });
    await expect(instance.proposePatch(request())).rejects.toBeInstanceOf(GatewayUnavailableError);
    expect(breaker.state).toBe("open");

    time.advance(5_000);
    nock(GATEWAY).post(PATH).reply(200, completion());
    const result = await instance.proposePatch(request());
    expect(result.inferenceId).toBe(completion().id);
    expect(breaker.state).toBe("closed");
  });

  it("half-open: a failed probe reopens for a full cool-down, and only one probe goes out at a time", async () => {
    const time = clock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 5_000, now: time.now });
    nock(GATEWAY).post(PATH).reply(503, { error: { message: "down" } });
    const { instance } = client({ breaker });
    await expect(instance.proposePatch(request())).rejects.toBeInstanceOf(GatewayUnavailableError);

    time.advance(5_000);
    nock(GATEWAY).post(PATH).delay(50).reply(503, { error: { message: "still down" } });
    const probe = instance.proposePatch(request()).catch((e: unknown) => e);
    expect(breaker.state).toBe("half_open");
    const concurrent = (await instance.proposePatch(request()).catch((e: unknown) => e)) as GatewayUnavailableError;
    expect(concurrent).toBeInstanceOf(GatewayUnavailableError);
    expect(concurrent.retryAfterMs).toBe(5_000);

    const probeError = (await probe) as GatewayUnavailableError;
    expect(probeError.reason).toBe("circuit_open");
    expect(probeError.retryAfterMs).toBe(5_000);
    expect(breaker.state).toBe("open");
  });

  it("a 4xx answer resets the failure count: the gateway is up", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, now: clock().now });
    nock(GATEWAY).post(PATH).reply(500, { error: { message: "down" } });
    nock(GATEWAY).post(PATH).reply(422, { error: { message: "schema mismatch" } });
    const { instance } = client({ breaker, retry: { maxRetries: 0 } });
    await expect(instance.proposePatch(request())).rejects.toBeInstanceOf(GatewayUnavailableError);
    expect(breaker.consecutiveFailures).toBe(1);
    await expect(instance.proposePatch(request())).rejects.toBeInstanceOf(GatewayRequestError);
    expect(breaker.consecutiveFailures).toBe(0);
  });
});

import nock from "nock";
import { v7 } from "uuid";
import { describe, expect, it } from "vitest";
import {
  FeedbackError,
  FeedbackGatewayUnavailableError,
  FeedbackRejectedError,
  FeedbackTargetNotFoundError,
  buildFeedbackBody,
  sendFeedback,
} from "../src/tensorzero/feedback.js";
import { gatewayConfigFromEnv } from "../src/tensorzero/gateway.js";
import { METRICS } from "../src/tensorzero/metrics.js";

const GATEWAY = "http://tensorzero.test";
const INFERENCE = v7();
const EPISODE = v7();
const FEEDBACK_ID = v7();

async function failure(promise: Promise<unknown>): Promise<FeedbackError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FeedbackError);
  return error as FeedbackError;
}

describe("sendFeedback", () => {
  it("posts an inference-level metric with tags and returns the feedback id", async () => {
    let body: unknown;
    let headers: Record<string, string | string[]> = {};
    nock(GATEWAY)
      .post("/feedback", (b) => {
        body = b;
        return true;
      })
      .reply(function () {
        headers = this.req.headers;
        return [200, { feedback_id: FEEDBACK_ID }];
      });

    const result = await sendFeedback(
      { url: `${GATEWAY}/`, apiKey: "sk-t0-abc" },
      { metricName: METRICS.ciPassed, inferenceId: INFERENCE, value: true, tags: { repo: "acme/widgets", run: "42" } },
    );

    expect(result).toEqual({ feedbackId: FEEDBACK_ID });
    expect(body).toEqual({ metric_name: "fixloop_ci_passed", inference_id: INFERENCE, value: true, tags: { repo: "acme/widgets", run: "42" } });
    expect(headers.authorization).toBe("Bearer sk-t0-abc");
    expect(headers["content-type"]).toBe("application/json");
  });

  it("posts an episode-level metric without auth, tags or dryrun unless given", async () => {
    let body: unknown;
    let headers: Record<string, string | string[]> = {};
    nock(GATEWAY)
      .post("/feedback", (b) => {
        body = b;
        return true;
      })
      .reply(function () {
        headers = this.req.headers;
        return [200, { feedback_id: FEEDBACK_ID }];
      });
    await sendFeedback({ url: GATEWAY }, { metricName: METRICS.prMerged, episodeId: EPISODE, value: false });
    expect(body).toEqual({ metric_name: "fixloop_pr_merged", episode_id: EPISODE, value: false });
    expect(headers.authorization).toBeUndefined();
  });

  it("sends dryrun when asked", () => {
    expect(buildFeedbackBody({ metricName: "m", episodeId: EPISODE, value: 1, dryrun: true })).toEqual({
      metric_name: "m",
      episode_id: EPISODE,
      value: 1,
      dryrun: true,
    });
  });

  it("needs exactly one target", () => {
    expect(() => buildFeedbackBody({ metricName: "m", value: true } as never)).toThrow(/exactly one/);
    expect(() => buildFeedbackBody({ metricName: "m", value: true, inferenceId: INFERENCE, episodeId: EPISODE } as never)).toThrow(/exactly one/);
  });

  it("classifies 'does not exist yet' as a retriable missing target", async () => {
    nock(GATEWAY)
      .post("/feedback")
      .reply(400, { error: `Inference ID: ${INFERENCE} does not exist` });
    const error = await failure(sendFeedback({ url: GATEWAY }, { metricName: METRICS.patchApplied, inferenceId: INFERENCE, value: true }));
    expect(error).toBeInstanceOf(FeedbackTargetNotFoundError);
    expect(error.kind).toBe("target_not_found");
    expect(error.retriable).toBe(true);
    expect(error.status).toBe(400);
    expect(error.message).toContain("does not exist");
  });

  it("classifies a missing episode the same way", async () => {
    nock(GATEWAY)
      .post("/feedback")
      .reply(400, { error: `Episode ID: ${EPISODE} does not exist` });
    const error = await failure(sendFeedback({ url: GATEWAY }, { metricName: METRICS.heldUp, episodeId: EPISODE, value: true }));
    expect(error).toBeInstanceOf(FeedbackTargetNotFoundError);
  });

  it("classifies an unknown metric and other 4xx as permanent", async () => {
    nock(GATEWAY).post("/feedback").reply(404, { error: "Unknown metric: fixloop_nope" });
    const unknownMetric = await failure(sendFeedback({ url: GATEWAY }, { metricName: "fixloop_nope", inferenceId: INFERENCE, value: true }));
    expect(unknownMetric).toBeInstanceOf(FeedbackRejectedError);
    expect(unknownMetric.retriable).toBe(false);
    expect(unknownMetric.status).toBe(404);

    nock(GATEWAY).post("/feedback").reply(400, { error: "Feedback value for metric `fixloop_ci_passed` must be a boolean" });
    const badValue = await failure(sendFeedback({ url: GATEWAY }, { metricName: METRICS.ciPassed, inferenceId: INFERENCE, value: 1 }));
    expect(badValue).toBeInstanceOf(FeedbackRejectedError);
    expect(badValue.kind).toBe("rejected");
  });

  it("classifies 5xx, 429, auth failures and network errors as a retriable gateway outage", async () => {
    for (const [status, body] of [
      [503, { error: "Postgres connection failed" }],
      [502, "<html>Bad Gateway</html>"],
      [429, { error: "rate limited" }],
      [401, { error: "TensorZero authentication error" }],
    ] as const) {
      nock(GATEWAY).post("/feedback").reply(status, body);
      const error = await failure(sendFeedback({ url: GATEWAY }, { metricName: METRICS.ciPassed, inferenceId: INFERENCE, value: true }));
      expect(error, String(status)).toBeInstanceOf(FeedbackGatewayUnavailableError);
      expect(error.retriable).toBe(true);
      expect(error.status).toBe(status);
    }

    nock(GATEWAY).post("/feedback").replyWithError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED" });
    const down = await failure(sendFeedback({ url: GATEWAY }, { metricName: METRICS.ciPassed, inferenceId: INFERENCE, value: true }));
    expect(down).toBeInstanceOf(FeedbackGatewayUnavailableError);
    expect(down.status).toBeNull();
  });

  it("treats a timeout as a retriable outage", async () => {
    nock(GATEWAY).post("/feedback").delay(300).reply(200, { feedback_id: FEEDBACK_ID });
    const error = await failure(
      sendFeedback({ url: GATEWAY }, { metricName: METRICS.ciPassed, inferenceId: INFERENCE, value: true }, { timeoutMs: 30 }),
    );
    expect(error).toBeInstanceOf(FeedbackGatewayUnavailableError);
  });

  it("does not accept a 200 without a feedback id", async () => {
    nock(GATEWAY).post("/feedback").reply(200, { ok: true });
    const error = await failure(sendFeedback({ url: GATEWAY }, { metricName: METRICS.ciPassed, inferenceId: INFERENCE, value: true }));
    expect(error).toBeInstanceOf(FeedbackRejectedError);
  });

  it("makes exactly one request: retrying is the outbox's job", async () => {
    // A second request would match no mock, and test/setup.ts fails any test that made one.
    const scope = nock(GATEWAY).post("/feedback").reply(503, { error: "down" });
    await failure(sendFeedback({ url: GATEWAY }, { metricName: METRICS.ciPassed, inferenceId: INFERENCE, value: true }));
    expect(scope.isDone()).toBe(true);
  });
});

describe("gatewayConfigFromEnv", () => {
  it("reads TENSORZERO_URL and the optional TENSORZERO_API_KEY", () => {
    expect(gatewayConfigFromEnv({})).toBeNull();
    expect(gatewayConfigFromEnv({ TENSORZERO_URL: "http://localhost:3000/" })).toEqual({ url: "http://localhost:3000" });
    expect(gatewayConfigFromEnv({ TENSORZERO_URL: "https://tz.example.com", TENSORZERO_API_KEY: " sk-t0-x " })).toEqual({
      url: "https://tz.example.com",
      apiKey: "sk-t0-x",
    });
    expect(() => gatewayConfigFromEnv({ TENSORZERO_URL: "localhost:3000" })).toThrow(/TENSORZERO_URL/);
  });
});

/**
 * The deployed Lambda webhook: verify, ONE write, answer 202; the ingest
 * function processes each delivery through the inbox processor's handlers.
 * Real Probot with a real secret, a real libSQL file standing in for the
 * remote database (its round trips counted), the real SQS client with a
 * mocked transport. Also the GitLab/Gitea routes, /mcp and /healthz there.
 */
import { randomUUID } from "node:crypto";
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient, type SendMessageCommandInput } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createLambdaHandlers, type LambdaHandlers } from "../src/lambda.js";
import type { HttpApiEvent, SqsEvent } from "../src/lambda/events.js";
import { LAMBDA_MAX_WEBHOOK_BYTES } from "../src/lambda/webhook.js";
import { createSqsQueue } from "../src/queue/sqs.js";
import { ciRuns, deliveries, jobs } from "../src/store/schema.js";
import { GITEA_SECRET, GITLAB_TOKEN, giteaSign } from "./forges-support.js";
import { ADMIN_TOKEN, createTempStore, createTestProbot, fixture, sign, type TempStore } from "./helpers.js";
import { countRoundTrips, type CountedStore } from "./support/round-trips.js";

const JOBS_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test-jobs";
const DELIVERIES_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test-deliveries";
const START = Date.parse("2025-03-01T12:00:00.000Z");

const sqsMock = mockClient(SQSClient);
let temp: TempStore;
let counted: CountedStore;
let lambda: LambdaHandlers;
let t: number;
const now = () => new Date(t);

function build(options: { env?: NodeJS.ProcessEnv; maxMessageBytes?: number } = {}): LambdaHandlers {
  const sqs = new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  const store = counted.store;
  const queue = createSqsQueue({ store, client: sqs, queueUrl: JOBS_URL, now });
  return createLambdaHandlers({
    store,
    queue,
    probot: createTestProbot(),
    env: options.env ?? {},
    model: null,
    now,
    deliveries: { sqs, queueUrl: DELIVERIES_URL, maxMessageBytes: options.maxMessageBytes },
  });
}

beforeEach(async () => {
  sqsMock.reset();
  let n = 0;
  sqsMock.on(SendMessageCommand).callsFake(() => ({ MessageId: `msg-${++n}` }));
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  temp = await createTempStore();
  counted = countRoundTrips(temp);
  t = START;
  lambda = build();
});
afterEach(() => temp.dispose());

function sentTo(queueUrl: string): SendMessageCommandInput[] {
  return sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input).filter((input) => input.QueueUrl === queueUrl);
}

function request(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): HttpApiEvent {
  const method = options.method ?? "POST";
  return { version: "2.0", rawPath: path, headers: options.headers ?? {}, body: options.body, isBase64Encoded: false, requestContext: { http: { method, path } } };
}

function delivery(event: string, payload: unknown, id: string = randomUUID(), body = JSON.stringify(payload)): HttpApiEvent {
  return request("/api/github/webhooks", {
    body,
    headers: { "Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": id, "X-Hub-Signature-256": sign(body), "X-GitHub-Hook-ID": "42" },
  });
}

async function call(handlers: LambdaHandlers, event: HttpApiEvent) {
  const result = await handlers.webhook(event);
  return { status: result.statusCode, body: JSON.parse(result.body) as Record<string, unknown>, headers: result.headers };
}

function sqsEvent(messages: SendMessageCommandInput[], receiveCount = 1): SqsEvent {
  return {
    Records: messages.map((m, i) => ({
      messageId: `record-${i}-${randomUUID().slice(0, 6)}`,
      receiptHandle: `receipt-${i}`,
      body: m.MessageBody!,
      attributes: { ApproximateReceiveCount: String(receiveCount) },
    })),
  };
}

async function deliveryRow(id: string) {
  const [row] = await temp.db.select().from(deliveries).where(eq(deliveries.id, id));
  return row;
}

describe("webhook function: verify, one write, 202", () => {
  test("a red run: one SQS message carrying the body, no database round trip; the ingest function stores and processes it", async () => {
    await call(lambda, request("/healthz", { method: "GET" })); // warm: Probot started, as in a warm container
    counted.reset();
    const body = JSON.stringify(fixture("workflow_run.completed.json"));
    const answer = await call(lambda, delivery("workflow_run", null, "d-red", body));

    expect(answer).toMatchObject({ status: 202, body: { id: "d-red", status: "accepted" } });
    expect(counted.count()).toBe(0);
    const [message] = sentTo(DELIVERIES_URL);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
    expect(JSON.parse(message.MessageBody!)).toEqual({ fixloopDelivery: 1, id: "d-red", event: "workflow_run", headers: { "x-github-hook-id": "42" }, body });
    expect(await deliveryRow("d-red")).toBeUndefined();

    const report = await lambda.ingest(sqsEvent([message]));
    expect(report).toEqual({ batchItemFailures: [] });
    // Stored once, as received, and processed by the inbox's handlers: the run row and the fix job, whose message went to the jobs queue.
    expect(await deliveryRow("d-red")).toMatchObject({ status: "processed", payload: JSON.parse(body), note: expect.stringMatching(/^fix job \d+ enqueued$/) });
    expect(await temp.db.select().from(ciRuns)).toHaveLength(1);
    expect(sentTo(JOBS_URL)).toHaveLength(1);
    expect(JSON.parse(sentTo(JOBS_URL)[0].MessageBody!)).toMatchObject({ fixloop: 1, kind: "fix" });
  });

  test("duplicates: the same message twice and a redelivery by GitHub are processed once", async () => {
    await call(lambda, delivery("workflow_run", fixture("workflow_run.completed.json"), "d-dup"));
    await call(lambda, delivery("workflow_run", fixture("workflow_run.completed.json"), "d-dup")); // GitHub's redelivery: a second message
    const messages = sentTo(DELIVERIES_URL);
    expect(messages).toHaveLength(2);

    expect(await lambda.ingest(sqsEvent([messages[0], messages[0]]))).toEqual({ batchItemFailures: [] }); // SQS's at-least-once
    expect(await lambda.ingest(sqsEvent([messages[1]]))).toEqual({ batchItemFailures: [] });
    expect(await deliveryRow("d-dup")).toMatchObject({ status: "processed", attempts: 1 });
    expect(await temp.db.select().from(jobs)).toHaveLength(1);
    expect(sentTo(JOBS_URL)).toHaveLength(1);
  });

  test("too big for a message: one inbox row instead (a redelivery is a duplicate); the scheduled drain processes it", async () => {
    lambda = build({ maxMessageBytes: 2_048 });
    await call(lambda, request("/healthz", { method: "GET" }));
    counted.reset();
    const answer = await call(lambda, delivery("workflow_run", fixture("workflow_run.completed.json"), "d-big"));
    expect(answer).toMatchObject({ status: 202, body: { id: "d-big", status: "accepted" } });
    // One request to the database: the inbox append (its record and its body in one batch).
    expect(counted.count()).toBe(1);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(await deliveryRow("d-big")).toMatchObject({ status: "received" });

    expect(await call(lambda, delivery("workflow_run", fixture("workflow_run.completed.json"), "d-big"))).toMatchObject({ status: 200, body: { status: "duplicate" } });

    const report = await lambda.scheduled({ source: "aws.events" });
    expect(report.tasks.find((task) => task.name === "drain-delivery-inbox")).toMatchObject({ ok: true, result: { processed: 1 } });
    expect(await deliveryRow("d-big")).toMatchObject({ status: "processed" });
  });

  test("our own failure: the row waits with its backoff, the message is held back until then; the next receive processes it", async () => {
    await call(lambda, delivery("workflow_run", fixture("workflow_run.completed.json"), "d-retry"));
    const [message] = sentTo(DELIVERIES_URL);
    sqsMock.on(SendMessageCommand, { QueueUrl: JOBS_URL }).rejects(new Error("SQS is down"));

    const event = sqsEvent([message]);
    expect(await lambda.ingest(event)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
    const row = await deliveryRow("d-retry");
    expect(row).toMatchObject({ status: "received", attempts: 1, error: expect.stringMatching(/SQS is down/) });
    const [hold] = sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);
    expect(hold).toMatchObject({ QueueUrl: DELIVERIES_URL, ReceiptHandle: "receipt-0" });
    expect(hold.VisibilityTimeout).toBe(Math.ceil((Date.parse(row.nextAttemptAt!) - t) / 1000));

    sqsMock.on(SendMessageCommand, { QueueUrl: JOBS_URL }).resolves({ MessageId: "job-msg" });
    t = Date.parse(row.nextAttemptAt!) + 1;
    expect(await lambda.ingest(sqsEvent([message], 2))).toEqual({ batchItemFailures: [] });
    expect(await deliveryRow("d-retry")).toMatchObject({ status: "processed", attempts: 2, error: null });
  });

  test("a message fixloop did not write is reported (it ends in the DLQ) and the rest of the batch runs", async () => {
    await call(lambda, delivery("pull_request", fixture("pull_request.opened.json"), "d-ok"));
    const event = sqsEvent([{ QueueUrl: DELIVERIES_URL, MessageBody: '{"hello":"world"}' }, ...sentTo(DELIVERIES_URL)]);
    expect(await lambda.ingest(event)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
    expect(await deliveryRow("d-ok")).toMatchObject({ status: "processed" });
  });

  test("the queue is down: 503 with Retry-After, nothing stored, so GitHub shows a failed delivery", async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error("ServiceUnavailable"));
    const answer = await call(lambda, delivery("workflow_run", fixture("workflow_run.completed.json"), "d-down"));
    expect(answer).toMatchObject({ status: 503, headers: { "retry-after": "30" } });
    expect(await deliveryRow("d-down")).toBeUndefined();
  });

  test("refusals write nothing: a bad signature is 401; a body over the function's limit is 413 before any check", async () => {
    const body = JSON.stringify(fixture("workflow_run.completed.json"));
    const forged = request("/api/github/webhooks", {
      body,
      headers: { "content-type": "application/json", "x-github-event": "workflow_run", "x-github-delivery": "d-bad", "x-hub-signature-256": sign(body, "wrong") },
    });
    expect((await call(lambda, forged)).status).toBe(401);
    const huge = `{"pad":"${"x".repeat(LAMBDA_MAX_WEBHOOK_BYTES)}"}`;
    const tooBig = await call(lambda, delivery("push", null, "d-huge", huge));
    expect(tooBig).toMatchObject({ status: 413, body: { error: expect.stringMatching(/exceeds 5242880/) } });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(await temp.db.select().from(deliveries)).toHaveLength(0);
  });
});

describe("forge routes on Lambda", () => {
  beforeEach(() => {
    lambda = build({ env: { GITLAB_WEBHOOK_TOKEN: GITLAB_TOKEN, GITEA_WEBHOOK_SECRET: GITEA_SECRET } });
  });

  test("GitLab: the token checked, one message, 202; the ingest function stores the pipeline", async () => {
    const body = JSON.stringify(fixture("gitlab/pipeline.success.json"));
    const headers = { "content-type": "application/json", "x-gitlab-event": "Pipeline Hook", "idempotency-key": "gl-1" };
    expect((await call(lambda, request("/api/webhooks/gitlab", { body, headers: { ...headers, "x-gitlab-token": "wrong" } }))).status).toBe(401);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);

    const answer = await call(lambda, request("/api/webhooks/gitlab", { body, headers: { ...headers, "x-gitlab-token": GITLAB_TOKEN } }));
    expect(answer).toMatchObject({ status: 202, body: { id: "gitlab:gl-1", status: "accepted" } });
    const [message] = sentTo(DELIVERIES_URL);
    expect(JSON.parse(message.MessageBody!)).toMatchObject({ id: "gitlab:gl-1", event: "gitlab:Pipeline Hook" });
    expect(await lambda.ingest(sqsEvent([message]))).toEqual({ batchItemFailures: [] });
    expect(await deliveryRow("gitlab:gl-1")).toMatchObject({ status: "processed" });
    expect(await temp.db.select().from(ciRuns)).toMatchObject([{ provider: "gitlab-ci" }]);
  });

  test("Gitea: the HMAC checked, one message without the body's legacy secret, 202", async () => {
    const payload = { ...fixture("gitea/push.json"), secret: "legacy-secret-in-body" };
    const body = JSON.stringify(payload);
    const headers = { "content-type": "application/json", "x-gitea-event": "push", "x-gitea-delivery": "gt-1" };
    expect((await call(lambda, request("/api/webhooks/gitea", { body, headers: { ...headers, "x-gitea-signature": giteaSign(body, "nope") } }))).status).toBe(401);
    const answer = await call(lambda, request("/api/webhooks/gitea", { body, headers: { ...headers, "x-gitea-signature": giteaSign(body) } }));
    expect(answer).toMatchObject({ status: 202, body: { id: "gitea:gt-1", status: "accepted" } });
    const [message] = sentTo(DELIVERIES_URL);
    expect(JSON.parse(message.MessageBody!).body).not.toContain("legacy-secret-in-body");
    expect(await lambda.ingest(sqsEvent([message]))).toEqual({ batchItemFailures: [] });
    expect(await deliveryRow("gitea:gt-1")).toMatchObject({ status: "processed" });
  });

  test("a forge whose secret is unset has no route (404), and nothing is written", async () => {
    lambda = build({ env: {} });
    const answer = await call(lambda, request("/api/webhooks/gitlab", { body: "{}", headers: { "content-type": "application/json", "x-gitlab-event": "Push Hook" } }));
    expect(answer).toMatchObject({ status: 404, body: { error: expect.stringMatching(/GITLAB_WEBHOOK_TOKEN/) } });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});

describe("/mcp and /healthz on Lambda", () => {
  const rpc = (body: unknown, token?: string) =>
    request("/mcp", {
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  test("the MCP tools answer JSON-RPC behind the admin token; 401 without it, 404 when no token is set", async () => {
    lambda = build({ env: { FIXLOOP_ADMIN_TOKEN: ADMIN_TOKEN } });
    const init = await lambda.webhook(
      rpc({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }, ADMIN_TOKEN),
    );
    expect(init.statusCode).toBe(200);
    expect(JSON.parse(init.body)).toMatchObject({ jsonrpc: "2.0", id: 1, result: { serverInfo: { name: "fixloop" } } });
    const list = await lambda.webhook(rpc({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }, ADMIN_TOKEN));
    const tools = (JSON.parse(list.body) as { result: { tools: { name: string }[] } }).result.tools.map((tool) => tool.name);
    expect(tools).toHaveLength(4);
    expect(tools).toContain("get_ci_runs");

    expect((await lambda.webhook(rpc({ jsonrpc: "2.0", id: 3, method: "tools/list" }))).statusCode).toBe(401);
    expect((await lambda.webhook(rpc({ jsonrpc: "2.0", id: 3, method: "tools/list" }, "nope"))).statusCode).toBe(401);
    lambda = build({ env: {} });
    expect((await lambda.webhook(rpc({ jsonrpc: "2.0", id: 3, method: "tools/list" }, ADMIN_TOKEN))).statusCode).toBe(404);
  });

  test("/healthz says ok / not ok without a database query and without error text", async () => {
    await call(lambda, request("/healthz", { method: "GET" }));
    counted.reset();
    expect(await call(lambda, request("/healthz", { method: "GET" }))).toMatchObject({ status: 200, body: { ok: true } });
    expect(counted.count()).toBe(0);
    // An app that cannot start (a weak admin token): not ok, and the reason stays in the log.
    const broken = build({ env: { FIXLOOP_ADMIN_TOKEN: "short" } });
    const answer = await call(broken, request("/healthz", { method: "GET" }));
    expect(answer).toEqual({ status: 503, body: { ok: false }, headers: expect.any(Object) });
  });
});

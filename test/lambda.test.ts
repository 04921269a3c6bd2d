/**
 * The Lambda handlers, invoked the way AWS invokes them: API Gateway v2
 * events for the webhook function, SQS events for the worker, a schedule
 * event for the chores. Real Probot with a real secret, a real libSQL file
 * standing in for the remote database, the real SQS client with a mocked
 * transport.
 */
import { randomUUID } from "node:crypto";
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient, type SendMessageCommandInput } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { eq } from "drizzle-orm";
import nock from "nock";
import { v7 } from "uuid";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createLambdaHandlers, type LambdaHandlers } from "../src/lambda.js";
import type { HttpApiEvent, SqsEvent } from "../src/lambda/events.js";
import { createScheduledHandler, SCHEDULED_SAFETY_MARGIN_MS, ScheduledTasksFailedError } from "../src/lambda/scheduled.js";
import { createSqsWorkerHandler } from "../src/lambda/worker.js";
import { recordFeedback } from "../src/store/feedback.js";
import { getJob, listJobs, PermanentJobError, type JobHandler } from "../src/queue/index.js";
import { createSqsQueue, type SqsJobQueue } from "../src/queue/sqs.js";
import { deliveries, jobs } from "../src/store/schema.js";
import { METRICS } from "../src/tensorzero/metrics.js";
import { createTempStore, createTestProbot, fixture, sign, silentLog, type TempStore } from "./helpers.js";

const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test-jobs";
const FIFO_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test-jobs.fifo";
const START = Date.parse("2025-03-01T12:00:00.000Z");

const sqsMock = mockClient(SQSClient);
let store: TempStore;
let queue: SqsJobQueue;
let lambda: LambdaHandlers;
let t: number;
const now = () => new Date(t);

function sqsClient() {
  return new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
}

function sent(): SendMessageCommandInput[] {
  return sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
}

function visibilityChanges() {
  return sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
}

beforeEach(async () => {
  sqsMock.reset();
  let n = 0;
  sqsMock.on(SendMessageCommand).callsFake(() => ({ MessageId: `msg-${++n}` }));
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  store = await createTempStore();
  t = START;
  queue = createSqsQueue({ store, client: sqsClient(), queueUrl: QUEUE_URL, now });
  lambda = createLambdaHandlers({ store, queue, probot: createTestProbot(), env: {}, model: null, now });
});
afterEach(() => store.dispose());

function httpEvent(options: { method?: string; path?: string; headers?: Record<string, string>; body?: string; base64?: boolean }): HttpApiEvent {
  const method = options.method ?? "POST";
  const path = options.path ?? "/api/github/webhooks";
  const body = options.body;
  return {
    version: "2.0",
    rawPath: path,
    headers: options.headers ?? {},
    body: body === undefined ? undefined : options.base64 ? Buffer.from(body, "utf8").toString("base64") : body,
    isBase64Encoded: Boolean(options.base64),
    requestContext: { http: { method, path } },
  };
}

/** A delivery as GitHub signs it; header names in GitHub's own mixed case, as API Gateway passes them through. */
function delivery(event: string, payload: unknown, options: { id?: string; body?: string; signature?: string; base64?: boolean } = {}): HttpApiEvent {
  const body = options.body ?? JSON.stringify(payload);
  return httpEvent({
    body,
    base64: options.base64,
    headers: {
      "Content-Type": "application/json",
      "X-GitHub-Event": event,
      "X-GitHub-Delivery": options.id ?? randomUUID(),
      "X-Hub-Signature-256": options.signature ?? sign(body),
    },
  });
}

async function post(event: HttpApiEvent) {
  const result = await lambda.webhook(event);
  return { status: result.statusCode, body: JSON.parse(result.body) as Record<string, unknown>, headers: result.headers };
}

/** The SQS event Lambda would build from the messages sent so far (or from the ones given). */
function sqsEvent(messages: SendMessageCommandInput[] = sent()): SqsEvent {
  return {
    Records: messages.map((m, i) => ({
      messageId: `record-${i}-${randomUUID().slice(0, 4)}`,
      receiptHandle: `receipt-${i}`,
      body: m.MessageBody!,
      attributes: { ApproximateReceiveCount: "1" },
    })),
  };
}

describe("webhook function (API Gateway v2 events)", () => {
  test("a red workflow run is recorded and its fix job goes to SQS", async () => {
    const response = await post(delivery("workflow_run", fixture("workflow_run.completed.json"), { id: "d-red" }));

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: "d-red", status: "processed", note: expect.stringMatching(/^fix job \d+ enqueued$/) });
    expect(response.headers["content-type"]).toMatch(/application\/json/);
    expect(sent()).toHaveLength(1);
    const [message] = sent();
    expect(message).toMatchObject({ QueueUrl: QUEUE_URL, DelaySeconds: 0 });
    const body = JSON.parse(message.MessageBody!);
    expect(body).toMatchObject({
      fixloop: 1,
      kind: "fix",
      dedupKey: expect.stringMatching(/^fix:.*9120304501:1$/),
      payload: { repo: "acme/widgets", runId: "9120304501", conclusion: "failure", installationId: 48213377 },
    });
    const [job] = await listJobs(store);
    expect(job).toMatchObject({ id: body.jobId, kind: "fix", status: "queued" });
    const [row] = await store.db.select().from(deliveries).where(eq(deliveries.id, "d-red"));
    expect(row.status).toBe("processed");
  });

  test("a redelivery is answered as a duplicate and sends nothing", async () => {
    const payload = fixture("workflow_run.completed.json");
    await post(delivery("workflow_run", payload, { id: "d-1" }));
    const again = await post(delivery("workflow_run", payload, { id: "d-1" }));
    // A fresh delivery id for the same run: recorded, but the job already exists.
    const fresh = await post(delivery("workflow_run", payload, { id: "d-2" }));

    expect(again).toMatchObject({ status: 200, body: { id: "d-1", status: "duplicate" } });
    expect(fresh.body.note).toMatch(/already enqueued/);
    expect(sent()).toHaveLength(1);
    expect(await listJobs(store)).toHaveLength(1);
  });

  test("a bad signature is 401 and nothing is stored", async () => {
    const response = await post(delivery("pull_request", fixture("pull_request.opened.json"), { signature: sign("something else") }));
    expect(response).toMatchObject({ status: 401, body: { error: expect.stringMatching(/signature/) } });
    expect(await store.db.select().from(deliveries)).toHaveLength(0);
  });

  test("missing headers are 400 naming them, not a 500", async () => {
    const response = await post(httpEvent({ body: "{}", headers: { "content-type": "application/json" } }));
    expect(response).toMatchObject({ status: 400, body: { error: "required headers missing: x-github-event, x-github-delivery, x-hub-signature-256" } });
    // API Gateway may send no headers object at all.
    const bare = await lambda.webhook({ version: "2.0", rawPath: "/api/github/webhooks", requestContext: { http: { method: "POST" } } });
    expect(bare.statusCode).toBe(400);
  });

  test("a signed body that is not JSON is 400; a JSON array is 400 too", async () => {
    expect(await post(delivery("push", null, { body: "{not json" }))).toMatchObject({ status: 400, body: { error: "body is not valid JSON" } });
    expect(await post(delivery("push", null, { body: "[1,2]" }))).toMatchObject({ status: 400, body: { error: "body must be a JSON object" } });
  });

  test("a base64-encoded body is decoded before the signature check", async () => {
    const payload = fixture("pull_request.opened.json");
    const response = await post(delivery("pull_request", payload, { id: "d-b64", base64: true }));
    expect(response).toMatchObject({ status: 200, body: { id: "d-b64", status: "processed" } });
    const [row] = await store.db.select().from(deliveries).where(eq(deliveries.id, "d-b64"));
    expect(row.event).toBe("pull_request");
  });

  test("a form-encoded delivery is 415", async () => {
    const event = delivery("ping", { zen: "x" });
    event.headers!["Content-Type"] = "application/x-www-form-urlencoded";
    expect((await post(event)).status).toBe(415);
  });

  test("a handler failure is 500 and the delivery row is kept as failed; the job is swept to SQS later", async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error("SQS is down"));
    const response = await post(delivery("workflow_run", fixture("workflow_run.completed.json"), { id: "d-fail" }));

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ id: "d-fail", status: "failed", error: expect.stringMatching(/SQS is down/) });
    const [row] = await store.db.select().from(deliveries).where(eq(deliveries.id, "d-fail"));
    expect(row).toMatchObject({ status: "failed" });
    const [job] = await listJobs(store);
    expect(job.status).toBe("queued");

    sqsMock.on(SendMessageCommand).resolves({ MessageId: "m" });
    sqsMock.resetHistory();
    t += 11 * 60_000;
    const report = await lambda.scheduled({ source: "aws.events" });
    expect(report.tasks.find((task) => task.name === "resend-stranded-jobs")).toMatchObject({ ok: true, result: { resent: [job.id] } });
    expect(JSON.parse(sent()[0].MessageBody!)).toMatchObject({ jobId: job.id });
  });

  test("the first event of a cold container waits for Probot to start", async () => {
    // A fresh Probot starts asynchronously: its webhooks object is null until then.
    const probot = createTestProbot();
    const cold = createLambdaHandlers({ store, queue, probot, env: {}, model: null, now });
    const response = await cold.webhook(delivery("pull_request", fixture("pull_request.opened.json"), { id: "cold-1" }));
    expect(JSON.parse(response.body)).toEqual({ id: "cold-1", status: "processed" });
  });

  test("the REST API's 1.0 event shape is understood too", async () => {
    const body = JSON.stringify(fixture("pull_request.opened.json"));
    const result = await lambda.webhook({
      httpMethod: "POST",
      path: "/api/github/webhooks",
      headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": "v1-1", "x-hub-signature-256": sign(body) },
      body,
      isBase64Encoded: false,
    });
    expect(result.statusCode).toBe(200);
  });

  test("health, wrong method, unknown route", async () => {
    expect(await post(httpEvent({ method: "GET", path: "/healthz" }))).toMatchObject({ status: 200, body: { ok: true } });
    expect((await post(httpEvent({ method: "GET" }))).status).toBe(405);
    expect((await post(httpEvent({ method: "POST", path: "/healthz" }))).status).toBe(405);
    expect((await post(httpEvent({ method: "GET", path: "/nope" }))).status).toBe(404);
  });

  test("health asks no database: it stays ok while the database is unreachable (it says whether the function can serve)", async () => {
    await post(httpEvent({ method: "GET", path: "/healthz" }));
    store.close();
    const response = await post(httpEvent({ method: "GET", path: "/healthz" }));
    // Ok, and nothing more for anyone: no database, no error text.
    expect(response).toEqual({ status: 200, body: { ok: true }, headers: expect.any(Object) });
    store = await createTempStore();
  });
});

describe("worker function (SQS events)", () => {
  function worker(handlers: Record<string, JobHandler>, overrides: { queue?: SqsJobQueue; jobTimeoutMs?: number } = {}) {
    return createSqsWorkerHandler({ store, queue: overrides.queue ?? queue, handlers, log: silentLog(), now, random: () => 0.5, jobTimeoutMs: overrides.jobTimeoutMs });
  }

  test("runs the job's handler with its payload and settles the row; the batch has no failures", async () => {
    const seen: unknown[] = [];
    const { id } = await queue.enqueue("fix", { repo: "acme/widgets", n: 1 });
    const response = await worker({ fix: async (payload) => (seen.push(payload), { status: "done", result: { ok: 1 } }) })(sqsEvent());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen).toEqual([{ repo: "acme/widgets", n: 1 }]);
    expect(await getJob(store, id)).toMatchObject({ status: "done", attempts: 1, result: { ok: 1 }, leaseExpiresAt: null });
  });

  test("a duplicate message (standard queues deliver at least once) does not run the job again", async () => {
    let runs = 0;
    await queue.enqueue("fix", {});
    const event = sqsEvent();
    const handle = worker({ fix: async () => (runs++, { status: "done" }) });
    await handle(event);
    const second = await handle(event);
    // Two copies in one batch: only one claim wins.
    const both = await (async () => {
      const { id } = await queue.enqueue("fix", { other: true });
      const copies = sqsEvent([sent().at(-1)!, sent().at(-1)!]);
      const result = await handle(copies);
      return { id, result };
    })();
    expect(second).toEqual({ batchItemFailures: [] });
    expect(both.result).toEqual({ batchItemFailures: [] });
    expect(runs).toBe(2);
    expect((await getJob(store, both.id))!.status).toBe("done");
  });

  test("a thrown error reschedules the job with backoff and reports the record as a batch item failure", async () => {
    const { id } = await queue.enqueue("fix", {});
    const event = sqsEvent();
    const response = await worker({ fix: async () => Promise.reject(new Error("GitHub 502")) })(event);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
    const job = await getJob(store, id);
    expect(job).toMatchObject({ status: "queued", attempts: 1, lastError: "Error: GitHub 502 (attempt 1 of 5)", runAfter: new Date(START + 5_000).toISOString() });
    // SQS delivers it again when the backoff is over (5 s base, no jitter with random = 0.5).
    expect(visibilityChanges()).toEqual([{ QueueUrl: QUEUE_URL, ReceiptHandle: "receipt-0", VisibilityTimeout: 5 }]);
    expect(sent()).toHaveLength(1);
  });

  test("after the last attempt the job is dead and the message is deleted", async () => {
    const { id } = await queue.enqueue("fix", {}, { maxAttempts: 2 });
    const event = sqsEvent();
    const handle = worker({ fix: async () => Promise.reject(new Error("still broken")) });
    expect((await handle(event)).batchItemFailures).toHaveLength(1);
    t += 5_000;
    expect(await handle(event)).toEqual({ batchItemFailures: [] });
    expect(await getJob(store, id)).toMatchObject({ status: "dead", attempts: 2, lastError: "Error: still broken (attempt 2 of 2)" });
  });

  test("a permanent error fails the job at once; the message is deleted", async () => {
    const { id } = await queue.enqueue("fix", {});
    const response = await worker({ fix: async () => Promise.reject(new PermanentJobError("repo archived")) })(sqsEvent());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await getJob(store, id)).toMatchObject({ status: "failed", lastError: "PermanentJobError: repo archived" });
  });

  test("wait: the attempt is given back and a new message is sent with the delay", async () => {
    const { id } = await queue.enqueue("fix", {});
    const response = await worker({ fix: async () => ({ status: "wait", delayMs: 120_000, reason: "gateway circuit open" }) })(sqsEvent());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await getJob(store, id)).toMatchObject({ status: "queued", attempts: 0, lastError: "waiting: gateway circuit open", runAfter: new Date(START + 120_000).toISOString() });
    expect(sent()).toHaveLength(2);
    expect(sent()[1]).toMatchObject({ QueueUrl: QUEUE_URL, DelaySeconds: 120 });
    expect(JSON.parse(sent()[1].MessageBody!)).toMatchObject({ jobId: id });
  });

  test("a wait longer than SQS allows arrives early and is sent on again with the rest of the delay", async () => {
    let runs = 0;
    const handle = worker({ fix: async () => (++runs === 1 ? { status: "wait", delayMs: 1_500_000, reason: "daily budget" } : { status: "done" }) });
    const { id } = await queue.enqueue("fix", {});
    await handle(sqsEvent());
    expect(sent()[1].DelaySeconds).toBe(900);

    t += 900_000;
    await handle(sqsEvent([sent()[1]]));
    expect(runs).toBe(1);
    expect(sent()[2].DelaySeconds).toBe(600);

    t += 600_000;
    await handle(sqsEvent([sent()[2]]));
    expect(runs).toBe(2);
    expect((await getJob(store, id))!.status).toBe("done");
  });

  test("a message fixloop did not write is a failure (it ends in the DLQ); one naming no job is dropped", async () => {
    const event: SqsEvent = {
      Records: [
        { messageId: "foreign", receiptHandle: "r1", body: "hello" },
        { messageId: "orphan", receiptHandle: "r2", body: JSON.stringify({ fixloop: 1, jobId: 424242, kind: "fix" }) },
      ],
    };
    expect(await worker({})(event)).toEqual({ batchItemFailures: [{ itemIdentifier: "foreign" }] });
  });

  test("an unknown job kind fails the job and names the known kinds", async () => {
    const { id } = await queue.enqueue("mystery", {});
    expect(await worker({ fix: async () => ({ status: "done" }) })(sqsEvent())).toEqual({ batchItemFailures: [] });
    expect(await getJob(store, id)).toMatchObject({ status: "failed", lastError: 'no handler for job kind "mystery" (known kinds: fix)' });
  });

  test("a job whose handler outlives the invocation is abandoned and retried", async () => {
    const { id } = await queue.enqueue("fix", {});
    const hang: JobHandler = (_payload, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
    const event = sqsEvent();
    const started = Date.now();
    // 15 s safety margin + 1.2 s: the job gets 1.2 s.
    const response = await worker({ fix: hang })(event, { getRemainingTimeInMillis: () => 16_200 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(response.batchItemFailures).toHaveLength(1);
    expect((await getJob(store, id))!.lastError).toMatch(/timed out after 1200 ms \(attempt 1 of 5\)/);
  });

  test("with too little time left a record is handed back unclaimed", async () => {
    const { id } = await queue.enqueue("fix", {});
    let runs = 0;
    const response = await worker({ fix: async () => (runs++, { status: "done" }) })(sqsEvent(), { getRemainingTimeInMillis: () => 15_500 });
    expect(response.batchItemFailures).toHaveLength(1);
    expect(runs).toBe(0);
    expect(await getJob(store, id)).toMatchObject({ status: "queued", attempts: 0 });
  });

  test("a job running under another worker's live lease is left alone; an expired one is taken over", async () => {
    const { id } = await queue.enqueue("fix", {});
    await store.db.update(jobs).set({ status: "running", leaseOwner: "other", leaseExpiresAt: new Date(START + 60_000).toISOString(), attempts: 1 }).where(eq(jobs.id, id));
    let runs = 0;
    const handle = worker({ fix: async () => (runs++, { status: "done" }) });
    expect(await handle(sqsEvent())).toEqual({ batchItemFailures: [] });
    expect(runs).toBe(0);
    t += 60_001;
    await handle(sqsEvent([sent()[0]]));
    expect(runs).toBe(1);
    expect(await getJob(store, id)).toMatchObject({ status: "done", attempts: 2 });
  });

  test("a handler that finds its lease taken over (heartbeat) leaves the row to the new owner", async () => {
    const { id } = await queue.enqueue("fix", {});
    const response = await worker({
      fix: async (_payload, ctx) => {
        await store.db.update(jobs).set({ leaseOwner: "thief" }).where(eq(jobs.id, id));
        await ctx.heartbeat();
        return { status: "done" };
      },
    })(sqsEvent());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await getJob(store, id)).toMatchObject({ status: "running", leaseOwner: "thief" });
  });

  test("FIFO: a failure stops the batch and hands back it and everything after it, in order", async () => {
    const fifo = createSqsQueue({ store, client: sqsClient(), queueUrl: FIFO_URL, now });
    await fifo.enqueue("fix", { repo: "acme/widgets", n: 1 });
    await fifo.enqueue("fix", { repo: "acme/widgets", n: 2 });
    await fifo.enqueue("fix", { repo: "acme/widgets", n: 3 });
    const ran: number[] = [];
    const event = sqsEvent();
    const response = await worker(
      { fix: async (payload: { n: number }) => (ran.push(payload.n), payload.n === 2 ? Promise.reject(new Error("boom")) : { status: "done" }) },
      { queue: fifo },
    )(event);
    expect(ran).toEqual([1, 2]);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([event.Records[1].messageId, event.Records[2].messageId]);
  });

  test("FIFO: a wait holds the message back (no per-message delay there) instead of sending another", async () => {
    const fifo = createSqsQueue({ store, client: sqsClient(), queueUrl: FIFO_URL, now });
    const { id } = await fifo.enqueue("fix", { repo: "acme/widgets" });
    const event = sqsEvent();
    const response = await worker({ fix: async () => ({ status: "wait", delayMs: 30_000, reason: "rate limited" }) }, { queue: fifo })(event);
    expect(response.batchItemFailures).toHaveLength(1);
    expect(visibilityChanges()).toEqual([{ QueueUrl: FIFO_URL, ReceiptHandle: "receipt-0", VisibilityTimeout: 30 }]);
    expect(sent()).toHaveLength(1);
    expect(await getJob(store, id)).toMatchObject({ status: "queued", attempts: 0 });
  });

  test("the deployed wiring runs the fix pipeline's own handlers (a follow-up with no attempt is skipped)", async () => {
    const trigger = {
      repo: "acme/widgets",
      installationId: 48213377,
      provider: "github-actions",
      runId: "555",
      runAttempt: 1,
      workflowId: 1,
      workflowName: "CI",
      workflowPath: ".github/workflows/ci.yml",
      headSha: "abc",
      headBranch: "fixloop/run-unknown",
      conclusion: "success",
      event: "push",
      prNumbers: [],
      headRepoSlug: "acme/widgets",
      defaultBranch: "main",
      headTreeSha: null,
    };
    const { id } = await queue.enqueue("fix-follow-up", trigger);
    expect(await lambda.worker(sqsEvent(), { getRemainingTimeInMillis: () => 600_000 })).toEqual({ batchItemFailures: [] });
    expect(await getJob(store, id)).toMatchObject({ status: "skipped", result: { reason: "no fix attempt for branch fixloop/run-unknown" } });
  });
});

describe("scheduled function", () => {
  test("every task runs even when one fails; then the invocation fails so the error is seen", async () => {
    const ran: string[] = [];
    const handler = createScheduledHandler({
      log: silentLog(),
      now,
      tasks: [
        { name: "first", run: async () => void ran.push("first") },
        { name: "broken", run: async () => Promise.reject(new Error("gateway down")) },
        { name: "last", run: async (at) => (ran.push("last"), at.toISOString()) },
      ],
    });
    const error = await handler({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScheduledTasksFailedError);
    expect((error as Error).message).toBe("1 of 3 scheduled tasks failed: broken: Error: gateway down");
    expect(ran).toEqual(["first", "last"]);
    expect((error as ScheduledTasksFailedError).reports.find((r) => r.name === "last")).toMatchObject({ ok: true, result: new Date(START).toISOString() });
  });

  test("tasks get the invocation's remaining time less a safety margin; with no time left the rest are skipped for the next tick", async () => {
    let remaining = 45_000;
    const seen: number[] = [];
    const handler = createScheduledHandler({
      log: silentLog(),
      now,
      tasks: [
        { name: "slow", run: async (_at, budget) => (seen.push(budget!.remainingMs()), (remaining = SCHEDULED_SAFETY_MARGIN_MS)) },
        { name: "next", run: async () => seen.push(-1) },
      ],
    });
    const report = await handler({}, { getRemainingTimeInMillis: () => remaining });
    expect(seen).toEqual([45_000 - SCHEDULED_SAFETY_MARGIN_MS]);
    expect(report.tasks[1]).toMatchObject({ name: "next", ok: true, result: { skipped: expect.stringMatching(/out of time/) } });
  });

  test("the deployed schedule: stranded jobs, the delivery inbox, the feedback outbox, the periodic outcome checks", async () => {
    await queue.enqueue("fix", {});
    sqsMock.resetHistory();
    const report = await lambda.scheduled({});
    expect(report.tasks.map((task) => [task.name, task.ok])).toEqual([
      ["resend-stranded-jobs", true],
      ["drain-delivery-inbox", true],
      ["drain-feedback-outbox", true],
      ["periodic-outcome-checks", true],
    ]);
    expect(report.tasks[0]).toMatchObject({ result: { resent: [] } });
    expect(report.tasks[1]).toMatchObject({ result: { processed: 0 } });
    expect(report.tasks[3]).toMatchObject({ result: { settled: 0, failures: [] } });
    // A fresh job is not stranded: nothing is sent.
    expect(sent()).toHaveLength(0);
  });

  test("the scheduled function sends the outbox's feedback to the TensorZero gateway from its environment", async () => {
    const gateway = "http://tensorzero.test:3300";
    const withGateway = createLambdaHandlers({ store, queue, probot: createTestProbot(), env: { TENSORZERO_URL: gateway }, model: null, now });
    await recordFeedback(store.db, { attemptId: null, metricName: METRICS.ciPassed, target: { type: "inference", id: v7() }, value: true }, now());
    const bodies: Record<string, unknown>[] = [];
    const scope = nock(gateway)
      .post("/feedback", (body: Record<string, unknown>) => (bodies.push(body), true))
      .reply(200, { feedback_id: v7() });

    const report = await withGateway.scheduled({});

    expect(report.tasks.find((task) => task.name === "drain-feedback-outbox")).toMatchObject({ ok: true, result: { sent: 1, retrying: 0, dead: 0 } });
    expect(bodies).toEqual([expect.objectContaining({ metric_name: METRICS.ciPassed, value: true })]);
    expect(scope.isDone()).toBe(true);
  });
});

/**
 * One runtime for every entry point: the job kinds fixloop enqueues have a
 * handler on every worker, the Lambda SQS worker runs an outcome job end to
 * end, `probot run` runs queued jobs, FIXLOOP_QUEUE is honoured, and a job
 * that names no installation ends the same way on node and on Lambda.
 */
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SendMessageCommand, SQSClient, type SendMessageCommandInput } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { asc } from "drizzle-orm";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { fixloopProbotEntry } from "../src/index.js";
import { createLambdaHandlers } from "../src/lambda.js";
import type { SqsEvent } from "../src/lambda/events.js";
import { createLibsqlQueue, createWorker, getJob, listJobs } from "../src/queue/index.js";
import { createSqsQueue, type SqsJobQueue } from "../src/queue/sqs.js";
import { createRuntime } from "../src/runtime.js";
import { feedback } from "../src/store/schema.js";
import { createTempStore, createTestProbot, fixture, sign, silentLog, WEBHOOK_SECRET, type TempStore } from "./helpers.js";
import { INFERENCE_ID, INSTALLATION, REPO, seedFixAttempt, seedUnsettledClosedFixPrs } from "./outcomes-setup.js";

const API = "https://api.github.com";
const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test-jobs";
const sqsMock = mockClient(SQSClient);

let store: TempStore;
let sqsQueue: SqsJobQueue;

beforeEach(async () => {
  sqsMock.reset();
  let n = 0;
  sqsMock.on(SendMessageCommand).callsFake(() => ({ MessageId: `msg-${++n}` }));
  store = await createTempStore();
  const client = new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  sqsQueue = createSqsQueue({ store, client, queueUrl: QUEUE_URL });
});
afterEach(() => store.dispose());

function sent(): SendMessageCommandInput[] {
  return sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
}

function sqsEvent(messages: SendMessageCommandInput[]): SqsEvent {
  return {
    Records: messages.map((m, i) => ({ messageId: `record-${i}`, receiptHandle: `receipt-${i}`, body: m.MessageBody!, attributes: { ApproximateReceiveCount: "1" } })),
  };
}

function lambdaHandlers() {
  return createLambdaHandlers({ store, queue: sqsQueue, probot: createTestProbot(), env: {}, model: null });
}

/** Every `.enqueue(kind, …)` in src/, with the kind constants it names resolved through their `export const X_JOB = "…"`. */
function enqueuedKinds(): { kinds: Set<string>; unresolved: string[] } {
  const root = join(import.meta.dirname, "..", "src");
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  const sources = files.map((f) => ({ file: f, text: readFileSync(join(root, f), "utf8") }));
  const constants = new Map<string, string>();
  for (const { text } of sources) for (const m of text.matchAll(/export const (\w+_JOB) = "([^"]+)"/g)) constants.set(m[1], m[2]);
  const kinds = new Set<string>();
  const unresolved: string[] = [];
  // The queue's own modules pass a caller's kind through; the kinds come from their callers.
  for (const { file, text } of sources.filter((s) => !s.file.startsWith("queue/"))) {
    for (const m of text.matchAll(/\.enqueue\(\s*([^,]+),/g)) {
      const expression = m[1];
      const named = [...expression.matchAll(/\b[A-Z][A-Z0-9_]*_JOB\b/g)].map((c) => constants.get(c[0]));
      const literals = [...expression.matchAll(/"([^"]+)"/g)].map((c) => c[1]);
      const found = [...named, ...literals];
      if (found.length === 0 || found.includes(undefined)) unresolved.push(`${file}: enqueue(${expression}, …)`);
      for (const kind of found) if (kind) kinds.add(kind);
    }
  }
  return { kinds, unresolved };
}

describe("job kinds", () => {
  test("every kind any handler enqueues has a handler in the in-process worker and in the SQS worker", async () => {
    const { kinds, unresolved } = enqueuedKinds();
    // A kind the scan cannot name would slip past this test: enqueue with a *_JOB constant or a literal.
    expect(unresolved).toEqual([]);
    expect([...kinds].sort()).toEqual(["command", "fix", "fix-follow-up", "fix-moved-on", "outcome-backfill", "outcome-held-up", "outcome-merged"]);

    // The payload is nonsense on purpose: each handler refuses it in its own way, and none may be missing.
    const noHandler = (error: string | null) => /no handler for job kind/.test(error ?? "");

    const runtime = await createRuntime({ probot: createTestProbot(), env: {}, store, queue: { kind: "libsql", queue: createLibsqlQueue(store) }, model: null });
    const queue = createLibsqlQueue(store);
    for (const kind of kinds) await queue.enqueue(kind, { nonsense: true }, { maxAttempts: 1 });
    const worker = createWorker({ store, handlers: runtime.jobHandlers, log: silentLog(), concurrency: 1 });
    expect(await worker.runDue()).toBe(kinds.size);
    const inProcess = await listJobs(store);
    expect(inProcess.filter((j) => noHandler(j.lastError)).map((j) => j.kind)).toEqual([]);
    expect(inProcess.every((j) => j.status !== "queued" && j.status !== "running")).toBe(true);

    const sqsStart = sent().length;
    for (const kind of kinds) await sqsQueue.enqueue(kind, { nonsense: true }, { maxAttempts: 1 });
    const response = await lambdaHandlers().worker(sqsEvent(sent().slice(sqsStart)));
    expect(response.batchItemFailures).toEqual([]);
    const onLambda = (await listJobs(store)).filter((j) => !inProcess.some((p) => p.id === j.id));
    expect(onLambda).toHaveLength(kinds.size);
    expect(onLambda.filter((j) => noHandler(j.lastError)).map((j) => j.kind)).toEqual([]);
  });
});

describe("Lambda", () => {
  const EDITED = `diff --git a/src/parser.ts b/src/parser.ts
--- a/src/parser.ts
+++ b/src/parser.ts
@@ -10,6 +10,7 @@ export function parse(input: string): Widget[] {
   const tokens = lex(input);
   if (tokens.length === 0) return [];
+  if (tokens[0].value === undefined) return [];
   const token = tokens[0];
-  const depth = token.value;
+  const depth = Number(token.value);
   return build(tokens, depth);
 }
`;

  test("the SQS worker runs an outcome job end to end: webhook → SQS → worker → GitHub → feedback outbox", async () => {
    const lambda = lambdaHandlers();
    const attempt = await seedFixAttempt(store.db);
    const body = JSON.stringify(fixture("pull_request.closed.fix-merged.json"));
    const answer = await lambda.webhook({
      version: "2.0",
      rawPath: "/api/github/webhooks",
      headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body) },
      body,
      requestContext: { http: { method: "POST", path: "/api/github/webhooks" } },
    });
    expect(answer.statusCode).toBe(200);
    const merged = sent().filter((m) => JSON.parse(m.MessageBody!).kind === "outcome-merged");
    expect(merged).toHaveLength(1);

    const github = nock(API)
      .post(`/app/installations/${INSTALLATION}/access_tokens`)
      .reply(201, { token: "ghs_installation-token-for-tests", expires_at: "2099-01-01T00:00:00Z" })
      .get("/repos/acme/widgets/pulls/57")
      .matchHeader("accept", "application/vnd.github.v3.diff")
      .reply(200, EDITED, { "content-type": "text/plain" });
    const response = await lambda.worker(sqsEvent(merged));
    expect(response.batchItemFailures).toEqual([]);
    github.done();

    const job = await getJob(store, JSON.parse(merged[0].MessageBody!).jobId);
    expect(job).toMatchObject({ kind: "outcome-merged", status: "done", result: { status: "edited", feedbackCreated: true } });
    const rows = await store.db.select().from(feedback).orderBy(asc(feedback.id));
    expect(rows.filter((r) => r.metricName === "demonstration")).toEqual([
      expect.objectContaining({ attemptId: attempt.id, targetType: "inference", targetId: INFERENCE_ID, status: "pending" }),
    ]);
  });
});

describe("periodic chores", () => {
  test("the time budget a schedule hands the chores reaches the outcome checks and the inbox drain", async () => {
    await seedUnsettledClosedFixPrs(store.db, 3);
    const runtime = await createRuntime({ probot: createTestProbot(), env: {}, store, queue: { kind: "libsql", queue: createLibsqlQueue(store) }, model: null });
    const chore = (name: string) => runtime.periodicTasks.find((task) => task.name === name)!;
    const spent = { remainingMs: () => 0 };
    expect(await chore("drain-delivery-inbox").run(new Date(), spent)).toEqual({ processed: 0 });
    let left = 1;
    const oneMore = { remainingMs: () => (left-- > 0 ? 1_000 : 0) };
    expect(await chore("periodic-outcome-checks").run(new Date(), oneMore)).toMatchObject({ settled: 1, stoppedEarly: true });
    expect(await chore("periodic-outcome-checks").run(new Date())).toMatchObject({ settled: 2, stoppedEarly: false });
    runtime.close();
  });
});

describe("a job that names no installation", () => {
  test("fails once with the same reason in the in-process worker and in the SQS worker", async () => {
    // A merged fix whose attempt lost its installation id: the outcome job has to read the PR's diff from GitHub.
    await seedFixAttempt(store.db, { installationId: null });
    const body = JSON.stringify(fixture("pull_request.closed.fix-merged.json"));
    const lambda = lambdaHandlers();
    await lambda.webhook({
      rawPath: "/api/github/webhooks",
      headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body) },
      body,
      requestContext: { http: { method: "POST", path: "/api/github/webhooks" } },
    });
    const merged = sent().filter((m) => JSON.parse(m.MessageBody!).kind === "outcome-merged");
    expect((await lambda.worker(sqsEvent(merged))).batchItemFailures).toEqual([]);
    const onLambda = await getJob(store, JSON.parse(merged[0].MessageBody!).jobId);

    const runtime = await createRuntime({ probot: createTestProbot(), env: {}, store, queue: { kind: "libsql", queue: createLibsqlQueue(store) }, model: null });
    const { id } = await createLibsqlQueue(store).enqueue("outcome-merged", { repo: REPO, prNumber: 57 });
    await createWorker({ store, handlers: runtime.jobHandlers, log: silentLog(), concurrency: 1 }).runDue();
    const inProcess = await getJob(store, id);

    for (const job of [onLambda, inProcess]) {
      expect(job).toMatchObject({ status: "failed", attempts: 1, lastError: "NoInstallationError: the job names no GitHub App installation: cannot act on GitHub for it" });
    }
  });
});

describe("entry points", () => {
  test("`probot run` (Probot's own server) runs a queued job with the runtime's worker", async () => {
    const { id } = await createLibsqlQueue(store).enqueue("outcome-merged", { repo: REPO, prNumber: 404 });
    const entry = fixloopProbotEntry({ env: { FIXLOOP_WORKER_CONCURRENCY: "1", WEBHOOK_SECRET }, store });
    // `probot run` is run(appFn): a Server whose load hands the app an addHandler; the same here, with the test's Probot.
    const probot = createTestProbot();
    const handlers: unknown[] = [];
    await probot.load(entry, { cwd: process.cwd(), addHandler: (handler) => void handlers.push(handler) });
    try {
      expect(handlers.length).toBeGreaterThan(0);
      await expect.poll(async () => (await getJob(store, id))?.status, { timeout: 10_000 }).toBe("skipped");
      expect((await getJob(store, id))?.result).toEqual({ reason: "not a merged fix PR" });
    } finally {
      await entry.stop();
    }
  });

  test("`probot receive` (no server) handles the delivery and starts no worker", async () => {
    const { id } = await createLibsqlQueue(store).enqueue("outcome-merged", { repo: REPO, prNumber: 404 });
    const entry = fixloopProbotEntry({ env: {}, store });
    const probot = createTestProbot();
    await probot.load(entry, {
      cwd: process.cwd(),
      addHandler: () => {
        throw new Error("No server instance");
      },
    });
    try {
      await probot.receive({ id: "receive-1", name: "pull_request", payload: fixture("pull_request.opened.json") as never });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await getJob(store, id))?.status).toBe("queued");
    } finally {
      await entry.stop();
    }
  });

  test("FIXLOOP_QUEUE=sqs on a server: jobs go to SQS and no in-process worker takes them", async () => {
    const runtime = await createRuntime({
      probot: createTestProbot(),
      env: { FIXLOOP_QUEUE: "sqs", FIXLOOP_SQS_QUEUE_URL: QUEUE_URL, AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" },
      store,
      model: null,
    });
    expect(runtime.queue.kind).toBe("sqs");
    expect(runtime.periodicTasks.map((t) => t.name)).toEqual(["resend-stranded-jobs", "drain-delivery-inbox", "drain-feedback-outbox", "periodic-outcome-checks"]);
    const { id } = await runtime.queue.queue.enqueue("outcome-merged", { repo: REPO, prNumber: 404 });
    expect(sent().map((m) => JSON.parse(m.MessageBody!).jobId)).toEqual([id]);
    const background = runtime.startBackground();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await background.stop();
    expect((await getJob(store, id))?.status).toBe("queued");
  });

  test("without FIXLOOP_QUEUE the jobs table is the queue, and an unknown value is refused", async () => {
    const runtime = await createRuntime({ probot: createTestProbot(), env: {}, store, model: null });
    expect(runtime.queue.kind).toBe("libsql");
    expect(runtime.periodicTasks.map((t) => t.name)).toEqual(["drain-delivery-inbox", "drain-feedback-outbox", "periodic-outcome-checks"]);
    await expect(createRuntime({ probot: createTestProbot(), env: { FIXLOOP_QUEUE: "redis" }, store, model: null })).rejects.toThrow(/FIXLOOP_QUEUE must be one of libsql, sqs/);
  });
});

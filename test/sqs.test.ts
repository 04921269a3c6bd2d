/**
 * The SQS job queue with the real AWS SDK client; only its transport is
 * mocked (aws-sdk-client-mock), so the commands built are the ones AWS would
 * receive. The jobs table is a real libSQL file.
 */
import { createHash } from "node:crypto";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { getJob, listJobs, retryJob, settleJob } from "../src/queue/index.js";
import { queueFromEnv, queueKindFromEnv } from "../src/queue/select.js";
import {
  claimJobById,
  createSqsQueue,
  decodeJobMessage,
  delaySecondsUntil,
  encodeJobMessage,
  redispatchStrandedJobs,
  SQS_MAX_DELAY_SECONDS,
} from "../src/queue/sqs.js";
import { jobs } from "../src/store/schema.js";
import { createTempStore, type TempStore } from "./helpers.js";

const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test-jobs";
const FIFO_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/fixloop-test-jobs.fifo";
const START = Date.parse("2025-03-01T12:00:00.000Z");

const sqsMock = mockClient(SQSClient);
let store: TempStore;
let t: number;
const now = () => new Date(t);

function client() {
  return new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
}

function sent() {
  return sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
}

beforeEach(async () => {
  sqsMock.reset();
  let n = 0;
  sqsMock.on(SendMessageCommand).callsFake(() => ({ MessageId: `msg-${++n}` }));
  store = await createTempStore();
  t = START;
});
afterEach(() => store.dispose());

describe("enqueue on a standard queue", () => {
  test("inserts the row, then sends one message naming it", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    const payload = { repo: "acme/widgets", runId: "77" };
    const job = await queue.enqueue("fix", payload, { dedupKey: "fix:acme/widgets:77:1", maxAttempts: 3 });

    expect(job).toEqual({ id: job.id, created: true });
    expect(await getJob(store, job.id)).toMatchObject({ kind: "fix", status: "queued", attempts: 0, maxAttempts: 3, dedupKey: "fix:acme/widgets:77:1" });
    expect(sent()).toEqual([{ QueueUrl: QUEUE_URL, MessageBody: expect.any(String), DelaySeconds: 0 }]);
    expect(JSON.parse(sent()[0].MessageBody!)).toEqual({ fixloop: 1, jobId: job.id, kind: "fix", dedupKey: "fix:acme/widgets:77:1", payload });
  });

  test("the same dedup key again yields the existing job and sends nothing", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    const first = await queue.enqueue("fix", { n: 1 }, { dedupKey: "k" });
    const again = await queue.enqueue("fix", { n: 2 }, { dedupKey: "k" });
    expect(again).toEqual({ id: first.id, created: false });
    expect(sent()).toHaveLength(1);
    expect(await listJobs(store)).toHaveLength(1);
  });

  test("racing enqueues of one key (two webhook functions at once) send exactly one message", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => queue.enqueue("fix", { i }, { dedupKey: "same-run" })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(sent()).toHaveLength(1);
  });

  test("runAfter becomes DelaySeconds, capped at SQS's 15 minutes", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    await queue.enqueue("fix", {}, { runAfter: new Date(START + 90_500) });
    await queue.enqueue("fix", {}, { runAfter: new Date(START + 3 * 3600_000) });
    expect(sent().map((m) => m.DelaySeconds)).toEqual([91, SQS_MAX_DELAY_SECONDS]);
  });

  test("a failed send leaves the queued row for the sweep and reports the error", async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error("ServiceUnavailable"));
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    await expect(queue.enqueue("fix", {}, { dedupKey: "k" })).rejects.toThrow(/ServiceUnavailable/);
    const [row] = await listJobs(store);
    expect(row).toMatchObject({ status: "queued", dedupKey: "k" });
  });
});

describe("enqueue on a FIFO queue", () => {
  test("groups by repository and dedups on a hash of the key; no per-message delay", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: FIFO_URL, now });
    expect(queue.fifo).toBe(true);
    await queue.enqueue("fix", { repo: "Acme/Widgets" }, { dedupKey: "fix:1", runAfter: new Date(START + 60_000) });
    await queue.enqueue("fix-follow-up", { other: true });
    const [first, second] = sent();
    expect(first).toEqual({
      QueueUrl: FIFO_URL,
      MessageBody: expect.any(String),
      MessageGroupId: "acme/widgets",
      MessageDeduplicationId: createHash("sha256").update("fix:1").digest("hex"),
    });
    expect(first.DelaySeconds).toBeUndefined();
    expect(second.MessageGroupId).toBe("kind:fix-follow-up");
    expect(second.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a resend of the same job is a new message (not swallowed by FIFO dedup)", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: FIFO_URL, now });
    const { id } = await queue.enqueue("fix", { repo: "acme/widgets" }, { dedupKey: "fix:1" });
    const row = (await getJob(store, id))!;
    await queue.dispatch(row, "resend");
    await queue.dispatch({ ...row, runAfter: new Date(START + 5_000).toISOString() }, "resend");
    const ids = sent().map((m) => m.MessageDeduplicationId);
    expect(new Set(ids).size).toBe(3);
  });
});

describe("messages", () => {
  test("decode takes back what encode wrote and refuses anything else", () => {
    const body = encodeJobMessage({ id: 7, kind: "fix", payload: { a: 1 }, dedupKey: null, runAfter: "2025-03-01T12:00:00.000Z" });
    expect(decodeJobMessage(body)).toEqual({ jobId: 7, kind: "fix" });
    for (const foreign of ["", "not json", "{}", '{"jobId":7,"kind":"fix"}', '{"fixloop":1,"jobId":-1,"kind":"fix"}', '{"fixloop":1,"jobId":"7","kind":"fix"}', "[1]"]) {
      expect(decodeJobMessage(foreign), foreign).toBeNull();
    }
  });

  test("delaySecondsUntil rounds up, never goes below zero or above the SQS maximum", () => {
    const at = new Date(START);
    expect(delaySecondsUntil(new Date(START - 5_000), at)).toBe(0);
    expect(delaySecondsUntil(new Date(START + 1), at)).toBe(1);
    expect(delaySecondsUntil(new Date(START + 900_000), at)).toBe(900);
    expect(delaySecondsUntil(new Date(START + 900_001), at)).toBe(900);
    expect(delaySecondsUntil("not a date", at)).toBe(0);
  });
});

describe("claimJobById", () => {
  test("claims a due job once, counting an attempt; a second claim gets nothing", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    const { id } = await queue.enqueue("fix", {});
    const claimed = await claimJobById(store, id, "w1", 60_000, now());
    expect(claimed).toMatchObject({ id, status: "running", attempts: 1, leaseOwner: "w1", leaseExpiresAt: new Date(START + 60_000).toISOString() });
    expect(await claimJobById(store, id, "w2", 60_000, now())).toBeNull();
  });

  test("a job not yet due, finished or unknown cannot be claimed", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    const later = await queue.enqueue("fix", {}, { runAfter: new Date(START + 60_000) });
    const done = await queue.enqueue("fix", {});
    await claimJobById(store, done.id, "w", 60_000, now());
    await settleJob(store, done.id, "w", { status: "done", result: null }, now());
    expect(await claimJobById(store, later.id, "w", 60_000, now())).toBeNull();
    expect(await claimJobById(store, done.id, "w", 60_000, now())).toBeNull();
    expect(await claimJobById(store, 999_999, "w", 60_000, now())).toBeNull();
  });

  test("a running job whose lease expired is taken over, and the takeover is recorded", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    const { id } = await queue.enqueue("fix", {});
    await claimJobById(store, id, "crashed", 1_000, now());
    t += 1_001;
    const taken = await claimJobById(store, id, "second", 60_000, now());
    expect(taken).toMatchObject({ attempts: 2, leaseOwner: "second" });
    expect(taken!.lastError).toMatch(/lease of crashed expired/);
  });
});

describe("redispatchStrandedJobs", () => {
  test("resends only jobs long past due: not fresh ones, future ones, running ones or finished ones", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    const stranded = await queue.enqueue("fix", { n: "stranded" });
    const running = await queue.enqueue("fix", { n: "running" });
    await claimJobById(store, running.id, "w", 30 * 60_000, now());
    const future = await queue.enqueue("fix", { n: "future" }, { runAfter: new Date(START + 60 * 60_000) });
    const finished = await queue.enqueue("fix", { n: "finished" });
    await claimJobById(store, finished.id, "w2", 60_000, now());
    await settleJob(store, finished.id, "w2", { status: "done", result: null }, now());
    t += 11 * 60_000;
    const fresh = await queue.enqueue("fix", { n: "fresh" });
    sqsMock.resetHistory();

    const resent = await redispatchStrandedJobs(store, queue, { now: now() });

    expect(resent).toEqual([stranded.id]);
    expect(sent()).toHaveLength(1);
    expect(JSON.parse(sent()[0].MessageBody!)).toMatchObject({ jobId: stranded.id });
    const untouched = await Promise.all([running.id, future.id, finished.id, fresh.id].map((id) => getJob(store, id)));
    expect(untouched.map((j) => j!.status)).toEqual(["running", "queued", "done", "queued"]);
  });

  test("a job put back by `fixloop jobs retry` reaches SQS through the sweep", async () => {
    const queue = createSqsQueue({ store, client: client(), queueUrl: QUEUE_URL, now });
    const { id } = await queue.enqueue("fix", {});
    await claimJobById(store, id, "w", 60_000, now());
    await settleJob(store, id, "w", { status: "dead", error: "gave up" }, now());
    await retryJob(store, id, now());
    sqsMock.resetHistory();
    t += 11 * 60_000;
    expect(await redispatchStrandedJobs(store, queue, { now: now() })).toEqual([id]);
    const [row] = await store.db.select().from(jobs).where(eq(jobs.id, id));
    expect(row.status).toBe("queued");
  });
});

describe("queue chosen by configuration", () => {
  test("libsql by default; sqs with a queue URL; anything else refused", () => {
    expect(queueKindFromEnv({})).toBe("libsql");
    expect(queueKindFromEnv({ FIXLOOP_QUEUE: " SQS " })).toBe("sqs");
    expect(() => queueKindFromEnv({ FIXLOOP_QUEUE: "redis" })).toThrow(/libsql, sqs/);
    expect(queueFromEnv(store, { env: {} }).kind).toBe("libsql");
    expect(() => queueFromEnv(store, { env: { FIXLOOP_QUEUE: "sqs" } })).toThrow(/FIXLOOP_SQS_QUEUE_URL/);
    const selected = queueFromEnv(store, { env: { FIXLOOP_QUEUE: "sqs", FIXLOOP_SQS_QUEUE_URL: QUEUE_URL } });
    expect(selected.kind).toBe("sqs");
    if (selected.kind === "sqs") expect(selected.queue.queueUrl).toBe(QUEUE_URL);
  });

  test("the region is taken from the queue URL when AWS_REGION is unset", async () => {
    const selected = queueFromEnv(store, { env: { FIXLOOP_QUEUE: "sqs", FIXLOOP_SQS_QUEUE_URL: "https://sqs.ap-south-2.amazonaws.com/1/q" } });
    if (selected.kind !== "sqs") throw new Error("expected sqs");
    expect(await selected.queue.client.config.region()).toBe("ap-south-2");
  });

  test("the libSQL queue selected by default sends nothing to SQS", async () => {
    const { queue } = queueFromEnv(store, { env: {}, now });
    await queue.enqueue("fix", {}, { dedupKey: "k" });
    expect(sent()).toHaveLength(0);
    expect(await listJobs(store)).toHaveLength(1);
  });
});

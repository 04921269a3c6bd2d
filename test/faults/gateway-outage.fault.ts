/**
 * Fault: the TensorZero gateway is unreachable for a while (its port refuses
 * connections). Three red runs are queued and four feedback rows wait in the
 * outbox. With the real worker loop and the real feedback sender running,
 * fix jobs wait behind the circuit breaker without using up attempts and
 * feedback stays pending; when the gateway is back on the same port, both
 * drain: every job done with one inference and one PR, every feedback row
 * sent exactly once. Nothing lost, nothing doubled.
 */
import { v7 as uuidv7 } from "uuid";
import { afterEach, expect, test } from "vitest";
import { createTensorZeroModelClient, type ModelClientEvent } from "../../src/fix/model.js";
import { fixJobHandlers } from "../../src/fix/pipeline.js";
import { createFeedbackSender, type FeedbackSender } from "../../src/outcomes/outbox.js";
import { recordFeedback } from "../../src/store/feedback.js";
import { createWorker, type Worker } from "../../src/queue/index.js";
import { feedback, fixAttempts, jobs } from "../../src/store/schema.js";
import { startTestServer, type TestServer } from "../helpers.js";
import { startFakeGitHub, type FakeGitHub } from "./support/fake-github.js";
import { startFakeTensorZero, type FakeTensorZero } from "./support/fake-tensorzero.js";
import { fixDeps, JOB_LOG, MODEL_ANSWER, probotFor, REPO_CONFIG, REPO_FILES, redRunPayload, report, shaOf, silentLog, waitFor } from "./support/scenario.js";

const OUTAGE_MS = 2_500;
const COOL_DOWN_MS = 400;
const RUNS = 3;

let server: TestServer | undefined;
let github: FakeGitHub | undefined;
let gateway: FakeTensorZero | undefined;
let worker: Worker | undefined;
let sender: FeedbackSender | undefined;

afterEach(async () => {
  await worker?.stop();
  await sender?.stop();
  await github?.close();
  await gateway?.close();
  await server?.close();
  server = github = gateway = worker = sender = undefined;
});

test("gateway unreachable for a while: jobs wait (breaker), feedback stays pending, both drain when it is back", async () => {
  github = await startFakeGitHub({ files: REPO_FILES, config: REPO_CONFIG, jobLog: JOB_LOG });
  gateway = await startFakeTensorZero(() => MODEL_ANSWER);
  server = await startTestServer();
  const { store } = server;
  const db = store.db;

  for (let i = 0; i < RUNS; i++) {
    const answer = await server.deliver("workflow_run", redRunPayload({ runId: 9_300_000_000 + i, headSha: shaOf(0xbeef0000 + i) }));
    expect(answer.note).toMatch(/^fix job \d+ enqueued$/);
  }
  // Outcomes of earlier fixes, waiting to be reported.
  const earlier = [
    { attemptId: null, metricName: "fixloop_ci_passed", target: { type: "inference" as const, id: uuidv7() }, value: true },
    { attemptId: null, metricName: "fixloop_ci_passed", target: { type: "inference" as const, id: uuidv7() }, value: false },
    { attemptId: null, metricName: "fixloop_pr_merged", target: { type: "episode" as const, id: uuidv7() }, value: true },
    { attemptId: null, metricName: "comment", target: { type: "episode" as const, id: uuidv7() }, value: "LGTM, merged", dedupKey: "review-1" },
  ];
  for (const item of earlier) await recordFeedback(db, item);

  await gateway.down();
  const events: ModelClientEvent[] = [];
  const model = createTensorZeroModelClient({
    gateway: { url: gateway.url },
    retry: { maxRetries: 1, baseDelayMs: 20, maxDelayMs: 100 },
    breaker: { failureThreshold: 2, coolDownMs: COOL_DOWN_MS },
    onEvent: (event) => events.push(event),
  });
  const probot = probotFor(github.url);
  worker = createWorker({ store, handlers: fixJobHandlers(fixDeps(store, probot, model)), concurrency: 2, leaseMs: 10_000, pollMs: 50, log: silentLog() });
  sender = createFeedbackSender({
    store,
    gateway: { url: gateway.url },
    intervalMs: 100,
    policy: { unavailable: { baseMs: 100, factor: 2, capMs: 400, jitter: 0.1 } },
    log: silentLog(),
  });
  const outageStarted = performance.now();
  worker.start();
  sender.start();

  // During the outage: sample the tables; nothing may finish, fail or use up attempts.
  const seenJobStatuses = new Set<string>();
  const seenFeedbackStatuses = new Set<string>();
  let maxAttempts = 0;
  let samples = 0;
  while (performance.now() - outageStarted < OUTAGE_MS) {
    for (const job of await db.select().from(jobs)) {
      seenJobStatuses.add(job.status);
      maxAttempts = Math.max(maxAttempts, job.attempts);
    }
    for (const row of await db.select().from(feedback)) seenFeedbackStatuses.add(row.status);
    samples++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const jobRunsDuringOutage = github.count("GET", /\/contents\/\.github%2Ffixloop\.yml$/);
  const githubRequestsDuringOutage = github.requests.length;
  const breakerOpenings = events.filter((e) => e.type === "breaker_opened").length;
  const jobsAtEnd = await db.select().from(jobs);
  const attemptsAtEnd = await db.select().from(fixAttempts);
  const feedbackAtEnd = await db.select().from(feedback);
  const pullsAtEnd = github.pulls.length;

  await gateway.up();
  const backAt = performance.now();
  await waitFor("every job done and every feedback row sent", async () => {
    const statuses = (await db.select({ status: jobs.status }).from(jobs)).map((j) => j.status);
    const pending = (await db.select({ status: feedback.status }).from(feedback)).filter((f) => f.status !== "sent");
    return statuses.every((s) => s === "done") && pending.length === 0;
  }, 30_000);
  const drainedMs = performance.now() - backAt;
  await worker.stop();
  await sender.stop();

  const finalJobs = await db.select().from(jobs);
  const finalAttempts = await db.select().from(fixAttempts);
  const finalFeedback = await db.select().from(feedback);
  const gatewayFeedbackKeys = gateway.feedback.map((f) => `${f.body.metric_name}:${f.body.inference_id ?? f.body.episode_id}`);

  report(
    "gateway outage",
    `${OUTAGE_MS} ms unreachable (connection refused), ${samples} samples: job statuses seen ${[...seenJobStatuses].join("/")}, max attempts column ${maxAttempts}, ${jobRunsDuringOutage} job runs ended in "wait" (${githubRequestsDuringOutage} GitHub requests meanwhile), breaker opened ${breakerOpenings}×; ` +
      `at the end of the outage: jobs ${jobsAtEnd.map((j) => `${j.status}/attempts ${j.attempts}`).join(", ")}; fix attempts ${[...new Set(attemptsAtEnd.map((a) => a.status))].join("/")} ("${attemptsAtEnd[0]?.reason?.slice(0, 60)}…"); feedback ${feedbackAtEnd.map((f) => `${f.status}/tries ${f.tries}`).join(", ")}; ` +
      `back up → drained in ${Math.round(drainedMs)} ms: jobs ${finalJobs.map((j) => `${j.status}/attempts ${j.attempts}`).join(", ")}; inferences ${gateway.inferences.length}; PRs ${github.pulls.length}; feedback rows ${finalFeedback.length} (${finalFeedback.filter((f) => f.status === "sent").length} sent), gateway received ${gateway.feedback.length} (${new Set(gatewayFeedbackKeys).size} distinct)`,
  );

  // While down: waiting, never failing; attempts given back; feedback untouched except for tries.
  expect([...seenJobStatuses].every((s) => s === "queued" || s === "running")).toBe(true);
  expect(maxAttempts).toBeLessThanOrEqual(1);
  expect(jobRunsDuringOutage).toBeGreaterThanOrEqual(RUNS);
  expect(breakerOpenings).toBeGreaterThanOrEqual(1);
  expect(jobsAtEnd.every((j) => j.attempts <= 1 && (j.status === "queued" || j.status === "running"))).toBe(true);
  expect(jobsAtEnd.filter((j) => j.status === "queued").every((j) => j.attempts === 0 && /^waiting: gateway unavailable/.test(j.lastError ?? ""))).toBe(true);
  expect(attemptsAtEnd.every((a) => a.inferenceId === null && a.prNumber === null)).toBe(true);
  expect([...seenFeedbackStatuses]).toEqual(["pending"]);
  expect(feedbackAtEnd).toHaveLength(earlier.length);
  expect(feedbackAtEnd.some((f) => f.tries > 0)).toBe(true);
  expect(pullsAtEnd).toBe(0);

  // Back up: everything drained once.
  expect(finalJobs.map((j) => [j.status, j.attempts])).toEqual(Array.from({ length: RUNS }, () => ["done", 1]));
  expect(finalAttempts.map((a) => a.status)).toEqual(Array.from({ length: RUNS }, () => "awaiting_ci"));
  expect(gateway.inferences).toHaveLength(RUNS);
  expect(github.pulls).toHaveLength(RUNS);
  expect(new Set(finalAttempts.map((a) => a.prNumber)).size).toBe(RUNS);
  expect(github.unexpected).toEqual([]);
  expect(finalFeedback).toHaveLength(earlier.length + RUNS);
  expect(finalFeedback.every((f) => f.status === "sent" && f.gatewayFeedbackId)).toBe(true);
  expect(gateway.feedback).toHaveLength(earlier.length + RUNS);
  expect(new Set(gatewayFeedbackKeys).size).toBe(earlier.length + RUNS);
  for (const item of earlier) expect(gatewayFeedbackKeys).toContain(`${item.metricName}:${item.target.id}`);
  for (const attempt of finalAttempts) expect(gatewayFeedbackKeys).toContain(`fixloop_patch_applied:${attempt.inferenceId}`);
});

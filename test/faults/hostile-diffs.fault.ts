/**
 * Fault: the model answers with a hostile diff. Each answer in the corpus
 * (support/hostile-diffs.ts) goes through the whole fix job: real server,
 * real worker and pipeline, the repository served by the fake GitHub, the
 * model replaced by one that returns that answer. Expected for every one: the
 * attempt fails with a refusal ("patch refused: …" or "patch does not
 * apply: …"), fixloop_patch_applied = false goes to the outbox, and nothing
 * is written to GitHub. A benign answer through the same harness is published,
 * so the refusals are about the diffs.
 */
import { eq } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ModelClient, PatchInferenceRequest } from "../../src/fix/model.js";
import { fixJobHandlers } from "../../src/fix/pipeline.js";
import { createWorker } from "../../src/queue/index.js";
import { feedback, fixAttempts, type FixAttempt } from "../../src/store/schema.js";
import { startTestServer, type TestServer } from "../helpers.js";
import { startFakeGitHub, type FakeGitHub } from "./support/fake-github.js";
import { HOSTILE_DIFFS } from "./support/hostile-diffs.js";
import { fixDeps, JOB_LOG, MODEL_ANSWER, probotFor, REPO_CONFIG, REPO_FILES, redRunPayload, report, shaOf, silentLog } from "./support/scenario.js";

const FIRST_RUN = 9_400_000_000;
const REFUSAL = /^patch (refused|does not apply): /;

let server: TestServer;
let github: FakeGitHub;
/** Run id → the answer the model gives for it. */
const answers = new Map<string, string>();
const attemptsByCase = new Map<string, FixAttempt>();
const feedbackByCase = new Map<string, { metric: string; value: unknown }[]>();
const writesByCase = new Map<string, string[]>();
/** The one write a refusal makes: its reasons as a comment on the PR whose run failed (#42 in the scenario). */
const REFUSAL_COMMENT = "POST /repos/acme/widgets/issues/42/comments";
let writesDuringCorpus: string[] = [];

const model: ModelClient = {
  async proposePatch(request: PatchInferenceRequest) {
    const content = answers.get(request.tags.run);
    if (content === undefined) throw new Error(`no answer for run ${request.tags.run}`);
    return {
      inferenceId: uuidv7(),
      episodeId: request.episodeId ?? uuidv7(),
      variant: "hostile",
      model: "tensorzero::function_name::fixloop_patch::variant_name::hostile",
      content,
      usage: { inputTokens: 100, outputTokens: 100 },
      finishReason: "stop",
      budgetFactor: 1,
      requests: 1,
    };
  },
};

async function runCase(runId: number, answer: string): Promise<FixAttempt> {
  answers.set(String(runId), answer);
  const delivered = await server.deliver("workflow_run", redRunPayload({ runId, headSha: shaOf(runId % 0xffffffff) }));
  expect(delivered.note).toMatch(/^fix job \d+ enqueued$/);
  const worker = createWorker({ store: server.store, handlers: fixJobHandlers(fixDeps(server.store, probotFor(github.url), model)), concurrency: 1, log: silentLog() });
  expect(await worker.runDue()).toBe(1);
  const [attempt] = await server.store.db.select().from(fixAttempts).where(eq(fixAttempts.triggerRunId, String(runId)));
  return attempt;
}

beforeAll(async () => {
  github = await startFakeGitHub({ files: REPO_FILES, config: REPO_CONFIG, jobLog: JOB_LOG });
  server = await startTestServer();
  for (const [index, hostile] of HOSTILE_DIFFS.entries()) {
    const writesBefore = github.writes().length;
    const attempt = await runCase(FIRST_RUN + index, hostile.answer);
    writesByCase.set(hostile.name, github.writes().slice(writesBefore));
    attemptsByCase.set(hostile.name, attempt);
    const rows = attempt ? await server.store.db.select().from(feedback).where(eq(feedback.attemptId, attempt.id)) : [];
    feedbackByCase.set(hostile.name, rows.map((row) => ({ metric: row.metricName, value: row.value })));
  }
  writesDuringCorpus = github.writes();
});

afterAll(async () => {
  await github?.close();
  await server?.close();
});

describe(`hostile diffs (${HOSTILE_DIFFS.length})`, () => {
  test.each(HOSTILE_DIFFS.map((h) => h.name))("%s → refused", (name) => {
    const attempt = attemptsByCase.get(name);
    const writes = writesByCase.get(name) ?? [];
    const outcome = attempt?.status === "failed" ? `refused: ${attempt.reason}` : `NOT refused: attempt ${attempt?.status}, PR #${attempt?.prNumber}, ${writes.length} GitHub writes`;
    report(`hostile diff "${name}"`, outcome);
    // A safety refusal is explained on the PR whose run failed, once; nothing else reaches GitHub.
    expect(writes.filter((w) => w !== REFUSAL_COMMENT)).toEqual([]);
    expect(writes.filter((w) => w === REFUSAL_COMMENT).length).toBeLessThanOrEqual(1);
    expect(attempt?.status).toBe("failed");
    expect(attempt?.reason).toMatch(REFUSAL);
    expect(attempt?.prNumber).toBeNull();
    expect(feedbackByCase.get(name)).toEqual([{ metric: "fixloop_patch_applied", value: false }]);
  });

  test("nothing but the refusal comments was written to GitHub for any of them", () => {
    const refused = [...attemptsByCase.values()].filter((a) => a.status === "failed" && REFUSAL.test(a.reason ?? "")).length;
    report("hostile diffs", `${HOSTILE_DIFFS.length} answers, ${refused} refused, ${HOSTILE_DIFFS.length - refused} not refused; GitHub writes during the corpus: ${writesDuringCorpus.length}${writesDuringCorpus.length ? ` (${writesDuringCorpus.join(", ")})` : ""}; unexpected GitHub requests: ${github.unexpected.length}`);
    expect(writesDuringCorpus.filter((w) => w !== REFUSAL_COMMENT)).toEqual([]);
    expect(writesDuringCorpus.length).toBeLessThanOrEqual(HOSTILE_DIFFS.length);
    expect(github.unexpected).toEqual([]);
  });

  test("control: the benign fix through the same harness is published", async () => {
    const pullsBefore = github.pulls.length;
    const writesBefore = github.writes().length;
    const attempt = await runCase(FIRST_RUN + HOSTILE_DIFFS.length, MODEL_ANSWER);
    const writes = github.writes().slice(writesBefore);
    report("hostile diffs control", `benign answer → ${attempt.status}, PR #${attempt.prNumber}, ${writes.length} GitHub writes (${writes.map((w) => w.split(" ")[1].replace(/^\/repos\/acme\/widgets\//, "")).join(", ")})`);
    expect(attempt).toMatchObject({ status: "awaiting_ci", prNumber: expect.any(Number) });
    expect(github.pulls.length - pullsBefore).toBe(1);
    expect(writes).toHaveLength(6);
  });
});

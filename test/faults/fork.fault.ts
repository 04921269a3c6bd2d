/**
 * Fault: a red check suite of another CI app on a fork's PR, whose
 * pull_request delivery was never stored (the app was installed later, or the
 * delivery was lost). The suite names no head repository and, as GitHub sends
 * it for forks, no pull requests. fixloop must find out from GitHub that the
 * commit is a fork's and deliver the fix as a comment: zero pushes.
 */
import { readFileSync } from "node:fs";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { ModelClient } from "../../src/fix/model.js";
import { fixJobHandlers } from "../../src/fix/pipeline.js";
import { createWorker } from "../../src/queue/index.js";
import { fixAttempts } from "../../src/store/schema.js";
import { startTestServer, type TestServer } from "../helpers.js";
import { startFakeGitHub, type FakeGitHub } from "./support/fake-github.js";
import { fixDeps, HEAD_SHA, JOB_LOG, MODEL_ANSWER, probotFor, REPO_CONFIG, REPO_FILES, report, silentLog } from "./support/scenario.js";

let server: TestServer;
let github: FakeGitHub;

const model: ModelClient = {
  async proposePatch(request) {
    return {
      inferenceId: uuidv7(),
      episodeId: request.episodeId ?? uuidv7(),
      variant: "fork-case",
      model: "tensorzero::function_name::fixloop_patch::variant_name::fork-case",
      content: MODEL_ANSWER,
      usage: { inputTokens: 100, outputTokens: 100 },
      finishReason: "stop",
      budgetFactor: 1,
      requests: 1,
    };
  },
};

beforeAll(async () => {
  github = await startFakeGitHub({
    files: REPO_FILES,
    config: REPO_CONFIG,
    jobLog: JOB_LOG,
    associatedPulls: [{ number: 42, state: "open", headRepo: "mallory/widgets" }],
    checkRuns: [
      {
        id: 501,
        name: "test",
        conclusion: "failure",
        summary: "1 test failed: parseWidgets returns an empty list for empty input",
        annotations: [{ path: "src/parser.test.ts", line: 10, message: "AssertionError: expected [ '' ] to deeply equal []" }],
      },
    ],
  });
  server = await startTestServer();
});

afterAll(async () => {
  await github?.close();
  await server?.close();
});

test("a red check suite from a fork with no stored PR: a comment on the PR, zero pushes", async () => {
  const payload = JSON.parse(readFileSync(new URL("../../fixtures/check_suite.completed.json", import.meta.url), "utf8"));
  // As GitHub sends a fork's suite: no pull_requests, the fork's branch name.
  Object.assign(payload.check_suite, { head_sha: HEAD_SHA, head_branch: "patch-1", pull_requests: [] });
  const delivered = await server.deliver("check_suite", payload);
  expect(delivered.note).toMatch(/^fix job \d+ enqueued$/);

  const worker = createWorker({ store: server.store, handlers: fixJobHandlers(fixDeps(server.store, probotFor(github.url), model)), concurrency: 1, log: silentLog() });
  expect(await worker.runDue()).toBe(1);

  const [attempt] = await server.store.db.select().from(fixAttempts);
  const comments = github.requests.filter((r) => r.method === "POST" && r.path.endsWith("/issues/42/comments"));
  const pushes = github.writes().filter((w) => !/\/issues\/\d+\/comments$/.test(w));
  report("fork check suite", `attempt ${attempt.status}: ${attempt.reason}; comments on #42: ${comments.length}; pushes: ${pushes.length}`);
  expect(pushes).toEqual([]);
  expect(comments).toHaveLength(1);
  expect(JSON.stringify(comments[0].body)).toContain("fork");
  expect(attempt).toMatchObject({ status: "skipped", reason: expect.stringMatching(/delivered as a comment on #42: this commit comes from a fork \(PR #42 has its head in mallory\/widgets\)/) });
  expect(github.requests.some((r) => r.path.endsWith(`/commits/${HEAD_SHA}/pulls`))).toBe(true);
  expect(github.unexpected).toEqual([]);
});

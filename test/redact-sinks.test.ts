/**
 * Every string that leaves the process goes through the redactor at its last
 * stop: the prompt sent to TensorZero, feedback, GitHub comments, PR bodies
 * and commit messages, stored errors and attempt reasons.
 */
import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterEach, describe, expect, test } from "vitest";
import { createAttempt, getAttempt, updateAttempt } from "../src/store/attempts.js";
import { buildPatchRequestBody } from "../src/fix/model.js";
import { commentBody } from "../src/github/comments.js";
import { publishFix } from "../src/github/publish.js";
import { describeError } from "../src/ops/describe-error.js";
import { buildFeedbackBody } from "../src/tensorzero/feedback.js";
import { createTempStore } from "./helpers.js";

// Assembled at run time so this file holds nothing a scanner flags.
const TOKEN = ["gh", "p_", "Zx81Kq0Lm2Nb3Vc4Xz5Aq6Sw7De8Rf9Tg0Yh1U"].join("");
const NPM = ["np", "m_", "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"].join("");

afterEach(() => nock.cleanAll());

describe("outgoing strings are redacted at their last stop", () => {
  test("the prompt: system and user arguments and tags", () => {
    const body = buildPatchRequestBody(
      { episodeId: "0190f0c0-0000-7000-8000-000000000000", tags: { repo: "acme/w", run: "1", attempt: "1", note: TOKEN }, system: { max_files: 1, max_changed_lines: 10, protected_paths: [TOKEN] }, user: () => ({}) as never },
      { repo: "acme/w", workflow: "CI", job: "t", failing_step: null, failure_class: "test", error_lines: [`auth with ${TOKEN}`], log_excerpt: `NPM_TOKEN=${NPM}`, files: [{ path: "a.ts", content: `const k = "${NPM}";`, start_line: 1, truncated: false }], attempt: 1, max_attempts: 2 },
    );
    const json = JSON.stringify(body);
    expect(json).not.toContain(TOKEN);
    expect(json).not.toContain(NPM);
    expect(json).toContain("[REDACTED:github-token]");
  });

  test("feedback values and tags", () => {
    const body = buildFeedbackBody({ metricName: "fixloop_review_comment", episodeId: "0190f0c0-0000-7000-8000-000000000000", value: `please rotate ${TOKEN}`, tags: { by: TOKEN } });
    expect(JSON.stringify(body)).not.toContain(TOKEN);
  });

  test("comments", () => {
    expect(commentBody("m", `the log said ${TOKEN}`)).not.toContain(TOKEN);
  });

  test("stored errors", () => {
    expect(describeError(new Error(`fetch failed for https://x:${NPM}@registry.example.com`))).not.toContain(NPM);
    expect(describeError(`token ${TOKEN}`)).not.toContain(TOKEN);
  });

  test("attempt reasons, PR bodies and explanations", async () => {
    const store = await createTempStore();
    try {
      const attempt = await createAttempt(store.db, { repoSlug: "acme/w", chainId: "c", triggerProvider: "github-actions", triggerRunId: "1", headSha: "a".repeat(40), status: "queued" });
      await updateAttempt(store.db, attempt.id, { reason: `failed with ${TOKEN}`, prBody: `body ${TOKEN}`, explanation: `uses ${NPM}` });
      const stored = JSON.stringify(await getAttempt(store.db, attempt.id));
      expect(stored).not.toContain(TOKEN);
      expect(stored).not.toContain(NPM);
    } finally {
      store.dispose();
    }
  });

  test("the PR title, body and commit message sent to GitHub", async () => {
    nock.disableNetConnect();
    const octokit = new ProbotOctokit({ auth: { token: "test" }, retry: { enabled: false }, throttle: { enabled: false } });
    const api = nock("https://api.github.com");
    const seen: string[] = [];
    const record = (body: unknown) => (seen.push(JSON.stringify(body)), true);
    api.get("/repos/acme/w/git/commits/" + "a".repeat(40)).reply(200, { sha: "a".repeat(40), tree: { sha: "b".repeat(40) } });
    api.post("/repos/acme/w/git/blobs").reply(201, { sha: "c".repeat(40) });
    api.post("/repos/acme/w/git/trees").reply(201, { sha: "d".repeat(40) });
    api.post("/repos/acme/w/git/commits", record).reply(201, { sha: "e".repeat(40) });
    api.post("/repos/acme/w/git/refs").reply(201, { ref: "refs/heads/fixloop/run-1", object: { sha: "e".repeat(40) } });
    api.post("/repos/acme/w/pulls", record).reply(201, { number: 5, html_url: "u", node_id: "n", state: "open", draft: true, merged_at: null, head: { sha: "e".repeat(40) }, labels: [] });
    api.post("/repos/acme/w/issues/5/labels").reply(200, []);
    await publishFix(octokit as never, {
      owner: "acme",
      repo: "w",
      baseSha: "a".repeat(40),
      baseBranch: "main",
      branch: "fixloop/run-1",
      firstTry: true,
      changes: [{ path: "a.ts", content: "x\n" }],
      commitMessage: `fix with ${TOKEN}`,
      pr: { title: `fix ${NPM}`, body: `the log: ${TOKEN}`, draft: true, labels: [] },
    });
    expect(nock.pendingMocks()).toEqual([]);
    expect(seen).toHaveLength(2);
    for (const body of seen) {
      expect(body).not.toContain(TOKEN);
      expect(body).not.toContain(NPM);
    }
  });
});

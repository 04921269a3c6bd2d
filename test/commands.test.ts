/**
 * `/fixloop` comment commands, from a signed issue_comment delivery through
 * the command job: the real app and store, GitHub through nock.
 * fixtures/issue_comment.created.json is built in the shape of GitHub's
 * documented issue_comment webhook, around the recorded PR #42 of
 * fixtures/pull_request.opened.json.
 */
import { eq } from "drizzle-orm";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { MAX_HINT_CHARS, parseCommand } from "../src/commands/parse.js";
import { fixJobHandlers, type FixDeps, type Octokit } from "../src/fix/pipeline.js";
import { createLibsqlQueue, createWorker, listJobs } from "../src/queue/index.js";
import { commentCommands, feedback, fixAttempts, fixStops, jobs } from "../src/store/schema.js";
import { fixture, silentLog, startTestServer, type TestServer } from "./helpers.js";

const API = "https://api.github.com";
const REPO = "/repos/acme/widgets";
const COMMENT = 2100000001;
const HEAD = "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a";
const RUN_ID = 9120304501;

let server: TestServer;

beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

type CommentPayload = {
  action: string;
  issue: { number: number; state: string; pull_request?: unknown };
  comment: { id: number; body: string; user: { login: string; type: string } };
};

function comment(body: string, changes: (p: CommentPayload) => void = () => {}): CommentPayload {
  const payload = fixture<CommentPayload>("issue_comment.created.json");
  payload.comment.body = body;
  changes(payload);
  return payload;
}

function worker() {
  const deps: FixDeps = {
    store: server.store,
    github: async (id) => (await server.probot.auth(id!)) as Octokit,
    model: null,
    queue: createLibsqlQueue(server.store),
    log: silentLog(),
  };
  return createWorker({ store: server.store, handlers: fixJobHandlers(deps), concurrency: 1, log: silentLog() });
}

function mockToken() {
  nock(API).post("/app/installations/48213377/access_tokens").reply(201, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" });
}

function mockPermission(permission: string, login = "octodev", roleName = permission) {
  nock(API).get(`${REPO}/collaborators/${login}/permission`).reply(200, { permission, role_name: roleName, user: { login } });
}

function mockAccepted(pr: { number?: number; ref?: string; state?: string } = {}) {
  mockToken();
  mockPermission("write");
  nock(API).post(`${REPO}/issues/comments/${COMMENT}/reactions`, { content: "eyes" }).reply(201, { id: 1, content: "eyes" });
  const number = pr.number ?? 42;
  nock(API)
    .get(`${REPO}/pulls/${number}`)
    .reply(200, {
      number,
      state: pr.state ?? "open",
      head: { ref: pr.ref ?? "fix-widget-parser", sha: HEAD, repo: { full_name: "acme/widgets" } },
      base: { ref: "main", repo: { full_name: "acme/widgets", default_branch: "main" } },
    });
}

/** The reply fixloop posts; `matches` checks its body. */
function expectReply(matches: (body: string) => boolean, number = 42) {
  const bodies: string[] = [];
  nock(API).get(`${REPO}/issues/${number}/comments`).query(true).reply(200, []);
  nock(API)
    .post(`${REPO}/issues/${number}/comments`, (b) => {
      bodies.push(b.body);
      return matches(b.body);
    })
    .reply(201, { id: 99, html_url: `https://github.com/acme/widgets/pull/${number}#issuecomment-99` });
  return bodies;
}

async function post(payload: unknown, id?: string) {
  return server.deliver("issue_comment", payload, id ? { id } : {});
}

async function command() {
  const [row] = await server.store.db.select().from(commentCommands);
  return row;
}

describe("parsing a comment", () => {
  test("the first command a person typed, not one quoted, fenced, indented or inline", () => {
    expect(parseCommand("/fixloop fix")).toEqual({ command: "fix", hint: null });
    expect(parseCommand("Thanks!\n\n/FixLoop Explain please")).toEqual({ command: "explain", hint: null });
    expect(parseCommand("> /fixloop fix\n\nI agree with the above")).toBeNull();
    expect(parseCommand("Try this:\n```\n/fixloop fix\n```")).toBeNull();
    expect(parseCommand("~~~md\n/fixloop stop\n~~~\n")).toBeNull();
    expect(parseCommand("Example:\n\n    /fixloop fix\n")).toBeNull();
    expect(parseCommand("Use `/fixloop fix` to start one")).toBeNull();
    expect(parseCommand("```\n/fixloop fix\n```\n/fixloop stop")).toEqual({ command: "stop", hint: null });
    expect(parseCommand("/fixloop frobnicate")).toEqual({ unknown: "frobnicate" });
    expect(parseCommand("nothing here")).toBeNull();
  });

  test("a retry's hint is the rest of the comment, bounded", () => {
    expect(parseCommand("/fixloop retry the parser must keep empty fields\nsee issue 12")).toEqual({
      command: "retry",
      hint: "the parser must keep empty fields\nsee issue 12",
    });
    expect(parseCommand("/fixloop retry")).toEqual({ command: "retry", hint: null });
    const long = "x".repeat(10 * 1024);
    expect(parseCommand(`/fixloop retry ${long}`)).toEqual({ command: "retry", hint: null, hintTooLong: long.length });
    expect(parseCommand(`/fixloop retry ${"y".repeat(MAX_HINT_CHARS)}`)).toMatchObject({ command: "retry", hint: "y".repeat(MAX_HINT_CHARS) });
  });
});

describe("comments that never become commands (no GitHub call)", () => {
  test.each([
    ["an edited comment", comment("/fixloop fix", (p) => (p.action = "edited")), /only new comments/],
    ["a comment on an issue", comment("/fixloop fix", (p) => delete p.issue.pull_request), /not a pull request/],
    ["fixloop's own comment", comment("/fixloop fix", (p) => (p.comment.user = { login: "fixloop[bot]", type: "Bot" })), /from a bot/],
    ["another bot", comment("/fixloop fix", (p) => (p.comment.user = { login: "renovate[bot]", type: "Bot" })), /from a bot/],
    ["a closed PR", comment("/fixloop fix", (p) => (p.issue.state = "closed")), /closed PR/],
    ["a quoted command", comment("> /fixloop fix\nno thanks"), /no command/],
    ["a command in a code block", comment("```\n/fixloop fix\n```"), /no command/],
    ["an unknown command", comment("/fixloop deploy"), /unknown command/],
  ])("%s is ignored", async (_what, payload, note) => {
    const answer = await post(payload);
    expect(answer).toMatchObject({ status: "ignored", note: expect.stringMatching(note) });
    expect(await server.store.db.select().from(commentCommands)).toEqual([]);
    expect(await server.store.db.select().from(jobs)).toEqual([]);
  });
});

describe("who may command", () => {
  test.each([
    ["read", "read"],
    ["read", "triage"],
    ["none", "none"],
  ])("permission %s (role %s): refused, no reaction, no reply, nothing started", async (permission, role) => {
    await post(comment("/fixloop fix"));
    mockToken();
    mockPermission(permission, "octodev", role);
    expect(await worker().runDue()).toBe(1);
    expect(nock.pendingMocks()).toEqual([]);
    expect(await command()).toMatchObject({ status: "refused", outcome: expect.stringMatching(/has (read|none) access; commands need write/) });
    expect((await listJobs(server.store, {})).map((j) => j.kind)).toEqual(["command"]);
  });

  test("someone GitHub does not know on the repo (404): refused", async () => {
    await post(comment("/fixloop stop"));
    mockToken();
    nock(API).get(`${REPO}/collaborators/octodev/permission`).reply(404, { message: "Not Found" });
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await command()).toMatchObject({ status: "refused" });
    expect(await server.store.db.select().from(fixStops)).toEqual([]);
  });

  test("maintain counts as write (role_name), and the answer does not trust author_association", async () => {
    await post(comment("/fixloop explain", (p) => ((p.comment as Record<string, unknown>).author_association = "NONE")));
    mockToken();
    mockPermission("write", "octodev", "maintain");
    nock(API).post(`${REPO}/issues/comments/${COMMENT}/reactions`).reply(201, {});
    nock(API).get(`${REPO}/pulls/42`).reply(200, { number: 42, state: "open", head: { ref: "fix-widget-parser", sha: HEAD, repo: null }, base: { ref: "main", repo: {} } });
    expectReply((b) => /no CI run/.test(b));
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await command()).toMatchObject({ status: "done" });
  });
});

describe("/fixloop fix", () => {
  test("starts a fix job for the PR's latest red run, acknowledged with a reaction; a redelivery does nothing twice", async () => {
    await server.post("pull_request", fixture("pull_request.opened.json"));
    const run = fixture<{ workflow_run: Record<string, unknown> }>("workflow_run.completed.json");
    // The run is recorded, but its own fix job went elsewhere (say, the branch was not watched then).
    await server.post("workflow_run", run);
    await server.store.db.delete(jobs);

    const payload = comment("/fixloop fix");
    expect(await post(payload, "delivery-1")).toMatchObject({ status: "processed", note: expect.stringMatching(/command job \d+ enqueued/) });
    mockAccepted();
    expect(await worker().runDue()).toBe(1);
    expect(nock.pendingMocks()).toEqual([]);
    expect(await command()).toMatchObject({ status: "done", outcome: expect.stringMatching(new RegExp(`fix job \\d+ for run ${RUN_ID}`)) });
    const fixJobs = await listJobs(server.store, { kind: "fix" });
    expect(fixJobs).toHaveLength(1);
    expect(fixJobs[0].payload).toMatchObject({ runId: String(RUN_ID), headSha: HEAD, prNumbers: [42], command: { commentId: COMMENT, author: "octodev" } });

    // GitHub's redelivery (same id), then a replay under a new id: recognised, nothing runs again.
    expect(await post(payload, "delivery-1")).toMatchObject({ status: "duplicate" });
    expect(await post(payload, "delivery-2")).toMatchObject({ status: "processed", note: expect.stringMatching(/handled before: nothing done twice/) });
    expect(await listJobs(server.store, { kind: "fix" })).toHaveLength(1);
    expect(await listJobs(server.store, { kind: "command" })).toMatchObject([{ status: "done", attempts: 1 }]);
    expect(await server.store.db.select().from(commentCommands)).toMatchObject([{ deliveryId: "delivery-1", status: "done" }]);
  });

  test("a command job run twice (a crash before it finished) acts once", async () => {
    await server.post("pull_request", fixture("pull_request.opened.json"));
    await server.post("workflow_run", fixture("workflow_run.completed.json"));
    await server.store.db.delete(jobs);
    await post(comment("/fixloop fix"));
    mockAccepted();
    const w = worker();
    await w.runDue();
    const [job] = await listJobs(server.store, { kind: "command" });
    await server.store.db.update(jobs).set({ runAfter: new Date(Date.now() + 3_600_000).toISOString() }).where(eq(jobs.kind, "fix"));
    await server.store.db.update(jobs).set({ status: "queued", runAfter: new Date(0).toISOString() }).where(eq(jobs.id, job.id));
    expect(await w.runDue()).toBe(1);
    expect(nock.pendingMocks()).toEqual([]);
    expect(await listJobs(server.store, { kind: "fix" })).toHaveLength(1);
  });

  test("no red run for the head (asked through the API too): a reply says so, nothing starts", async () => {
    await post(comment("/fixloop fix"));
    mockAccepted();
    nock(API)
      .get(`${REPO}/actions/runs`)
      .query({ head_sha: HEAD, per_page: "50" })
      .reply(200, { total_count: 1, workflow_runs: [{ id: 1, status: "completed", conclusion: "success", updated_at: "2024-05-02T12:00:00Z" }] });
    expectReply((b) => /no failed CI run for the head of this PR/.test(b));
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await command()).toMatchObject({ status: "refused" });
    expect(await listJobs(server.store, { kind: "fix" })).toEqual([]);
  });

  test("a red run only GitHub knows about is recorded and fixed", async () => {
    await post(comment("/fixloop fix"));
    mockAccepted();
    const run = fixture<{ workflow_run: Record<string, unknown> }>("workflow_run.completed.json").workflow_run;
    nock(API).get(`${REPO}/actions/runs`).query(true).reply(200, { total_count: 1, workflow_runs: [run] });
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    const [fix] = await listJobs(server.store, { kind: "fix" });
    expect(fix.payload).toMatchObject({ runId: String(RUN_ID), prNumbers: [42] });
  });

  test("on a closed PR (closed after the comment): refused with a note, nothing started", async () => {
    await post(comment("/fixloop fix"));
    mockAccepted({ state: "closed" });
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await command()).toMatchObject({ status: "refused", outcome: "refused: PR #42 is closed" });
  });
});

async function seedFixChain(status = "ci_failed") {
  const at = new Date().toISOString();
  await server.store.db.insert(fixAttempts).values({
    id: "attempt-1",
    repoSlug: "acme/widgets",
    installationId: 48213377,
    chainId: `acme/widgets@${HEAD}#wf:61234567`,
    attemptNumber: 1,
    triggerProvider: "github-actions",
    triggerRunId: String(RUN_ID),
    workflowName: "CI",
    headSha: HEAD,
    headBranch: "fix-widget-parser",
    status: status as "ci_failed",
    inferenceId: "0192e5a4-2222-7000-8000-00000000beef",
    episodeId: "0192e5a4-2222-7000-8000-00000000e915",
    diff: "--- a/src/parser.ts\n+++ b/src/parser.ts\n",
    fixBranch: `fixloop/run-${RUN_ID}`,
    fixCommitSha: "f1c0000000000000000000000000000000000099",
    prNumber: 77,
    createdAt: at,
    updatedAt: at,
  });
  await server.post("workflow_run", fixture("workflow_run.completed.json"));
  await server.store.db.delete(jobs);
}

describe("/fixloop retry", () => {
  test("on a fix PR: the chain's next attempt with the hint (redacted), recorded as comment feedback on the last inference", async () => {
    await seedFixChain();
    await post(comment("/fixloop retry keep empty fields; the token ghp_abcdefghijklmnopqrstuvwxyz0123456789 is irrelevant", (p) => (p.issue.number = 77)));
    mockAccepted({ number: 77, ref: `fixloop/run-${RUN_ID}` });
    nock(API).get(`${REPO}/contents/.github%2Ffixloop.yml`).reply(200, "max_attempts: 3\n", { "content-type": "text/plain" });
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await command()).toMatchObject({ status: "done", outcome: expect.stringMatching(/attempt 2 of 3 with a hint/) });
    const [fix] = await listJobs(server.store, { kind: "fix" });
    const payload = fix.payload as Record<string, any>;
    expect(payload.continuation).toMatchObject({ chainId: `acme/widgets@${HEAD}#wf:61234567`, attemptNumber: 2, previousAttemptId: "attempt-1", episodeId: "0192e5a4-2222-7000-8000-00000000e915" });
    expect(payload.command.hint).toMatch(/^keep empty fields; the token .+ is irrelevant$/);
    expect(payload.command.hint).not.toContain("ghp_abcdefghijklmnopqrstuvwxyz0123456789");
    const rows = await server.store.db.select().from(feedback);
    expect(rows.map((r) => [r.metricName, r.targetType, r.targetId, r.value])).toEqual([["comment", "inference", "0192e5a4-2222-7000-8000-00000000beef", payload.command.hint]]);
  });

  test("joins the attempt the red fix CI already queued, if it has not started", async () => {
    await seedFixChain();
    const queue = createLibsqlQueue(server.store);
    const queued = await queue.enqueue("fix", { repo: "acme/widgets", headSha: "f1c0", continuation: { chainId: "x", attemptNumber: 2 } }, { dedupKey: `fix:acme/widgets@${HEAD}#wf:61234567:attempt:2` });
    await post(comment("/fixloop retry try the tokenizer", (p) => (p.issue.number = 77)));
    mockAccepted({ number: 77, ref: `fixloop/run-${RUN_ID}` });
    nock(API).get(`${REPO}/contents/.github%2Ffixloop.yml`).reply(200, "max_attempts: 3\n", { "content-type": "text/plain" });
    const [commandJob] = await listJobs(server.store, { kind: "command" });
    await server.store.db.update(jobs).set({ runAfter: new Date(Date.now() + 3_600_000).toISOString() }).where(eq(jobs.id, queued.id));
    await server.store.db.update(jobs).set({ runAfter: new Date(0).toISOString() }).where(eq(jobs.id, commandJob.id));
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    const fixJobs = await listJobs(server.store, { kind: "fix" });
    expect(fixJobs).toHaveLength(1);
    expect((fixJobs[0].payload as Record<string, any>).command).toEqual({ commentId: COMMENT, author: "octodev", hint: "try the tokenizer" });
  });

  test("a 10 KB hint is refused clearly; nothing starts, no feedback", async () => {
    await seedFixChain();
    await post(comment(`/fixloop retry ${"x".repeat(10 * 1024)}`, (p) => (p.issue.number = 77)));
    expect((await command()).hint).toBeNull();
    mockAccepted({ number: 77, ref: `fixloop/run-${RUN_ID}` });
    expectReply((b) => /the hint is 10240 characters long; `\/fixloop retry` takes at most 1000/.test(b), 77);
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await command()).toMatchObject({ status: "refused" });
    expect(await listJobs(server.store, { kind: "fix" })).toEqual([]);
    expect(await server.store.db.select().from(feedback)).toEqual([]);
  });

  test("at max_attempts: refused with the setting named", async () => {
    await seedFixChain();
    await post(comment("/fixloop retry", (p) => (p.issue.number = 77)));
    mockAccepted({ number: 77, ref: `fixloop/run-${RUN_ID}` });
    nock(API).get(`${REPO}/contents/.github%2Ffixloop.yml`).reply(200, "max_attempts: 1\n", { "content-type": "text/plain" });
    expectReply((b) => /`max_attempts` in .github\/fixloop.yml is 1/.test(b), 77);
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await listJobs(server.store, { kind: "fix" })).toEqual([]);
  });

  test("on a PR that is not a fix PR: refused, pointing at /fixloop fix", async () => {
    await post(comment("/fixloop retry"));
    mockAccepted();
    expectReply((b) => /works on fixloop's own fix PRs/.test(b));
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await command()).toMatchObject({ status: "refused" });
  });

  test("while an attempt is in progress: refused, nothing queued twice", async () => {
    await seedFixChain("prompting");
    await post(comment("/fixloop retry", (p) => (p.issue.number = 77)));
    mockAccepted({ number: 77, ref: `fixloop/run-${RUN_ID}` });
    expectReply((b) => /already working on this failure \(attempt 1, prompting\)/.test(b), 77);
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await listJobs(server.store, { kind: "fix" })).toEqual([]);
  });
});

describe("/fixloop stop", () => {
  test("on a PR: recorded, the queued fix cancelled; /fixloop fix lifts it", async () => {
    await server.post("pull_request", fixture("pull_request.opened.json"));
    await server.post("workflow_run", fixture("workflow_run.completed.json"));
    const [queuedFix] = await listJobs(server.store, { kind: "fix" });
    // The fix waits its turn (say, for the gateway) when the stop arrives.
    await server.store.db.update(jobs).set({ runAfter: new Date(Date.now() + 3_600_000).toISOString() }).where(eq(jobs.id, queuedFix.id));
    await post(comment("/fixloop stop"));
    mockAccepted();
    expectReply((b) => /fixloop stopped on this PR, as @octodev asked/.test(b));
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect(await server.store.db.select().from(fixStops)).toMatchObject([{ repoSlug: "acme/widgets", scope: "pr", key: "42", stoppedBy: "octodev", liftedAt: null }]);
    const fix = (await listJobs(server.store, { kind: "fix" })).find((j) => j.id === queuedFix.id)!;
    expect(fix.status).toBe("skipped");
    expect(JSON.stringify(fix.result)).toContain("stopped by @octodev");

    // /fixloop fix starts again: the stop is lifted.
    await post(comment("/fixloop fix", (p) => (p.comment.id = COMMENT + 1)));
    mockPermission("admin");
    nock(API).post(`${REPO}/issues/comments/${COMMENT + 1}/reactions`).reply(201, {});
    nock(API).get(`${REPO}/pulls/42`).reply(200, { number: 42, state: "open", head: { ref: "fix-widget-parser", sha: HEAD, repo: null }, base: { ref: "main", repo: { default_branch: "main" } } });
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    expect((await server.store.db.select().from(fixStops))[0].liftedAt).not.toBeNull();
  });
});

describe("/fixloop explain", () => {
  test("answers with the failure summary and the attempt's reason", async () => {
    await seedFixChain();
    await server.store.db
      .update(fixAttempts)
      .set({
        status: "skipped",
        reason: "budget: 1100 tokens spent today, max_tokens_per_day is 1000",
        failureSummary: { failingStep: "Run npm test", firstErrorLine: "AssertionError: expected [ '' ] to deeply equal [] @someone", job: "test (node 20)", sameFailureJobs: ["test (node 22)"] },
        prNumber: null,
      })
      .where(eq(fixAttempts.id, "attempt-1"));
    await post(comment("/fixloop explain"));
    mockAccepted();
    const replies = expectReply(() => true);
    await worker().runDue();
    expect(nock.pendingMocks()).toEqual([]);
    const reply = replies[0];
    expect(reply).toContain("**Attempt 1** for run 9120304501 at 8f4c2a1: **skipped**");
    expect(reply).toContain("why: budget: 1100 tokens spent today");
    expect(reply).toContain("job **test (node 20)**, step **Run npm test**");
    expect(reply).toContain("the same failure in: **test (node 22)**");
    expect(reply).toContain("AssertionError: expected [ '' ] to deeply equal []");
    expect(reply).not.toContain(" @someone"); // log text cannot ping anyone
  });
});

import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAttempt, updateAttempt } from "../src/store/attempts.js";
import { ciRuns, deliveries, feedback, prOutcomes } from "../src/store/schema.js";
import { countDeliveries } from "../src/store/records.js";
import { fixture, startTestServer, type TestServer } from "./helpers.js";
import { FORGE_SECRETS, postGitlab } from "./forges-support.js";

type Payload = Record<string, any>;

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer({ forgeSecrets: FORGE_SECRETS });
});
afterEach(async () => {
  await server.close();
});

const db = () => server.store.db;
const gitlab = (name: string): Payload => fixture(`gitlab/${name}`);

/** The docs' open event, moved on to a later state of the same MR. */
function mergeRequestAt(state: string, action: string, updatedAt: string, extra: Payload = {}): Payload {
  const hook = gitlab("merge_request.open.json");
  Object.assign(hook.object_attributes, { state, action, updated_at: updatedAt, ...extra });
  hook.user = { id: 6, name: "User1", username: "user1" };
  return hook;
}

describe("POST /api/webhooks/gitlab", () => {
  test("is off (404) while GITLAB_WEBHOOK_TOKEN is unset", async () => {
    const off = await startTestServer({ forgeSecrets: {} });
    try {
      const answer = await postGitlab(off, "Push Hook", gitlab("push.json"));
      expect(answer.status).toBe(404);
      expect(answer.body.error).toMatch(/GITLAB_WEBHOOK_TOKEN/);
      expect(await countDeliveries(off.store.db)).toBe(0);
    } finally {
      await off.close();
    }
  });

  test("a wrong or missing X-Gitlab-Token is 401 and stores nothing", async () => {
    expect((await postGitlab(server, "Push Hook", gitlab("push.json"), { token: "wrong" })).status).toBe(401);
    expect((await postGitlab(server, "Push Hook", gitlab("push.json"), { token: null })).status).toBe(401);
    expect((await postGitlab(server, "Push Hook", gitlab("push.json"), { token: "" })).status).toBe(401);
    expect(await countDeliveries(db())).toBe(0);
  });

  test("the docs' Merge Request Hook (open) records an open MR", async () => {
    const answer = await postGitlab(server, "Merge Request Hook", gitlab("merge_request.open.json"), { idempotencyKey: "mr-open" });
    expect(answer).toEqual({ status: 200, body: { id: "gitlab:mr-open", status: "processed" } });
    const [row] = await db().select().from(prOutcomes);
    expect(row).toMatchObject({
      provider: "gitlab",
      repoSlug: "gitlabhq/gitlab-test",
      prNumber: 1,
      title: "MS-Viewport",
      state: "open",
      author: "root",
      headRef: "ms-viewport",
      headSha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      headRepoSlug: "awesome_space/awesome_project",
      baseRef: "master",
      isFork: false,
      createdAt: "2013-12-03T17:23:34.000Z",
      mergedAt: null,
    });
    const [delivery] = await db().select().from(deliveries);
    expect(delivery).toMatchObject({ id: "gitlab:mr-open", event: "gitlab:Merge Request Hook", action: null, repoSlug: "gitlabhq/gitlab-test", status: "processed" });
  });

  test("merge moves the row forward, keeps the author, and a late open never moves it back", async () => {
    await postGitlab(server, "Merge Request Hook", gitlab("merge_request.open.json"));
    const merged = mergeRequestAt("merged", "merge", "2013-12-04T09:00:00Z", { merge_commit_sha: "AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12" });
    expect((await postGitlab(server, "Merge Request Hook", merged)).body.status).toBe("processed");
    const late = await postGitlab(server, "Merge Request Hook", gitlab("merge_request.open.json"));
    expect(late.body.note).toMatch(/stale/);
    const rows = await db().select().from(prOutcomes);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      state: "merged",
      author: "root",
      mergedAt: "2013-12-04T09:00:00.000Z",
      closedAt: "2013-12-04T09:00:00.000Z",
      mergeCommitSha: "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12",
    });
  });

  test("close without merge is 'closed'", async () => {
    await postGitlab(server, "Merge Request Hook", mergeRequestAt("closed", "close", "2013-12-05T10:00:00Z"));
    const [row] = await db().select().from(prOutcomes);
    expect(row).toMatchObject({ state: "closed", mergedAt: null, closedAt: "2013-12-05T10:00:00.000Z", author: null });
  });

  test("the docs' Pipeline Hook records a gitlab-ci run with its MR, and a late running event is stale", async () => {
    const answer = await postGitlab(server, "Pipeline Hook", gitlab("pipeline.success.json"));
    expect(answer.body.status).toBe("processed");
    const [run] = await db().select().from(ciRuns);
    expect(run).toMatchObject({
      provider: "gitlab-ci",
      repoSlug: "gitlab-org/gitlab-test",
      runId: "31",
      commitSha: "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
      headBranch: "master",
      event: "merge_request_event",
      status: "success",
      rawStatus: "success",
      conclusion: "success",
      workflowName: "Pipeline for branch: master",
      prNumbers: [1],
      htmlUrl: "http://example.com/gitlab-org/gitlab-test/-/pipelines/31",
      startedTs: "2016-08-12T15:23:28.000Z",
      completedTs: "2016-08-12T15:26:29.000Z",
    });
    const running = gitlab("pipeline.success.json");
    Object.assign(running.object_attributes, { status: "running", finished_at: null });
    expect((await postGitlab(server, "Pipeline Hook", running)).body.note).toMatch(/stale/);
    const [after] = await db().select().from(ciRuns);
    expect(after.status).toBe("success");
  });

  test("statuses fold onto fixloop's words, the raw one kept", async () => {
    for (const [status, id, expected] of [["failed", 41, "failure"], ["canceled", 42, "cancelled"], ["pending", 43, "in_progress"], ["manual", 44, "in_progress"]] as const) {
      const hook = gitlab("pipeline.success.json");
      Object.assign(hook.object_attributes, { id, status, finished_at: status === "failed" || status === "canceled" ? "2016-08-12 15:30:00 UTC" : null });
      await postGitlab(server, "Pipeline Hook", hook);
      const [row] = (await db().select().from(ciRuns)).filter((r) => r.runId === String(id));
      expect([row.status, row.rawStatus]).toEqual([expected, status]);
    }
  });

  test("a retried pipeline (same id, later finish) replaces the earlier verdict", async () => {
    const failed = gitlab("pipeline.success.json");
    Object.assign(failed.object_attributes, { status: "failed", finished_at: "2016-08-12 15:26:29 UTC" });
    await postGitlab(server, "Pipeline Hook", failed);
    const retried = gitlab("pipeline.success.json");
    Object.assign(retried.object_attributes, { status: "success", finished_at: "2016-08-12 16:00:00 UTC" });
    await postGitlab(server, "Pipeline Hook", retried);
    const [row] = await db().select().from(ciRuns);
    expect(row).toMatchObject({ status: "success", completedTs: "2016-08-12T16:00:00.000Z" });
  });

  test("the docs' Job Hook lands on its pipeline's row and never past the pipeline's own state", async () => {
    const job = await postGitlab(server, "Job Hook", gitlab("job.created.json"));
    expect(job.body).toMatchObject({ status: "processed", note: "pipeline 2366 is running" });
    const [created] = await db().select().from(ciRuns);
    expect(created).toMatchObject({ provider: "gitlab-ci", runId: "2366", repoSlug: "gitlab-org/gitlab-test", status: "in_progress", headBranch: "gitlab-script-trigger", workflowName: "Build pipeline" });

    const pipeline = gitlab("pipeline.success.json");
    Object.assign(pipeline.object_attributes, { id: 2366, status: "failed" });
    await postGitlab(server, "Pipeline Hook", pipeline);
    const lateJob = gitlab("job.created.json");
    lateJob.build_status = "running";
    expect((await postGitlab(server, "Job Hook", lateJob)).body.note).toMatch(/further along/);
    const rows = await db().select().from(ciRuns);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "failure", rawStatus: "failed" });
  });

  test("the docs' Push Hook is processed and says what the payload left out", async () => {
    const answer = await postGitlab(server, "Push Hook", gitlab("push.json"));
    expect(answer.body).toMatchObject({ status: "processed", note: "2 older commit(s) not in the payload" });
    const [row] = await db().select().from(deliveries);
    expect(row).toMatchObject({ event: "gitlab:Push Hook", repoSlug: "mike/diaspora" });
  });

  test("a redelivery is a duplicate: by Idempotency-Key, by X-Gitlab-Event-UUID, or by content", async () => {
    const payload = gitlab("pipeline.success.json");
    expect((await postGitlab(server, "Pipeline Hook", payload, { idempotencyKey: "k-1" })).body.status).toBe("processed");
    expect((await postGitlab(server, "Pipeline Hook", payload, { idempotencyKey: "k-1", eventUuid: "other" })).body).toEqual({ id: "gitlab:k-1", status: "duplicate" });
    expect((await postGitlab(server, "Push Hook", gitlab("push.json"), { idempotencyKey: null, eventUuid: "uuid-7" })).body.id).toBe("gitlab:uuid-7");
    expect((await postGitlab(server, "Push Hook", gitlab("push.json"), { idempotencyKey: null, eventUuid: "uuid-7" })).body.status).toBe("duplicate");
    const first = await postGitlab(server, "Merge Request Hook", gitlab("merge_request.open.json"), { idempotencyKey: null });
    const again = await postGitlab(server, "Merge Request Hook", gitlab("merge_request.open.json"), { idempotencyKey: null });
    expect(first.body.id).toMatch(/^gitlab:sha256-[0-9a-f]{64}$/);
    expect(again.body).toEqual({ id: first.body.id, status: "duplicate" });
    expect(await countDeliveries(db())).toBe(3);
  });

  test("an authenticated payload that lacks what its event needs is 400, its row kept as failed", async () => {
    const answer = await postGitlab(server, "Merge Request Hook", { object_kind: "merge_request", project: { path_with_namespace: "g/p" } }, { idempotencyKey: "bad-1" });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: "failed", malformed: true });
    expect(String(answer.body.error)).toMatch(/object_attributes/);
    const [row] = await db().select().from(deliveries);
    expect(row).toMatchObject({ id: "gitlab:bad-1", status: "failed" });
    expect((await postGitlab(server, "Push Hook", undefined, { body: "{not json" })).status).toBe(400);
    expect((await postGitlab(server, "Push Hook", undefined, { body: "[1,2]" })).status).toBe(400);
    expect(await countDeliveries(db())).toBe(1);
  });

  test("an event fixloop does not read is recorded and ignored", async () => {
    const answer = await postGitlab(server, "Wiki Page Hook", { object_kind: "wiki_page", project: { path_with_namespace: "root/awesome-project" } }, { idempotencyKey: "wiki" });
    expect(answer).toEqual({ status: 200, body: { id: "gitlab:wiki", status: "ignored", note: "no handler for gitlab:Wiki Page Hook" } });
    const [row] = await db().select().from(deliveries);
    expect(row).toMatchObject({ status: "ignored", repoSlug: "root/awesome-project" });
  });

  test("a body past the size cap is 413", async () => {
    const response = await fetch(`${server.url}/api/webhooks/gitlab`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-gitlab-event": "Push Hook", "x-gitlab-token": FORGE_SECRETS.gitlab },
      body: Buffer.alloc(25 * 1024 * 1024 + 1, 0x20),
    });
    expect(response.status).toBe(413);
    expect(await countDeliveries(db())).toBe(0);
  });
});

describe("GitLab outcomes of a tracked fix", () => {
  const REPO = "gitlab-org/gitlab-test";
  const FIX_BRANCH = "fixloop/run-31";

  async function seedGitlabFix() {
    const attempt = await createAttempt(db(), {
      repoSlug: REPO,
      chainId: `${REPO}@bcbb5ec#ci`,
      triggerProvider: "gitlab-ci",
      triggerRunId: "31",
      headSha: "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
      headBranch: "master",
      status: "ci_passed",
      episodeId: "0192f1e2-7a3b-7c4d-8e5f-0000000a11ab",
    });
    return updateAttempt(db(), attempt.id, {
      inferenceId: "0192f1e2-7a3b-7c4d-8e5f-0000000b22bc",
      fixBranch: FIX_BRANCH,
      fixCommitSha: "1111111111111111111111111111111111111111",
      prNumber: 1,
      changedFiles: ["app/controller/application.rb"],
    });
  }

  function fixNote(): Payload {
    const hook = gitlab("note.merge_request.json");
    hook.merge_request.source_branch = FIX_BRANCH;
    hook.user.username = "reviewer";
    return hook;
  }

  test("a Note Hook on a fix MR becomes comment feedback; on other MRs it is ignored", async () => {
    const attempt = await seedGitlabFix();
    const plain = await postGitlab(server, "Note Hook", gitlab("note.merge_request.json"));
    expect(plain.body).toMatchObject({ status: "ignored", note: "not a fix PR" });
    const answer = await postGitlab(server, "Note Hook", fixNote(), { idempotencyKey: "note-1" });
    expect(answer.body).toMatchObject({ status: "processed", note: "review feedback recorded" });
    const rows = await db().select().from(feedback);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      attemptId: attempt.id,
      metricName: "comment",
      targetType: "inference",
      targetId: "0192f1e2-7a3b-7c4d-8e5f-0000000b22bc",
      value: "This MR needs work.",
      dedupKey: "review-comment:1244",
    });
    expect(rows[0].tags).toMatchObject({ repo: REPO, pr: "1", author: "reviewer" });
    const bot = fixNote();
    bot.object_attributes.id = 1245;
    bot.user.username = "project_5_bot_3f1a";
    expect((await postGitlab(server, "Note Hook", bot)).body).toMatchObject({ status: "ignored", note: "review-comment by a bot" });
  });

  test("a merged fix MR settles its attempt, and a later push reverting it marks it reverted", async () => {
    const attempt = await seedGitlabFix();
    const merged = gitlab("merge_request.open.json");
    Object.assign(merged.project, { path_with_namespace: REPO });
    Object.assign(merged.object_attributes, {
      state: "merged",
      action: "merge",
      source_branch: FIX_BRANCH,
      updated_at: "2024-05-10T12:00:00Z",
      merge_commit_sha: "2222222222222222222222222222222222222222",
      last_commit: { id: "1111111111111111111111111111111111111111" },
    });
    expect((await postGitlab(server, "Merge Request Hook", merged)).body.status).toBe("processed");
    const [pr] = await db().select().from(prOutcomes);
    expect(pr.linkedSessionIds).toEqual([attempt.id]);
    const settled = await db().select().from(feedback);
    expect(settled.map((f) => [f.metricName, f.value])).toEqual([["fixloop_pr_merged", true]]);

    const push = gitlab("push.json");
    Object.assign(push.project, { path_with_namespace: REPO });
    push.commits = [
      {
        id: "3333333333333333333333333333333333333333",
        message: 'Revert "MS-Viewport"\n\nThis reverts commit 2222222222222222222222222222222222222222.',
        timestamp: "2024-05-11T08:00:00Z",
        author: { name: "Dev", email: "dev@example.com" },
        added: [],
        modified: ["app/controller/application.rb"],
        removed: [],
      },
    ];
    push.total_commits_count = 1;
    const answer = await postGitlab(server, "Push Hook", push);
    expect(answer.body).toMatchObject({ status: "processed", note: "reverts fix MR !1" });
    const [after] = await db().select().from(prOutcomes);
    expect(after).toMatchObject({ revertedAt: "2024-05-11T08:00:00.000Z", revertedBy: "3333333333333333333333333333333333333333" });
    expect((await db().select().from(feedback)).map((f) => f.metricName).sort()).toEqual(["fixloop_held_up", "fixloop_pr_merged", "fixloop_pr_reverted"]);
  });
});

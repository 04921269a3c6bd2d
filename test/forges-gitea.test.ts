import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAttempt, updateAttempt } from "../src/store/attempts.js";
import { ciRuns, deliveries, feedback, prOutcomes } from "../src/store/schema.js";
import { countDeliveries } from "../src/store/records.js";
import { fixture, startTestServer, type TestServer } from "./helpers.js";
import { FORGE_SECRETS, giteaSign, postGitea } from "./forges-support.js";

type Payload = Record<string, any>;

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer({ forgeSecrets: FORGE_SECRETS });
});
afterEach(async () => {
  await server.close();
});

const db = () => server.store.db;
const gitea = (name: string): Payload => fixture(`gitea/${name}`);

describe("POST /api/webhooks/gitea", () => {
  test("is off (404) while GITEA_WEBHOOK_SECRET is unset", async () => {
    const off = await startTestServer({ forgeSecrets: {} });
    try {
      expect((await postGitea(off, "push", gitea("push.json"))).status).toBe(404);
      expect(await countDeliveries(off.store.db)).toBe(0);
    } finally {
      await off.close();
    }
  });

  test("a wrong, empty, missing or malformed signature is 401 and stores nothing", async () => {
    const payload = gitea("push.json");
    const body = JSON.stringify(payload);
    for (const signature of [giteaSign(body, "other-secret"), "", null, "sha256=" + giteaSign(body), giteaSign(body).slice(0, 63), giteaSign(`${body} `)]) {
      expect((await postGitea(server, "push", payload, { signature, body })).status).toBe(401);
    }
    expect(await countDeliveries(db())).toBe(0);
  });

  test("the signature is checked over the raw bytes (an uppercase hex digest is the same digest)", async () => {
    const body = JSON.stringify(gitea("push.json"));
    const answer = await postGitea(server, "push", undefined, { body, signature: giteaSign(body).toUpperCase() });
    expect(answer.status).toBe(200);
  });

  test("the docs' push is processed; its deprecated secret field is not stored", async () => {
    const answer = await postGitea(server, "push", gitea("push.json"), { delivery: "f6266f16-1bf3-46a5-9ea4-602e06ead473" });
    expect(answer).toEqual({ status: 200, body: { id: "gitea:f6266f16-1bf3-46a5-9ea4-602e06ead473", status: "processed" } });
    const [row] = await db().select().from(deliveries);
    expect(row).toMatchObject({ event: "gitea:push", repoSlug: "gitea/webhooks", status: "processed" });
    expect(row.payload).not.toHaveProperty("secret");
  });

  test("pull_request opened, then closed with merged: one gitea row moving forward", async () => {
    expect((await postGitea(server, "pull_request", gitea("pull_request.opened.json"))).body.status).toBe("processed");
    const [open] = await db().select().from(prOutcomes);
    expect(open).toMatchObject({ provider: "gitea", repoSlug: "gitea/webhooks", prNumber: 7, state: "open", author: "gitea", headRef: "retry-delivery", baseRef: "master", isFork: false });
    await postGitea(server, "pull_request", gitea("pull_request.closed.merged.json"));
    const late = await postGitea(server, "pull_request", gitea("pull_request.opened.json"));
    expect(late.body.note).toMatch(/stale/);
    const rows = await db().select().from(prOutcomes);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: "merged", mergedAt: "2017-03-14T13:00:00.000Z", mergeCommitSha: "c0ffee00d15ea5e5b0a710ad5ca1ab1e00c0ffee" });
  });

  test("a status lands in ci_runs as gitea-status, run id = status id", async () => {
    await postGitea(server, "status", gitea("status.json"));
    const [run] = await db().select().from(ciRuns);
    expect(run).toMatchObject({
      provider: "gitea-status",
      runId: "4021",
      repoSlug: "gitea/webhooks",
      commitSha: "bffeb74224043ba2feb48d137756c8a9331c449a",
      status: "failure",
      rawStatus: "failure",
      workflowName: "ci/woodpecker/push/test",
      htmlUrl: "https://ci.example.com/gitea/webhooks/pipeline/88",
      completedTs: "2017-03-13T18:04:00.000Z",
    });
  });

  test("workflow_run and workflow_job land on one gitea-actions row; the job never undoes the run's verdict", async () => {
    const job = await postGitea(server, "workflow_job", gitea("workflow_job.in_progress.json"));
    expect(job.body).toMatchObject({ status: "processed", note: "run 512 is running" });
    await postGitea(server, "workflow_run", gitea("workflow_run.completed.json"));
    expect((await postGitea(server, "workflow_job", gitea("workflow_job.in_progress.json"))).body.note).toMatch(/further along/);
    const rows = await db().select().from(ciRuns);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      provider: "gitea-actions",
      runId: "512",
      status: "failure",
      conclusion: "failure",
      workflowName: "CI",
      event: "pull_request",
      headBranch: "retry-delivery",
      completedTs: "2017-03-13T17:58:30.000Z",
      prNumbers: [],
    });
  });

  test("Forgejo's X-Forgejo-* headers are accepted alike", async () => {
    const answer = await postGitea(server, "status", gitea("status.json"), { forgejo: true, delivery: "fj-1" });
    expect(answer.body).toEqual({ id: "gitea:fj-1", status: "processed" });
    expect((await postGitea(server, "status", gitea("status.json"), { forgejo: true, delivery: "fj-1" })).body.status).toBe("duplicate");
  });

  test("a redelivery is a duplicate, by X-Gitea-Delivery or by content", async () => {
    await postGitea(server, "status", gitea("status.json"), { delivery: "d-1" });
    expect((await postGitea(server, "status", gitea("status.json"), { delivery: "d-1" })).body).toEqual({ id: "gitea:d-1", status: "duplicate" });
    const first = await postGitea(server, "push", gitea("push.json"), { delivery: null });
    expect((await postGitea(server, "push", gitea("push.json"), { delivery: null })).body).toEqual({ id: first.body.id, status: "duplicate" });
    expect(await countDeliveries(db())).toBe(2);
  });

  test("malformed but signed is 400 with the row kept as failed; unknown events are recorded and ignored", async () => {
    const bad = await postGitea(server, "pull_request", { action: "opened", repository: { full_name: "gitea/webhooks" } }, { delivery: "bad" });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ status: "failed", malformed: true });
    const other = await postGitea(server, "issues", { action: "opened", repository: { full_name: "gitea/webhooks" } }, { delivery: "issue" });
    expect(other.body).toMatchObject({ status: "ignored" });
    const rows = await db().select().from(deliveries);
    expect(rows.map((r) => [r.id, r.status]).sort()).toEqual([["gitea:bad", "failed"], ["gitea:issue", "ignored"]]);
  });
});

describe("Gitea reviews of a tracked fix", () => {
  test("pull_request_approved / _rejected on a fix PR become comment feedback, once each", async () => {
    const attempt = await createAttempt(db(), {
      repoSlug: "gitea/webhooks",
      chainId: "gitea/webhooks@bffeb74#ci",
      triggerProvider: "gitea-actions",
      triggerRunId: "512",
      headSha: "bffeb74224043ba2feb48d137756c8a9331c449a",
      status: "awaiting_ci",
    });
    await updateAttempt(db(), attempt.id, { inferenceId: "0192f1e2-7a3b-7c4d-8e5f-0000000c33cd", fixBranch: "fixloop/run-512", prNumber: 7 });
    const onFix = (name: string): Payload => {
      const payload = gitea(name);
      payload.pull_request.head.ref = "fixloop/run-512";
      return payload;
    };
    const approved = await postGitea(server, "pull_request_approved", onFix("pull_request_approved.json"), { delivery: "rev-1", eventType: "pull_request_review_approved" });
    expect(approved.body).toMatchObject({ status: "processed", note: "review feedback recorded" });
    await postGitea(server, "pull_request_rejected", onFix("pull_request_rejected.json"), { delivery: "rev-2", eventType: "pull_request_review_rejected" });
    const rows = await db().select().from(feedback);
    expect(rows.map((r) => [r.value, r.tags.review_state, r.tags.author])).toEqual([
      ["Looks right: one retry is enough here.", "approved", "reviewer"],
      ["Please retry only on 502/503, not every 5xx.", "changes_requested", "reviewer"],
    ]);
    const [pr] = await db().select().from(prOutcomes);
    expect(pr).toMatchObject({ provider: "gitea", prNumber: 7, linkedSessionIds: [attempt.id] });
    expect((await postGitea(server, "pull_request_approved", onFix("pull_request_approved.json"), { delivery: "rev-1" })).body.status).toBe("duplicate");
    const plain = await postGitea(server, "pull_request_approved", gitea("pull_request_approved.json"));
    expect(plain.body).toMatchObject({ status: "ignored", note: "not a fix PR" });
  });
});

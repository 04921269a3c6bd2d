import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { ciRunRawJson } from "../src/store/records.js";
import { ciRuns, deliveries, prOutcomes } from "../src/store/schema.js";
import { fixture, sign, startTestServer, type TestServer } from "./helpers.js";

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

/** Sends a delivery, lets the inbox process it, and returns the answer and the delivery's row. */
async function deliver(event: string, name: string, id?: string, payload: unknown = fixture(name)) {
  const response = await server.post(event, payload, { id });
  const body = (await response.json()) as Record<string, unknown>;
  const [row] = await db().select().from(deliveries).where(eq(deliveries.id, String(body.id)));
  return { status: response.status, body, row };
}

const db = () => server.store.db;

describe("pull_request", () => {
  test("opened records an open PR with refs, SHAs and author", async () => {
    const { status, body, row: delivery } = await deliver("pull_request", "pull_request.opened.json", "pr-1");
    expect(status).toBe(202);
    expect(body).toEqual({ id: "pr-1", status: "accepted" });
    expect(delivery).toMatchObject({ status: "processed", error: null });
    const [row] = await db().select().from(prOutcomes);
    expect(row).toMatchObject({
      provider: "github",
      repoSlug: "acme/widgets",
      prNumber: 42,
      title: "Fix widget parser on empty input",
      state: "open",
      author: "octodev",
      headRef: "fix-widget-parser",
      headSha: "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a",
      baseRef: "main",
      isFork: false,
      mergedAt: null,
      mergeCommitSha: null,
      downstreamTouchCount: 0,
      linkedSessionIds: [],
    });
    // Kept as GitHub sent it, fields fixloop does not read included (the schemas only check).
    expect(row.rawJson).toEqual((fixture("pull_request.opened.json") as { pull_request: unknown }).pull_request);
  });

  test("synchronize then closed (merged) moves the row forward", async () => {
    await deliver("pull_request", "pull_request.opened.json");
    await deliver("pull_request", "pull_request.synchronize.json");
    await deliver("pull_request", "pull_request.closed.json");
    const rows = await db().select().from(prOutcomes);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      state: "merged",
      mergedAt: "2024-05-02T13:00:00.000Z",
      closedAt: "2024-05-02T13:00:00.000Z",
      mergeCommitSha: "c0ffee00d15ea5e5b0a710ad5ca1ab1e00c0ffee",
    });
  });

  test("closed without merge is 'closed'", async () => {
    await deliver("pull_request", "pull_request.closed.unmerged.json");
    const [row] = await db().select().from(prOutcomes);
    expect(row).toMatchObject({ prNumber: 43, state: "closed", mergedAt: null, mergeCommitSha: null });
  });

  test("an older event arriving after a newer one never moves the row back", async () => {
    const first = await deliver("pull_request", "pull_request.closed.json");
    expect(first.row).toMatchObject({ status: "processed", note: null });
    const late = await deliver("pull_request", "pull_request.opened.json");
    expect(late.row).toMatchObject({ status: "processed", error: null, note: "stale event: a newer state is stored" });
    const [row] = await db().select().from(prOutcomes);
    expect(row.state).toBe("merged");
    expect(row.updatedAt).toBe("2024-05-02T13:00:00.000Z");
  });

  test("fork PR is marked as fork", async () => {
    await deliver("pull_request", "pull_request.opened.fork.json");
    const [row] = await db().select().from(prOutcomes);
    expect(row).toMatchObject({ prNumber: 44, isFork: true, headRepoSlug: "contrib/widgets" });
  });
});

describe("workflow_run", () => {
  test("the run row points at the stored delivery body instead of copying the run object", async () => {
    await deliver("workflow_run", "workflow_run.completed.json", "run-raw");
    const [row] = await db().select({ rawJson: ciRuns.rawJson, rawDeliveryId: ciRuns.rawDeliveryId, rawPath: ciRuns.rawPath, raw: ciRunRawJson }).from(ciRuns);
    expect(row).toMatchObject({ rawJson: null, rawDeliveryId: "run-raw", rawPath: "$.workflow_run" });
    expect(row.raw).toEqual(fixture<{ workflow_run: unknown }>("workflow_run.completed.json").workflow_run);
  });

  test("requested → in_progress → completed: one row, final status failure, raw conclusion kept", async () => {
    for (const action of ["requested", "in_progress", "completed"]) {
      expect((await deliver("workflow_run", `workflow_run.${action}.json`)).status).toBe(202);
    }
    const rows = await db().select().from(ciRuns);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      provider: "github-actions",
      repoSlug: "acme/widgets",
      runId: "9120304501",
      commitSha: "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a",
      headBranch: "fix-widget-parser",
      event: "pull_request",
      status: "failure",
      rawStatus: "completed",
      conclusion: "failure",
      workflowName: "CI",
      runAttempt: 1,
      prNumbers: [42],
      startedTs: "2024-05-02T12:00:05.000Z",
      completedTs: "2024-05-02T12:04:41.000Z",
      htmlUrl: "https://github.com/acme/widgets/actions/runs/9120304501",
    });
  });

  test("in_progress after completed is ignored", async () => {
    const first = await deliver("workflow_run", "workflow_run.completed.json");
    expect(first.row).toMatchObject({ status: "processed", note: "fix job 1 enqueued" });
    const late = await deliver("workflow_run", "workflow_run.in_progress.json");
    expect(late.row).toMatchObject({ status: "processed", error: null, note: "stale event: a newer state is stored" });
    const [row] = await db().select().from(ciRuns);
    expect(row.status).toBe("failure");
    expect(row.completedTs).toBe("2024-05-02T12:04:41.000Z");
  });

  test("a re-run (attempt 2) legitimately goes back to in_progress", async () => {
    await deliver("workflow_run", "workflow_run.completed.json");
    const rerun = fixture<{ workflow_run: Record<string, unknown> }>("workflow_run.in_progress.json");
    rerun.workflow_run.run_attempt = 2;
    rerun.workflow_run.updated_at = "2024-05-02T12:30:00Z";
    await server.post("workflow_run", rerun);
    const [row] = await db().select().from(ciRuns);
    expect(row).toMatchObject({ status: "in_progress", runAttempt: 2, completedTs: null });
  });

  test("a later event naming another commit or branch still moves the row (and an older one still does not)", async () => {
    await deliver("workflow_run", "workflow_run.in_progress.json");
    const moved = fixture<{ workflow_run: Record<string, unknown> }>("workflow_run.completed.json");
    moved.workflow_run.head_sha = "0123456789abcdef0123456789abcdef01234567";
    moved.workflow_run.head_branch = "renamed-branch";
    expect((await deliver("workflow_run", "workflow_run.completed.json", undefined, moved)).row).toMatchObject({ status: "processed" });
    const late = fixture<{ workflow_run: Record<string, unknown> }>("workflow_run.in_progress.json");
    late.workflow_run.head_branch = null;
    expect((await deliver("workflow_run", "workflow_run.in_progress.json", undefined, late)).row).toMatchObject({ note: "stale event: a newer state is stored" });
    const rows = await db().select().from(ciRuns);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "failure", commitSha: "0123456789abcdef0123456789abcdef01234567", headBranch: "renamed-branch" });
  });

  test("a later event without pull_requests keeps the PR link the run already had", async () => {
    await deliver("workflow_run", "workflow_run.in_progress.json");
    const later = fixture<{ workflow_run: Record<string, unknown> }>("workflow_run.completed.json");
    later.workflow_run.pull_requests = [];
    await server.post("workflow_run", later);
    const [row] = await db().select().from(ciRuns);
    expect(row).toMatchObject({ status: "failure", prNumbers: [42] });
  });

  test("fork PR runs carry no pull_requests: linked by head SHA, whichever arrives first", async () => {
    await deliver("workflow_run", "workflow_run.completed.fork.json");
    let [run] = await db().select().from(ciRuns);
    expect(run.prNumbers).toEqual([]);
    await deliver("pull_request", "pull_request.opened.fork.json");
    [run] = await db().select().from(ciRuns);
    expect(run.prNumbers).toEqual([44]);

    // And the other order: PR first, then the run.
    await db().delete(ciRuns);
    const again = fixture<{ workflow_run: Record<string, unknown> }>("workflow_run.completed.fork.json");
    await server.post("workflow_run", again);
    [run] = await db().select().from(ciRuns);
    expect(run.prNumbers).toEqual([44]);
  });
});

describe("check_suite", () => {
  test("a non-Actions app's suite is recorded as github-checks", async () => {
    await deliver("check_suite", "check_suite.requested.json");
    await deliver("check_suite", "check_suite.completed.json");
    const rows = await db().select().from(ciRuns);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      provider: "github-checks",
      runId: "23456789999",
      status: "failure",
      conclusion: "failure",
      workflowName: "CircleCI Checks",
      appSlug: "circleci-checks",
      prNumbers: [42],
    });
  });

  test("rerequested after completed goes back to in_progress (newer updated_at)", async () => {
    await deliver("check_suite", "check_suite.completed.json");
    await deliver("check_suite", "check_suite.rerequested.json");
    const [row] = await db().select().from(ciRuns);
    expect(row).toMatchObject({ status: "in_progress", rawStatus: "queued", conclusion: null });
  });

  test("GitHub Actions suites are skipped: workflow_run covers them", async () => {
    const { body } = await deliver("check_suite", "check_suite.completed.actions.json", "cs-actions");
    expect(body).toMatchObject({ status: "accepted" });
    expect(await db().select().from(ciRuns)).toHaveLength(0);
    const [delivery] = await db().select().from(deliveries);
    expect(delivery).toMatchObject({ id: "cs-actions", status: "ignored", event: "check_suite", action: "completed" });
  });
});

describe("deliveries", () => {
  test("a delivery POSTed to the site root (where Probot's setup page registers the webhook) is taken like one at the webhook path", async () => {
    const body = JSON.stringify(fixture("pull_request.opened.json"));
    const headers = { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": "at-root", "x-hub-signature-256": sign(body) };
    const response = await fetch(`${server.url}/`, { method: "POST", headers, body });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id: "at-root", status: "accepted" });
    // Without GitHub's headers the root is not a webhook route.
    expect((await fetch(`${server.url}/`, { method: "POST", body: "{}" })).status).not.toBe(202);
    const [row] = await db().select().from(deliveries).where(eq(deliveries.id, "at-root"));
    expect(row).toMatchObject({ event: "pull_request", status: "received" });
  });

  test("each delivery is recorded with event, action, repo, installation and raw payload", async () => {
    await deliver("workflow_run", "workflow_run.completed.json", "d-1");
    const [row] = await db().select().from(deliveries);
    expect(row).toMatchObject({
      id: "d-1",
      event: "workflow_run",
      action: "completed",
      repoSlug: "acme/widgets",
      installationId: 48213377,
      status: "processed",
      error: null,
      attempts: 1,
    });
    expect(row.payload).toEqual(fixture("workflow_run.completed.json"));
  });

  test("a redelivered id changes nothing and is answered as a duplicate", async () => {
    await deliver("pull_request", "pull_request.opened.json", "same-id");
    const before = await db().select().from(prOutcomes);
    // Same id, different content: must not be applied.
    const changed = fixture<{ pull_request: Record<string, unknown> }>("pull_request.closed.json");
    const response = await server.post("pull_request", changed, { id: "same-id" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: "same-id", status: "duplicate" });
    expect(await db().select().from(prOutcomes)).toEqual(before);
    expect(await db().select().from(deliveries)).toHaveLength(1);
  });

  test("concurrent copies of one delivery are stored and processed once", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => server.post("workflow_run", fixture("workflow_run.completed.json"), { id: "burst" }).then((r) => r.json())),
    );
    const statuses = answers.map((a) => (a as { status: string }).status).sort();
    expect(statuses.filter((s) => s === "accepted")).toHaveLength(1);
    expect(statuses.filter((s) => s === "duplicate")).toHaveLength(7);
    expect(await db().select().from(deliveries)).toHaveLength(1);
  });

  test("the body is parsed by the processor: action, repository and installation are recorded when it settles the delivery", async () => {
    const response = await server.post("workflow_run", fixture("workflow_run.completed.json"), { id: "facts-1" });
    expect(response.status).toBe(202);
    const [row] = await db().select().from(deliveries).where(eq(deliveries.id, "facts-1"));
    expect(row).toMatchObject({ status: "processed", action: "completed", repoSlug: "acme/widgets", installationId: expect.any(Number) });
  });

  test("a signed body that looks like a JSON object but is not one is accepted, then failed as malformed for a person to see", async () => {
    const response = await server.post("workflow_run", null, { id: "not-json", body: '{"action": "completed", }' });
    expect(response.status).toBe(202);
    const [row] = await db().select().from(deliveries).where(eq(deliveries.id, "not-json"));
    expect(row).toMatchObject({ status: "failed", attempts: 1, action: null, repoSlug: null, payload: '{"action": "completed", }' });
    expect(row.error).toMatch(/not a JSON object/);
  });

  test("events fixloop does not handle are recorded as ignored", async () => {
    const response = await server.post("installation", { action: "created", installation: { id: 1 }, sender: { login: "x" } }, { id: "inst-1" });
    expect(await response.json()).toMatchObject({ status: "accepted" });
    const [row] = await db().select().from(deliveries);
    expect(row).toMatchObject({ id: "inst-1", status: "ignored", repoSlug: null, installationId: 1 });
  });

  test("a signed payload the handler cannot read is stored, then failed at once (no retries), and a redelivery is taken in again", async () => {
    const broken = { action: "completed", repository: { full_name: "acme/widgets" }, workflow_run: { id: "not-a-number" } };
    const response = await server.post("workflow_run", broken, { id: "bad-shape" });
    expect(response.status).toBe(202);
    let [row] = await db().select().from(deliveries).where(eq(deliveries.id, "bad-shape"));
    expect(row).toMatchObject({ status: "failed", attempts: 1, nextAttemptAt: null });
    expect(row.error).toMatch(/workflow_run\.workflow_run is malformed: id: .*head_sha/s);

    // GitHub's redelivery of the (now readable) delivery is processed, not answered as duplicate.
    const fixed = await server.post("workflow_run", fixture("workflow_run.completed.json"), { id: "bad-shape" });
    expect(await fixed.json()).toMatchObject({ status: "accepted" });
    [row] = await db().select().from(deliveries).where(eq(deliveries.id, "bad-shape"));
    expect(row).toMatchObject({ status: "processed", attempts: 1, error: null });
    expect(await db().select().from(ciRuns)).toHaveLength(1);
  });
});

describe("refused requests store nothing", () => {
  const payload = () => fixture("workflow_run.completed.json");

  test.each([
    ["wrong secret", { secret: "not-the-secret" }, 401],
    ["tampered signature", { signature: "sha256=" + "0".repeat(64) }, 401],
    ["garbage signature", { signature: "sha1=abc" }, 401],
    ["missing signature", { signature: null }, 400],
  ])("%s → %i", async (_name, options, expected) => {
    const response = await server.post("workflow_run", payload(), options as never);
    expect(response.status).toBe(expected);
    expect(await db().select().from(deliveries)).toHaveLength(0);
    expect(await db().select().from(ciRuns)).toHaveLength(0);
  });

  test("a signed body that is not shaped like a JSON object → 400", async () => {
    const response = await server.post("workflow_run", null, { body: '{"action": "completed", ' });
    expect(response.status).toBe(400);
    expect(await db().select().from(deliveries)).toHaveLength(0);
  });

  test("a JSON body that is not an object → 400", async () => {
    const response = await server.post("workflow_run", null, { body: "[1,2,3]" });
    expect(response.status).toBe(400);
    expect(await db().select().from(deliveries)).toHaveLength(0);
  });

  test("missing event or delivery headers → 400; wrong content type → 415; GET → 405", async () => {
    const body = JSON.stringify(payload());
    const noEvent = await fetch(`${server.url}/api/github/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": "sha256=00" },
      body,
    });
    expect(noEvent.status).toBe(400);
    expect(await noEvent.json()).toMatchObject({ error: expect.stringMatching(/x-github-event, x-github-delivery/) });
    const form = await fetch(`${server.url}/api/github/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-github-event": "ping", "x-github-delivery": "1", "x-hub-signature-256": "sha256=00" },
      body: "payload=%7B%7D",
    });
    expect(form.status).toBe(415);
    expect((await fetch(`${server.url}/api/github/webhooks`)).status).toBe(405);
    expect(await db().select().from(deliveries)).toHaveLength(0);
  });
});

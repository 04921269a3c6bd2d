import { randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAttempt, updateAttempt } from "../src/store/attempts.js";
import { pullRequestSchema, toPrOutcomeRow } from "../src/ingest/map.js";
import { checkMergedDiff, outcomeJobHandlers } from "../src/outcomes/jobs.js";
import { CURSORS, runPeriodicOutcomeChecks, type OutcomeDeps } from "../src/outcomes/periodic.js";
import { readCursor } from "../src/store/cursors.js";
import { createLibsqlQueue, type JobContext } from "../src/queue/index.js";
import { deliveryRecords, feedback, jobs, prOutcomes } from "../src/store/schema.js";
import { upsertPrOutcome } from "../src/store/records.js";
import { fixture, silentLog, startTestServer, type TestServer } from "./helpers.js";
import { EPISODE_ID, INFERENCE_ID, REPO, REVERT_SHA, seedFixAttempt, seedUnsettledClosedFixPrs, testOctokit } from "./outcomes-setup.js";

const API = "https://api.github.com";

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

const db = () => server.store.db;

function deps(now?: string): OutcomeDeps {
  return {
    store: server.store,
    github: async () => testOctokit(),
    log: silentLog(),
    queue: createLibsqlQueue(server.store),
    windowDays: 30,
    now: now ? () => new Date(now) : undefined,
  };
}

async function deliver(event: string, payload: unknown) {
  const response = await server.post(event, payload, { id: randomUUID() });
  expect(response.status).toBe(202);
}

async function pr57() {
  const [row] = await db().select().from(prOutcomes).where(eq(prOutcomes.prNumber, 57));
  return row;
}

/** PR #100's row as stored, to write it again. */
async function pr100Row() {
  const [row] = await db().select().from(prOutcomes).where(eq(prOutcomes.prNumber, 100));
  const { id: _id, ...rest } = row;
  return rest;
}

async function feedbackRows() {
  return db().select().from(feedback).orderBy(asc(feedback.id));
}

async function metric(name: string) {
  return (await feedbackRows()).filter((r) => r.metricName === name);
}

/** A push fixture's commits as `GET /repos/{o}/{r}/commits` lists them. */
function listed(fixtureName: string, shas?: string[]) {
  const push = fixture<{ commits: { id: string; message: string; timestamp: string; author: { username: string; email: string } }[] }>(fixtureName);
  return push.commits
    .filter((c) => !shas || shas.includes(c.id))
    .map((c) => ({
      sha: c.id,
      commit: {
        message: c.message,
        author: { name: c.author.username, email: c.author.email, date: c.timestamp },
        committer: { name: "GitHub", email: "noreply@github.com", date: c.timestamp },
      },
      author: { login: c.author.username },
    }));
}

const TOUCHING_PARSER = ["1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f", "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"];

/** The base branch's history of src/parser.ts in the window, over two pages. */
function nockParserHistory(extra: unknown[] = []) {
  const items = [...listed("push.main.fix-merge.json"), ...listed("push.main.touches.json", TOUCHING_PARSER), ...extra];
  const queries: Record<string, string>[] = [];
  const scope = nock(API)
    .get("/repos/acme/widgets/commits")
    .query((q) => {
      queries.push(q as Record<string, string>);
      return q.page === undefined;
    })
    .reply(200, items.slice(0, 2), { link: `<${API}/repos/acme/widgets/commits?sha=main&page=2>; rel="next"` })
    .get("/repos/acme/widgets/commits")
    .query((q) => q.page === "2")
    .reply(200, items.slice(2));
  return { scope, queries };
}

describe("demonstration for an edited merge", () => {
  const EDITED = `diff --git a/src/parser.ts b/src/parser.ts
index 3b18e51..a9c2f07 100644
--- a/src/parser.ts
+++ b/src/parser.ts
@@ -10,6 +10,9 @@ export function parse(input: string): Widget[] {
   const tokens = lex(input);
-  if (tokens.length === 0) return [];
+  if (tokens.length === 0) {
+    log.warn("empty widget input");
+    return [];
+  }
   const token = tokens[0];
-  const depth = token.value;
+  const depth = Number(token.value);
   return build(tokens, depth);
 }
`;
  // The model's change exactly, as GitHub renders it: other header, other context, other indentation.
  const UNEDITED = `diff --git a/src/parser.ts b/src/parser.ts
index 3b18e51..77d0c12 100644
--- a/src/parser.ts
+++ b/src/parser.ts
@@ -11,5 +11,5 @@ export function parse(input: string): Widget[] {
   if (tokens.length === 0) return [];
   const token = tokens[0];
-    const depth = token.value;
+    const depth = Number(token.value);
   return build(tokens, depth);
`;

  function nockDiff(body: string) {
    return nock(API).get("/repos/acme/widgets/pulls/57").matchHeader("accept", "application/vnd.github.v3.diff").reply(200, body, { "content-type": "text/plain" });
  }

  test("a person changed the fix before merging → the merged diff is sent as a demonstration, once", async () => {
    const attempt = await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    const scope = nockDiff(EDITED);
    const handlers = outcomeJobHandlers(deps());
    const outcome = await handlers["outcome-merged"]({ repo: REPO, prNumber: 57 }, {} as JobContext);
    expect(outcome).toEqual({ status: "done", result: { status: "edited", feedbackCreated: true } });
    scope.done();
    const [demo] = await metric("demonstration");
    expect(demo).toMatchObject({ attemptId: attempt.id, targetType: "inference", targetId: INFERENCE_ID, dedupKey: "pr:acme/widgets#57" });
    expect(demo.value).toEqual([
      { type: "text", text: `The depth arrives as a string; coerce it to a number before building.\n\n\`\`\`diff\n${EDITED}\`\`\`` },
    ]);

    nockDiff(EDITED);
    expect(await checkMergedDiff(deps(), { repo: REPO, prNumber: 57 })).toEqual({ status: "edited", feedbackCreated: false });
    expect(await metric("demonstration")).toHaveLength(1);
  });

  test("merged as the model wrote it → no demonstration", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    const scope = nockDiff(UNEDITED);
    expect(await checkMergedDiff(deps(), { repo: REPO, prNumber: 57 })).toEqual({ status: "unedited" });
    scope.done();
    expect(await metric("demonstration")).toEqual([]);
  });

  test("a PR too large for GitHub's diff → skipped, no demonstration", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    nock(API).get("/repos/acme/widgets/pulls/57").reply(406, { message: "Sorry, the diff exceeded the maximum number of files (300)." });
    expect(await checkMergedDiff(deps(), { repo: REPO, prNumber: 57 })).toMatchObject({ status: "skipped", reason: expect.stringMatching(/406/) });
    expect(await metric("demonstration")).toEqual([]);
  });
});

describe("held up", () => {
  test("true once the window has passed clean; the API backfill finds the same 3 touches the pushes would have", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    const { scope, queries } = nockParserHistory();
    const result = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-15T00:00:00Z") });
    scope.done();
    expect(queries[0]).toMatchObject({ sha: "main", path: "src/parser.ts", since: "2024-05-10T12:00:00.000Z", until: "2024-06-09T12:00:00.000Z", per_page: "100" });
    expect(result).toMatchObject({ backfilled: 1, touchesAdded: 3, heldUp: { true: 1, false: 0, pending: 0 }, requests: 2, failures: [] });
    expect(await pr57()).toMatchObject({ downstreamTouchCount: 3, lastDownstreamTouchTs: "2024-06-04T13:30:00.000Z" });
    expect((await metric("fixloop_held_up")).map((f) => [f.targetId, f.value, f.dedupKey])).toEqual([[EPISODE_ID, true, "pr:acme/widgets#57"]]);

    // Decided: the next run reads nothing from GitHub (nock would refuse) and writes nothing.
    const before = await feedbackRows();
    const again = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-16T00:00:00Z") });
    expect(again).toMatchObject({ backfilled: 0, touchesAdded: 0, heldUp: { true: 0, false: 0, pending: 0 }, failures: [] });
    expect(await feedbackRows()).toEqual(before);
  });

  test("false after a revert: decided when the revert is seen, not changed when the window ends", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    await deliver("push", fixture("push.main.revert.json"));
    expect((await metric("fixloop_held_up")).map((f) => f.value)).toEqual([false]);
    const result = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-07-01T00:00:00Z") });
    expect(result).toMatchObject({ backfilled: 0, heldUp: { true: 0, false: 0, pending: 0 } });
    expect((await metric("fixloop_held_up")).map((f) => f.value)).toEqual([false]);
  });

  test("false when another fix chain changed the same files within the window", async () => {
    await seedFixAttempt(db());
    const other = await createAttempt(db(), {
      repoSlug: REPO,
      chainId: `${REPO}@1111111111111111111111111111111111111111#ci`,
      triggerProvider: "github-actions",
      triggerRunId: "9125550001",
      headSha: "1111111111111111111111111111111111111111",
      headBranch: "main",
      status: "ci_passed",
      changedFiles: ["src/parser.ts", "src/lexer.ts"],
    });
    // Opened within the window (createAttempt stamps the present).
    await updateAttempt(db(), other.id, { createdAt: "2024-05-25T08:00:00.000Z" });
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    nock(API).get("/repos/acme/widgets/commits").query(true).reply(200, []);
    const result = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-15T00:00:00Z") });
    expect(result.heldUp).toEqual({ true: 0, false: 1, pending: 0 });
    expect((await metric("fixloop_held_up")).map((f) => f.value)).toEqual([false]);
  });

  test("the held-up job waits while the window is open, then decides", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    await deliver("push", fixture("push.main.touches.json"));
    nock(API).get("/repos/acme/widgets/commits").query(true).reply(200, listed("push.main.touches.json", TOUCHING_PARSER.slice(0, 2)));
    const early = await outcomeJobHandlers(deps("2024-05-30T12:00:00Z"))["outcome-held-up"]({ repo: REPO, prNumber: 57 }, {} as JobContext);
    expect(early).toEqual({ status: "wait", delayMs: 10 * 86_400_000, reason: "window open until 2024-06-09T12:00:00.000Z" });
    expect(await metric("fixloop_held_up")).toEqual([]);

    nockParserHistory();
    const late = await outcomeJobHandlers(deps("2024-06-10T00:00:00Z"))["outcome-held-up"]({ repo: REPO, prNumber: 57 }, {} as JobContext);
    expect(late).toMatchObject({ status: "done", result: { status: "checked", verdict: { verdict: true, feedbackCreated: true } } });
    // Pushes and the API saw the same commits: counted once.
    expect((await pr57()).downstreamTouchCount).toBe(3);
  });
});

describe("outcomes found by backfill produce the same feedback as live events", () => {
  /** The feedback as TensorZero would receive it. */
  async function sent() {
    return (await feedbackRows()).map((f) => ({ metric: f.metricName, target: f.targetId, value: f.value, tags: f.tags, dedupKey: f.dedupKey }));
  }

  test("a revert only the API listing saw", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    await deliver("push", fixture("push.main.revert.json"));
    const live = { row: await pr57(), feedback: await sent() };

    await server.close();
    server = await startTestServer();
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    nockParserHistory(listed("push.main.revert.json"));
    await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-15T00:00:00Z") });
    const backfilled = await pr57();
    expect({ revertedAt: backfilled.revertedAt, revertedBy: backfilled.revertedBy }).toEqual({ revertedAt: live.row.revertedAt, revertedBy: REVERT_SHA });
    expect(await sent()).toEqual(live.feedback);
  });

  test("PR rows written by `fixloop backfill` (no webhook) are settled by the sweep: merged, revert PR, follow-up jobs", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    await deliver("pull_request", fixture("pull_request.closed.fix-revert.json"));
    const live = { feedback: await sent(), row: await pr57() };
    expect(live.feedback.map((f) => f.metric).sort()).toEqual(["fixloop_held_up", "fixloop_pr_merged", "fixloop_pr_reverted"]);

    await server.close();
    server = await startTestServer();
    const attempt = await seedFixAttempt(db());
    for (const name of ["pull_request.closed.fix-merged.json", "pull_request.closed.fix-revert.json"]) {
      const pr = pullRequestSchema.parse(fixture<{ pull_request: unknown }>(name).pull_request);
      await upsertPrOutcome(db(), toPrOutcomeRow(REPO, pr, new Date().toISOString()));
    }
    const result = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-05-21T00:00:00Z") });
    expect(result).toMatchObject({ settled: 1, revertedByPr: 1, failures: [] });
    expect(await sent()).toEqual(live.feedback);
    const row = await pr57();
    expect({ revertedAt: row.revertedAt, revertedBy: row.revertedBy, linked: row.linkedSessionIds }).toEqual({
      revertedAt: live.row.revertedAt,
      revertedBy: "acme/widgets#58",
      linked: [attempt.id],
    });
    expect((await db().select().from(jobs)).map((j) => j.kind).sort()).toEqual(["outcome-held-up", "outcome-merged"]);
    // A second sweep finds everything settled.
    expect(await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-05-21T01:00:00Z") })).toMatchObject({ settled: 0 });
    expect(await sent()).toEqual(live.feedback);
  });
});

describe("open windows of a repository that sends no push events", () => {
  test("one backfill job per branch and 6-hour slot; the job counts the touches the pushes would have", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    const first = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-05T07:00:00Z") });
    const again = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-05T11:59:00Z") });
    expect([first.backfillsQueued, again.backfillsQueued]).toEqual([1, 0]);
    expect(first.heldUp).toEqual({ true: 0, false: 0, pending: 1 });
    const queued = await db().select().from(jobs).where(eq(jobs.kind, "outcome-backfill"));
    expect(queued.map((j) => [j.payload, j.dedupKey])).toEqual([[{ repo: REPO, branch: "main" }, "outcome-backfill:acme/widgets:main:2024-06-05T06:00:00.000Z"]]);

    const { scope, queries } = nockParserHistory();
    const outcome = await outcomeJobHandlers(deps("2024-06-05T07:05:00Z"))["outcome-backfill"](queued[0].payload, {} as JobContext);
    scope.done();
    expect(queries[0]).toMatchObject({ since: "2024-05-10T12:00:00.000Z", until: "2024-06-05T07:05:00.000Z" });
    expect(outcome).toMatchObject({ status: "done", result: [{ prNumber: 57, touchesAdded: 3 }] });
    expect((await pr57()).downstreamTouchCount).toBe(3);
    expect(await metric("fixloop_held_up")).toEqual([]);
  });

  test("a repository whose pushes arrive is not read while the window is open", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    await deliver("push", fixture("push.main.touches.json"));
    const result = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-05T07:00:00Z") });
    expect(result).toMatchObject({ backfilled: 0, backfillsQueued: 0, heldUp: { pending: 1 } });
  });

  test("a push still waiting in the inbox counts as arrived (its repository is read from the stored body)", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    const waiting = await server.post("push", fixture("push.main.touches.json"), { id: randomUUID(), process: false });
    expect(waiting.status).toBe(202);
    const [row] = await db().select().from(deliveryRecords).where(eq(deliveryRecords.event, "push"));
    expect({ status: row.status, repoSlug: row.repoSlug }).toEqual({ status: "received", repoSlug: null });
    const result = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-05T07:00:00Z") });
    expect(result).toMatchObject({ backfillsQueued: 0, heldUp: { pending: 1 } });
  });

  test("a waiting push of another repository does not count", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    const push = fixture<{ repository: { full_name: string } }>("push.main.touches.json");
    const elsewhere = { ...push, repository: { ...push.repository, full_name: "acme/other" } };
    expect((await server.post("push", elsewhere, { id: randomUUID(), process: false })).status).toBe(202);
    const result = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-05T07:00:00Z") });
    expect(result).toMatchObject({ backfillsQueued: 1 });
  });
});

describe("the periodic checks are incremental and stop at their deadline", () => {
  const settledPrs = async () => (await metric("fixloop_pr_merged")).map((f) => f.dedupKey).sort();

  test("the cursor advances: a second run looks at nothing it has seen, only at what was written since", async () => {
    await seedUnsettledClosedFixPrs(db(), 3);
    const first = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-05-21T00:00:00Z") });
    expect(first).toMatchObject({ settled: 3, examined: 3, stoppedEarly: false });
    expect(await readCursor(db(), CURSORS.settle)).toEqual({ at: "2024-05-20T00:00:02.000Z", id: expect.any(Number) });

    const again = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-05-21T00:05:00Z") });
    expect(again).toMatchObject({ settled: 0, examined: 0 });

    // A row written since (a PR backfilled later): the next run looks at that one only.
    await upsertPrOutcome(db(), { ...(await pr100Row()), recordedAt: "2024-05-21T00:06:00.000Z" });
    const later = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-05-21T00:10:00Z") });
    expect(later).toMatchObject({ settled: 0, examined: 1 });
    expect(await settledPrs()).toEqual(["pr:acme/widgets#100:closed", "pr:acme/widgets#101:closed", "pr:acme/widgets#102:closed"]);
  });

  test("a run out of time stops between two PRs; the next run finishes the rest, nothing twice", async () => {
    await seedUnsettledClosedFixPrs(db(), 5);
    let left = 2;
    const budget = { remainingMs: () => (left-- > 0 ? 1_000 : 0) };
    const cut = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-05-21T00:00:00Z"), budget });
    expect(cut).toMatchObject({ settled: 2, examined: 2, stoppedEarly: true });
    expect(await settledPrs()).toEqual(["pr:acme/widgets#100:closed", "pr:acme/widgets#101:closed"]);

    const rest = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-05-21T00:05:00Z") });
    expect(rest).toMatchObject({ settled: 3, examined: 3, stoppedEarly: false });
    expect(await settledPrs()).toEqual([100, 101, 102, 103, 104].map((n) => `pr:acme/widgets#${n}:closed`));
  });

  test("a closed window with no verdict to give (no episode) is read through the API once, not on every run", async () => {
    await seedFixAttempt(db(), { episodeId: null });
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    const { scope } = nockParserHistory();
    const first = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-15T00:00:00Z") });
    scope.done();
    expect(first).toMatchObject({ backfilled: 1, requests: 2, heldUp: { true: 0, false: 0, pending: 0 } });
    // No feedback could be written, yet the next run does not read GitHub again (nock would refuse).
    const again = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-16T00:00:00Z") });
    expect(again).toMatchObject({ backfilled: 0, requests: 0, examined: 0, failures: [] });
  });

  test("open windows are looked at once per 6-hour slot", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    await deliver("push", fixture("push.main.touches.json"));
    const first = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-05T07:00:00Z") });
    const sameSlot = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-05T11:59:00Z") });
    const nextSlot = await runPeriodicOutcomeChecks({ ...deps(), now: new Date("2024-06-05T12:00:00Z") });
    expect([first, sameSlot, nextSlot].map((r) => [r.examined, r.heldUp.pending])).toEqual([
      [2, 1], // the settle sweep's row (#57) and its open window
      [0, 0],
      [1, 1],
    ]);
  });
});

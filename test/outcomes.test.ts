import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createAttempt } from "../src/store/attempts.js";
import { drainFeedbackOutbox } from "../src/outcomes/outbox.js";
import { downstreamTouches, feedback, jobs, prOutcomes } from "../src/store/schema.js";
import { fixture, silentLog, startTestServer, type TestServer } from "./helpers.js";
import { EPISODE_ID, FAILING_SHA, INFERENCE_ID, outcomeState, REPO, seedFixAttempt } from "./outcomes-setup.js";

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

const db = () => server.store.db;
const GATEWAY = "http://tensorzero.test:3000";

async function deliver(event: string, payload: unknown, id: string = randomUUID()) {
  return server.deliver(event, payload, { id });
}

async function pr57() {
  const [row] = await db().select().from(prOutcomes).where(eq(prOutcomes.prNumber, 57));
  return row;
}

async function feedbackOf(metric: string) {
  return db().select().from(feedback).where(eq(feedback.metricName, metric));
}

describe("fix PR closed", () => {
  test("merged → fixloop_pr_merged true for the episode, PR linked to the attempt, follow-up jobs queued", async () => {
    const attempt = await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    const rows = await feedbackOf("fixloop_pr_merged");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ attemptId: attempt.id, targetType: "episode", targetId: EPISODE_ID, value: true, status: "pending" });
    expect(rows[0].tags).toMatchObject({ repo: REPO, pr: "57" });
    expect((await pr57()).linkedSessionIds).toEqual([attempt.id]);
    const queued = await db().select().from(jobs);
    expect(queued.map((j) => j.kind).sort()).toEqual(["outcome-held-up", "outcome-merged"]);
    // The verdict job waits for the end of the 30-day window.
    expect(queued.find((j) => j.kind === "outcome-held-up")!.runAfter).toBe("2024-06-09T12:00:00.000Z");
  });

  test("closed without merge → fixloop_pr_merged false, no follow-up jobs", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-unmerged.json"));
    const rows = await feedbackOf("fixloop_pr_merged");
    expect(rows.map((r) => [r.targetId, r.value])).toEqual([[EPISODE_ID, false]]);
    expect(await db().select().from(jobs)).toEqual([]);
  });

  test("a PR fixloop closed because a later attempt replaced it says nothing about the chain", async () => {
    const first = await seedFixAttempt(db());
    await createAttempt(db(), {
      repoSlug: REPO,
      chainId: first.chainId,
      attemptNumber: 2,
      triggerProvider: "github-actions",
      triggerRunId: "9120304777",
      headSha: FAILING_SHA,
      headBranch: "main",
      status: "awaiting_ci",
      episodeId: EPISODE_ID,
      fixBranch: "fixloop/run-9120304501-2",
      prNumber: 61,
    });
    await deliver("pull_request", fixture("pull_request.closed.fix-unmerged.json"));
    expect(await feedbackOf("fixloop_pr_merged")).toEqual([]);
    expect((await pr57()).linkedSessionIds).toEqual([first.id]);
  });

  test("an ordinary PR closing records no outcome feedback", async () => {
    await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.json"));
    expect(await db().select().from(feedback)).toEqual([]);
  });
});

describe("downstream touches from push events", () => {
  test("3 touches counted: not the merge itself, not a commit touching other files, not one after the 30-day window", async () => {
    const attempt = await seedFixAttempt(db());
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    await deliver("push", fixture("push.main.fix-merge.json"));
    expect((await pr57()).downstreamTouchCount).toBe(0);
    const answer = await deliver("push", fixture("push.main.touches.json"));
    expect(answer.note).toMatch(/3 downstream touch/);
    await deliver("push", fixture("push.main.late-touch.json"));
    const row = await pr57();
    expect(row.downstreamTouchCount).toBe(3);
    expect(row.lastDownstreamTouchTs).toBe("2024-06-04T13:30:00.000Z");
    const ledger = await db().select().from(downstreamTouches).where(eq(downstreamTouches.attemptId, attempt.id));
    expect(ledger.map((l) => l.commitSha).sort()).toEqual([
      "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
      "3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f",
      "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
    ]);
    expect(ledger.every((l) => l.prNumber === 57 && l.files.length > 0)).toBe(true);
  });

  test("a push before the fix PR is known to be merged counts nothing; pushes to other branches count nothing", async () => {
    await seedFixAttempt(db());
    await deliver("push", fixture("push.main.touches.json"));
    await deliver("pull_request", fixture("pull_request.closed.fix-merged.json"));
    const other = fixture("push.main.touches.json");
    other.ref = "refs/heads/release-1.x";
    await deliver("push", other);
    expect((await pr57()).downstreamTouchCount).toBe(0);
  });
});

describe("review comments on fix PRs", () => {
  test("a review with a body and a line comment → one comment feedback each, for the fix's inference", async () => {
    const attempt = await seedFixAttempt(db());
    await deliver("pull_request_review", fixture("pull_request_review.submitted.json"));
    await deliver("pull_request_review_comment", fixture("pull_request_review_comment.created.json"));
    const rows = await feedbackOf("comment");
    expect(rows).toHaveLength(2);
    const review = rows.find((r) => r.dedupKey === "review:2024051001")!;
    expect(review).toMatchObject({ attemptId: attempt.id, targetType: "inference", targetId: INFERENCE_ID });
    expect(review.value).toBe("Coercing is right, but keep the guard: log the empty input instead of returning silently.");
    expect(review.tags).toMatchObject({ review_state: "changes_requested", author: "octodev", kind: "review" });
    const line = rows.find((r) => r.dedupKey === "review-comment:3024051001")!;
    expect(line.value).toBe('`Number("")` is 0, not NaN: an empty token still slips through here.');
    expect(line.tags).toMatchObject({ path: "src/parser.ts", line: "12" });
  });

  test("redelivered under new ids → still one row per comment; empty reviews, bots and other PRs → none", async () => {
    await seedFixAttempt(db());
    for (let i = 0; i < 2; i++) {
      await deliver("pull_request_review", fixture("pull_request_review.submitted.json"));
      await deliver("pull_request_review_comment", fixture("pull_request_review_comment.created.json"));
    }
    expect(await feedbackOf("comment")).toHaveLength(2);

    const approval = fixture<{ review: Record<string, unknown> }>("pull_request_review.submitted.json");
    approval.review = { ...approval.review, id: 2024051099, body: null, state: "approved" };
    expect((await deliver("pull_request_review", approval)).status).toBe("ignored");
    const byBot = fixture<{ comment: Record<string, unknown> }>("pull_request_review_comment.created.json");
    byBot.comment = { ...byBot.comment, id: 3024051099, user: { login: "lint-bot[bot]", type: "Bot" } };
    expect((await deliver("pull_request_review_comment", byBot)).status).toBe("ignored");
    const elsewhere = fixture<{ pull_request: { head: { ref: string } }; comment: Record<string, unknown> }>("pull_request_review_comment.created.json");
    elsewhere.pull_request.head.ref = "fix-widget-parser";
    elsewhere.comment = { ...elsewhere.comment, id: 3024051098 };
    expect((await deliver("pull_request_review_comment", elsewhere)).status).toBe("ignored");
    expect(await feedbackOf("comment")).toHaveLength(2);
  });
});

describe("replay", () => {
  const sequence: [string, string][] = [
    ["pull_request", "pull_request.closed.fix-merged.json"],
    ["push", "push.main.fix-merge.json"],
    ["push", "push.main.touches.json"],
    ["push", "push.main.revert.json"],
    ["push", "push.main.late-touch.json"],
    ["pull_request", "pull_request.closed.fix-revert.json"],
    ["pull_request_review", "pull_request_review.submitted.json"],
    ["pull_request_review_comment", "pull_request_review_comment.created.json"],
  ];

  test("the same deliveries again (same ids, then new ids) change no outcome and create no feedback", async () => {
    await seedFixAttempt(db());
    const ids = sequence.map(() => randomUUID());
    for (const [i, [event, name]] of sequence.entries()) expect((await deliver(event, fixture(name), ids[i])).status).toBe("processed");
    const before = await outcomeState(db());
    // The outcome of the whole story, so the comparison below is not between two empty tables.
    expect(before.prs.find((p) => p.prNumber === 57)).toMatchObject({
      state: "merged",
      revertedAt: "2024-05-16T11:20:00.000Z",
      revertedBy: "6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192",
      downstreamTouchCount: 3,
    });
    expect(before.feedback.map((f) => `${f.metricName}=${JSON.stringify(f.value)}`).sort()).toEqual([
      'comment="Coercing is right, but keep the guard: log the empty input instead of returning silently."',
      'comment="`Number(\\"\\")` is 0, not NaN: an empty token still slips through here."',
      "fixloop_held_up=false",
      "fixloop_pr_merged=true",
      "fixloop_pr_reverted=true",
    ]);

    // Send it all to the gateway once.
    const posted: { metric_name: string }[] = [];
    nock(GATEWAY)
      .post("/feedback", (body) => (posted.push(body as { metric_name: string }), true))
      .times(before.feedback.length)
      .reply(200, () => ({ feedback_id: randomUUID() }));
    const drain = () => drainFeedbackOutbox({ store: server.store, gateway: { url: GATEWAY }, log: silentLog() });
    expect(await drain()).toMatchObject({ sent: 5, retrying: 0, dead: 0 });
    expect(posted.map((p) => p.metric_name).sort()).toEqual(["comment", "comment", "fixloop_held_up", "fixloop_pr_merged", "fixloop_pr_reverted"]);
    const sent = await outcomeState(db());

    for (const [i, [event, name]] of sequence.entries()) expect((await deliver(event, fixture(name), ids[i])).status).toBe("duplicate");
    expect(await outcomeState(db())).toEqual(sent);

    // Replayed from files or found again by a backfill: new delivery ids, the handlers run again.
    for (const [event, name] of sequence) expect((await deliver(event, fixture(name))).status).toBe("processed");
    expect(await outcomeState(db())).toEqual(sent);
    // Nothing new to send (nock has no interceptor left: a send would fail and be counted as retrying).
    expect(await drain()).toMatchObject({ sent: 0, retrying: 0, dead: 0 });
    expect(posted).toHaveLength(5);
  });

  test("deliveries in another order reach the same outcome", async () => {
    await seedFixAttempt(db());
    const reordered = [sequence[0], ...sequence.slice(1).reverse()];
    for (const [event, name] of reordered) await deliver(event, fixture(name));
    const row = await pr57();
    expect(row).toMatchObject({ downstreamTouchCount: 3, lastDownstreamTouchTs: "2024-06-04T13:30:00.000Z" });
    // The revert PR was delivered before the revert commit, but the commit landed first: the earliest revert is kept.
    expect(row.revertedBy).toBe("6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192");
    expect(row.revertedAt).toBe("2024-05-16T11:20:00.000Z");
    expect((await feedbackOf("fixloop_pr_reverted")).map((f) => f.value)).toEqual([true]);
  });
});

import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { revertedPrFromPr, revertedShas, shaMatches } from "../src/outcomes/reverts.js";
import { feedback, prOutcomes } from "../src/store/schema.js";
import { fixture, startTestServer, type TestServer } from "./helpers.js";
import { EPISODE_ID, FIX_SHA, MERGE_SHA, REVERT_SHA, seedFixAttempt } from "./outcomes-setup.js";

describe("revertedShas", () => {
  test("git's message for a plain revert and for a merge revert", () => {
    expect(revertedShas(`Revert "fix parser"\n\nThis reverts commit ${MERGE_SHA}.\n`)).toEqual([MERGE_SHA]);
    expect(revertedShas(`Revert "Merge pull request #57"\n\nThis reverts commit ${MERGE_SHA}, reversing\nchanges made to ${FIX_SHA}.`)).toEqual([MERGE_SHA]);
  });

  test("short SHAs, upper case, several reverts in one squash, duplicates once", () => {
    const message = `Revert two fixes (#70)\n\n* This reverts commit 5D1C0A7.\n* This reverts commit a3b9e5c7d1.\n* This reverts commit 5d1c0a7.`;
    expect(revertedShas(message)).toEqual(["5d1c0a7", "a3b9e5c7d1"]);
  });

  test("no SHA, too short, or not the revert phrase → nothing", () => {
    expect(revertedShas("Reverts the parser to its old behaviour")).toEqual([]);
    expect(revertedShas("This reverts commit 5d1c0a.")).toEqual([]);
    expect(revertedShas(`This fixes commit ${MERGE_SHA}.`)).toEqual([]);
  });

  test("shaMatches: a written prefix names a full SHA", () => {
    expect(shaMatches("5d1c0a7", FIX_SHA)).toBe(true);
    expect(shaMatches("5d1c0a8", FIX_SHA)).toBe(false);
    expect(shaMatches("5d1c0a", FIX_SHA)).toBe(false);
    expect(shaMatches("5d1c0a7", null)).toBe(false);
  });
});

describe("revertedPrFromPr", () => {
  test("GitHub's revert PR: title and body", () => {
    expect(revertedPrFromPr({ title: 'Revert "fixloop: fix CI on main"', body: "Reverts acme/widgets#57" }, "acme/widgets")).toEqual({
      prNumber: 57,
      title: "fixloop: fix CI on main",
    });
  });

  test("title alone, body alone, quotes inside the title, case of the repo name", () => {
    expect(revertedPrFromPr({ title: 'Revert "Use "strict" mode"', body: null }, "acme/widgets")).toEqual({ prNumber: null, title: 'Use "strict" mode' });
    expect(revertedPrFromPr({ title: "Back out the parser change", body: "Reverts Acme/Widgets#57\n\nIt broke the nightly." }, "acme/widgets")).toEqual({
      prNumber: 57,
      title: null,
    });
    expect(revertedPrFromPr({ title: "Back out", body: "Reverts #57" }, "acme/widgets")?.prNumber).toBe(57);
  });

  test("another repository's PR number, or no revert at all → nothing", () => {
    expect(revertedPrFromPr({ title: "Back out", body: "Reverts acme/gadgets#57" }, "acme/widgets")).toBeNull();
    expect(revertedPrFromPr({ title: "Reverting is hard", body: "This PR reverts nothing" }, "acme/widgets")).toBeNull();
  });
});

describe("revert detection through webhooks", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer();
    await seedFixAttempt(server.store.db);
    await post("pull_request", fixture("pull_request.closed.fix-merged.json"));
  });
  afterEach(async () => {
    await server.close();
  });

  async function post(event: string, payload: unknown) {
    return server.deliver(event, payload, { id: randomUUID() });
  }

  async function outcome() {
    const [row] = await server.store.db.select().from(prOutcomes).where(eq(prOutcomes.prNumber, 57));
    const rows = await server.store.db.select().from(feedback);
    const metric = (name: string) => rows.filter((r) => r.metricName === name).map((r) => ({ target: r.targetId, value: r.value }));
    return { revertedAt: row.revertedAt, revertedBy: row.revertedBy, reverted: metric("fixloop_pr_reverted"), heldUp: metric("fixloop_held_up") };
  }

  const revertedFeedback = [{ target: EPISODE_ID, value: true }];
  const notHeldUp = [{ target: EPISODE_ID, value: false }];

  test("by commit message naming the merge commit (full SHA)", async () => {
    const answer = await post("push", fixture("push.main.revert.json"));
    expect(answer.note).toMatch(/reverts fix PR #57/);
    expect(await outcome()).toEqual({ revertedAt: "2024-05-16T11:20:00.000Z", revertedBy: REVERT_SHA, reverted: revertedFeedback, heldUp: notHeldUp });
  });

  test("by commit message naming fixloop's commit with a short SHA", async () => {
    const push = fixture<{ commits: { message: string }[] }>("push.main.revert.json");
    push.commits[0].message = `Revert "fixloop: fix CI on main"\n\nThis reverts commit ${FIX_SHA.slice(0, 7)}.`;
    await post("push", push);
    expect(await outcome()).toMatchObject({ revertedBy: REVERT_SHA, reverted: revertedFeedback, heldUp: notHeldUp });
  });

  test("by PR: `Reverts owner/repo#N` in the body", async () => {
    const answer = await post("pull_request", fixture("pull_request.closed.fix-revert.json"));
    expect(answer.status).toBe("processed");
    expect(await outcome()).toEqual({ revertedAt: "2024-05-20T09:00:00.000Z", revertedBy: "acme/widgets#58", reverted: revertedFeedback, heldUp: notHeldUp });
  });

  test('by PR: title `Revert "<title>"` alone', async () => {
    const revert = fixture<{ pull_request: { body: string | null } }>("pull_request.closed.fix-revert.json");
    revert.pull_request.body = "The parser change broke the nightly import.";
    await post("pull_request", revert);
    expect(await outcome()).toMatchObject({ revertedBy: "acme/widgets#58", reverted: revertedFeedback });
  });

  test("not a revert: an open revert PR, a revert of another commit, a revert pushed to another branch", async () => {
    const open = fixture<{ action: string; pull_request: Record<string, unknown> }>("pull_request.closed.fix-revert.json");
    open.action = "opened";
    open.pull_request = { ...open.pull_request, state: "open", merged: false, merged_at: null, closed_at: null, merge_commit_sha: null, updated_at: "2024-05-20T08:40:00Z" };
    await post("pull_request", open);
    const other = fixture<{ commits: { message: string }[] }>("push.main.revert.json");
    other.commits[0].message = "Revert \"docs\"\n\nThis reverts commit 0badc0ffee0badc0ffee0badc0ffee0badc0ffee.";
    await post("push", other);
    const elsewhere = fixture<{ ref: string }>("push.main.revert.json");
    elsewhere.ref = "refs/heads/release-1.x";
    await post("push", elsewhere);
    expect(await outcome()).toEqual({ revertedAt: null, revertedBy: null, reverted: [], heldUp: [] });
  });
});

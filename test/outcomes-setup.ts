/**
 * Shared scenario of the outcome tests: fix attempt 1 of the chain for run
 * 9120304501 on acme/widgets, published as PR #57 from fixloop/run-9120304501
 * into main (fixtures/pull_request.closed.fix-*.json, fixtures/push.main.*.json).
 */
import { asc } from "drizzle-orm";
import { ProbotOctokit } from "probot";
import { pullRequestSchema, toPrOutcomeRow } from "../src/ingest/map.js";
import { createAttempt, updateAttempt } from "../src/store/attempts.js";
import { upsertPrOutcome } from "../src/store/records.js";
import type { Db } from "../src/store/db.js";
import { commitLinks, feedback, jobs, prOutcomes, type FixAttempt } from "../src/store/schema.js";
import { fixture as fixtureOf } from "./helpers.js";

export const REPO = "acme/widgets";
export const INSTALLATION = 48213377;
export const FIX_BRANCH = "fixloop/run-9120304501";
export const FIX_SHA = "5d1c0a7e93b24f6f8e0d2c4b6a8f0e1d3c5b7a90";
export const MERGE_SHA = "a3b9e5c7d1f2048e6b8c0d2f4a6e8c0b2d4f6a81";
export const FAILING_SHA = "8f4c2a1d9e3b7c6a5f4e3d2c1b0a9f8e7d6c5b4a";
export const MERGED_AT = "2024-05-10T12:00:00.000Z";
export const EPISODE_ID = "0192f1e2-7a3b-7c4d-8e5f-000000000e01";
export const INFERENCE_ID = "0192f1e2-7a3b-7c4d-8e5f-60718293a4b5";
export const REVERT_SHA = "6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192";

/** What the model proposed (and fixloop committed) for PR #57. */
export const MODEL_DIFF = `--- a/src/parser.ts
+++ b/src/parser.ts
@@ -10,7 +10,7 @@ export function parse(input: string): Widget[] {
   const tokens = lex(input);
   if (tokens.length === 0) return [];
   const token = tokens[0];
-  const depth = token.value;
+  const depth = Number(token.value);
   return build(tokens, depth);
 }
`;

export async function seedFixAttempt(db: Db, overrides: Partial<FixAttempt> = {}): Promise<FixAttempt> {
  const attempt = await createAttempt(db, {
    repoSlug: REPO,
    installationId: INSTALLATION,
    chainId: `${REPO}@${FAILING_SHA}#ci`,
    attemptNumber: 1,
    triggerProvider: "github-actions",
    triggerRunId: "9120304501",
    workflowName: "CI",
    headSha: FAILING_SHA,
    headBranch: "main",
    status: "awaiting_ci",
    episodeId: EPISODE_ID,
    promptVersion: "v1",
  });
  return updateAttempt(db, attempt.id, {
    inferenceId: INFERENCE_ID,
    variant: "gpt_5_mini_v1",
    diff: MODEL_DIFF,
    explanation: "The depth arrives as a string; coerce it to a number before building.",
    fixBranch: FIX_BRANCH,
    fixCommitSha: FIX_SHA,
    prNumber: 57,
    changedFiles: ["src/parser.ts"],
    status: "ci_passed",
    createdAt: "2024-05-10T09:29:00.000Z",
    ...overrides,
  });
}

export function testOctokit() {
  return new ProbotOctokit({ auth: { token: "test" }, retry: { enabled: false }, throttle: { enabled: false } });
}

/** Everything outcome tracking writes, in a stable order: what a replay must leave unchanged. */
export async function outcomeState(db: Db) {
  const prs = await db.select().from(prOutcomes).orderBy(asc(prOutcomes.prNumber));
  return {
    prs: prs.map(({ recordedAt: _recordedAt, ...row }) => row),
    feedback: await db.select().from(feedback).orderBy(asc(feedback.id)),
    links: await db.select().from(commitLinks).orderBy(asc(commitLinks.commitSha), asc(commitLinks.sessionId)),
    jobs: await db.select().from(jobs).orderBy(asc(jobs.id)),
  };
}

/**
 * `count` fix attempts of their own chains, each with a closed (not merged)
 * fix PR row written the way `fixloop backfill` writes it (no webhook, so no
 * live handler settled it): PRs #100, #101, … in the order they were written.
 */
export async function seedUnsettledClosedFixPrs(db: Db, count: number): Promise<FixAttempt[]> {
  const template = pullRequestSchema.parse(fixtureOf<{ pull_request: unknown }>("pull_request.closed.fix-unmerged.json").pull_request);
  const attempts: FixAttempt[] = [];
  for (let i = 0; i < count; i++) {
    const runId = String(9130000000 + i);
    const fixBranch = `fixloop/run-${runId}`;
    attempts.push(
      await seedFixAttempt(db, {
        chainId: `${REPO}@${runId}#ci`,
        triggerRunId: runId,
        fixBranch,
        prNumber: 100 + i,
        episodeId: `0192f1e2-7a3b-7c4d-8e5f-${String(i).padStart(12, "0")}`,
      }),
    );
    const pr = { ...template, number: 100 + i, head: { ...template.head, ref: fixBranch } };
    // Distinct, increasing write times: the order the sweep's cursor follows.
    await upsertPrOutcome(db, toPrOutcomeRow(REPO, pr, new Date(Date.UTC(2024, 4, 20, 0, 0, i)).toISOString()));
  }
  return attempts;
}

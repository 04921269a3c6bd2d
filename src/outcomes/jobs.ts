/**
 * Outcome job handlers for the worker: the edited-merge check (demonstration),
 * the held-up verdict when a fix's window closes, and the API backfill of a
 * branch's open-window fixes (after a push too large for its webhook, or for
 * a repository that sends no push events).
 */
import { z } from "zod";
import { PatchParseError } from "../patch/index.js";
import { httpStatusOf } from "../github/actions.js";
import { PermanentJobError, type JobHandler, type JobOutcome } from "../queue/index.js";
import { METRICS } from "../tensorzero/metrics.js";
import { pullRequestDiff } from "./api.js";
import { splitRepo } from "../github/repo.js";
import { demonstrationValue, diffsDiffer } from "./diffs.js";
import { DEMONSTRATION_METRIC, recordFeedback } from "../store/feedback.js";
import { backfillFixPr, checkFixPrOutcome, type OutcomeDeps } from "./periodic.js";
import { fixPrByNumber, mergedFixOf, mergedFixPrsWithout } from "./store.js";
import { outcomeWindowDays, windowEnd } from "./touches.js";
import { OUTCOME_BACKFILL_JOB, OUTCOME_HELD_UP_JOB, OUTCOME_MERGED_JOB, prKey } from "./track.js";

export { OUTCOME_BACKFILL_JOB, OUTCOME_HELD_UP_JOB, OUTCOME_MERGED_JOB } from "./track.js";

/** A demonstration longer than this is a rewrite, not a correction: not worth teaching. */
export const MAX_DEMONSTRATION_CHARS = 100_000;

const prPayload = z.object({ repo: z.string().min(3), prNumber: z.number().int().positive() });
const branchPayload = z.object({ repo: z.string().min(3), branch: z.string().min(1) });

function parsePayload<T>(schema: z.ZodType<T>, payload: unknown, kind: string): T {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new PermanentJobError(`${kind}: malformed payload (${parsed.error.issues.map((i) => i.message).join("; ")})`);
  return parsed.data;
}

export type MergedDiffCheck =
  | { status: "skipped"; reason: string }
  | { status: "unedited" }
  | { status: "edited"; feedbackCreated: boolean };

/**
 * A merged fix PR: when what was merged changes other lines than the model's
 * diff, a person corrected it, and the merged diff is the demonstration of
 * what the model should have answered.
 */
export async function checkMergedDiff(deps: OutcomeDeps, payload: { repo: string; prNumber: number }): Promise<MergedDiffCheck> {
  const fix = await fixPrByNumber(deps.store.db, payload.repo, payload.prNumber);
  if (!fix || !mergedFixOf(fix)) return { status: "skipped", reason: "not a merged fix PR" };
  const { inferenceId, diff } = fix.attempt;
  if (!inferenceId || !diff) return { status: "skipped", reason: "the attempt has no inference or diff" };
  const octokit = await deps.github(fix.attempt.installationId);
  let merged: string;
  try {
    merged = await pullRequestDiff(octokit, { ...splitRepo(fix.pr.repoSlug), prNumber: fix.pr.prNumber });
  } catch (error) {
    // 406: GitHub will not render diffs this large; 404/410: the PR or repo is gone.
    const status = httpStatusOf(error);
    if (status === 406 || status === 404 || status === 410) return { status: "skipped", reason: `GitHub answered ${status} for the PR diff` };
    throw error;
  }
  let edited: boolean;
  try {
    edited = diffsDiffer(diff, merged);
  } catch (error) {
    if (error instanceof PatchParseError) return { status: "skipped", reason: `merged diff unreadable: ${error.message}` };
    throw error;
  }
  if (!edited) return { status: "unedited" };
  if (merged.length > MAX_DEMONSTRATION_CHARS) return { status: "skipped", reason: `merged diff is ${merged.length} characters (> ${MAX_DEMONSTRATION_CHARS})` };
  const { created } = await recordFeedback(
    deps.store.db,
    {
      attemptId: fix.attempt.id,
      metricName: DEMONSTRATION_METRIC,
      target: { type: "inference", id: inferenceId },
      value: demonstrationValue(merged, fix.attempt.explanation),
      tags: { repo: fix.pr.repoSlug, pr: String(fix.pr.prNumber), source: "merged-pr" },
      dedupKey: `pr:${prKey(fix)}`,
    },
    deps.now?.() ?? new Date(),
  );
  return { status: "edited", feedbackCreated: created };
}

export function outcomeJobHandlers(deps: OutcomeDeps): Record<string, JobHandler> {
  const now = () => deps.now?.() ?? new Date();
  return {
    [OUTCOME_MERGED_JOB]: async (payload: unknown): Promise<JobOutcome> => {
      const result = await checkMergedDiff(deps, parsePayload(prPayload, payload, OUTCOME_MERGED_JOB));
      return result.status === "skipped" ? { status: "skipped", reason: result.reason } : { status: "done", result };
    },
    [OUTCOME_HELD_UP_JOB]: async (payload: unknown): Promise<JobOutcome> => {
      const result = await checkFixPrOutcome(deps, parsePayload(prPayload, payload, OUTCOME_HELD_UP_JOB));
      if (result.status === "not-merged") return { status: "skipped", reason: "not a merged fix PR" };
      if (result.status === "checked" && result.verdict.verdict === null) {
        // Run early (the merge time moved, or clocks differ): come back when the window closes.
        const delayMs = Math.max(60_000, Date.parse(result.windowEnd) - now().getTime());
        return { status: "wait", delayMs, reason: result.verdict.reason };
      }
      return { status: "done", result };
    },
    [OUTCOME_BACKFILL_JOB]: async (payload: unknown): Promise<JobOutcome> => {
      const { repo, branch } = parsePayload(branchPayload, payload, OUTCOME_BACKFILL_JOB);
      const at = now();
      const results = [];
      for (const fix of await mergedFixPrsWithout(deps.store.db, METRICS.heldUp, { repo, branch })) {
        // Only fixes whose window is still open can gain from commits of a recent push.
        if (windowEnd(fix.pr.mergedAt!, deps.windowDays ?? outcomeWindowDays()) < at.toISOString()) continue;
        results.push({ prNumber: fix.pr.prNumber, ...(await backfillFixPr(deps, fix, at)) });
      }
      return { status: "done", result: results };
    },
  };
}

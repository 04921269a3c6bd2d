/**
 * A patch the safety rules refused (patch/safety.ts) is recorded on the
 * attempt and explained on the PR whose run failed, so the people who are
 * waiting for a fix learn why none came and what would allow it. One comment
 * per attempt, found again by its marker, so a retried job edits it instead
 * of posting a second. The reasons quote paths and lines of the model's
 * answer: they are fenced (nothing in them renders) and redacted by
 * upsertComment like every comment.
 *
 * A push run with no PR gets no comment: there is no conversation to put it
 * in, and a comment on a commit of the default branch would notify its author
 * about a fix that was never proposed to anyone. The reason is on the attempt
 * (`fixloop jobs`, the dashboard, the admin API).
 */
import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import { httpStatusOf } from "../github/actions.js";
import { upsertComment } from "../github/comments.js";
import type { FixAttempt } from "../store/schema.js";
import { clip, fence } from "./pr-body.js";

export function refusalMarker(attemptId: string): string {
  return `refused-${attemptId}`;
}

export function renderRefusalComment(input: { violations: string[]; attemptNumber: number; maxAttempts: number; workflow: string; runId: string }): string {
  return [
    `fixloop proposed a fix for the ${input.workflow} failure (run ${input.runId}, attempt ${input.attemptNumber} of ${input.maxAttempts}) and refused to publish it. A fix branch runs in this repository's CI, with its secrets, before anyone reviews it, so changes like these are never pushed:`,
    "",
    fence(clip(input.violations.join("\n"), 6000)),
    "",
    "Nothing was pushed. Where such changes are expected, `.github/fixloop.yml` can let some kinds through (`allow`: `workflows`, `lockfiles`, `ci_config`, `install_scripts`, `repo_settings`; `paths.exclude`, `max_files`, `max_changed_lines`); lines that fetch and run code and weakened tests are always refused.",
  ].join("\n");
}

/** Posts (or edits) the refusal comment on `prNumber`; nothing when there is no PR or in a dry run. */
export async function postRefusal(
  octokit: ProbotOctokit,
  input: {
    owner: string;
    repo: string;
    prNumber: number | null;
    attempt: FixAttempt;
    violations: string[];
    maxAttempts: number;
    workflow: string;
    runId: string;
    dryRun: boolean;
    log: Pick<Logger, "warn">;
  },
): Promise<boolean> {
  if (input.prNumber === null || input.dryRun) return false;
  try {
    await postOn(octokit, input as typeof input & { prNumber: number });
    return true;
  } catch (error) {
    // A locked or deleted PR will not take the comment on any retry; the reason stays on the attempt. Anything else is retried.
    const status = httpStatusOf(error);
    if (status !== 403 && status !== 404 && status !== 410 && status !== 422) throw error;
    input.log.warn({ err: error, status, pr: input.prNumber }, "refusal comment not posted");
    return false;
  }
}

async function postOn(octokit: ProbotOctokit, input: Parameters<typeof postRefusal>[1] & { prNumber: number }): Promise<void> {
  await upsertComment(octokit, {
    owner: input.owner,
    repo: input.repo,
    issueNumber: input.prNumber,
    marker: refusalMarker(input.attempt.id),
    body: renderRefusalComment({ violations: input.violations, attemptNumber: input.attempt.attemptNumber, maxAttempts: input.maxAttempts, workflow: input.workflow, runId: input.runId }),
  });
}

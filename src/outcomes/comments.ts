/**
 * Review comments on fix PRs become TensorZero `comment` feedback on the
 * fix's inference: what a reviewer said about the model's change, once per
 * review or review comment.
 */
import { findAttemptByFixBranch } from "../store/attempts.js";
import { isFixBranch } from "../github/fix-branch.js";
import type { Db } from "../store/db.js";
import { COMMENT_METRIC, recordFeedback } from "../store/feedback.js";

export interface ReviewText {
  repo: string;
  prNumber: number;
  headRef: string;
  kind: "review" | "review-comment";
  /** GitHub's id of the review or of the review comment. */
  id: number;
  body: string;
  author: string | null;
  /** Bots (CI apps, linters, fixloop itself) are not reviewers. */
  authorIsBot: boolean;
  /** Review state (approved, changes_requested, commented); null for a line comment. */
  state: string | null;
  path: string | null;
  line: number | null;
}

export type ReviewFeedbackResult = { recorded: true; created: boolean } | { recorded: false; reason: string };

export async function recordReviewComment(db: Db, text: ReviewText, now: Date = new Date()): Promise<ReviewFeedbackResult> {
  if (!isFixBranch(text.headRef)) return { recorded: false, reason: "not a fix PR" };
  const body = text.body.trim();
  if (body === "") return { recorded: false, reason: `${text.kind} without text` };
  if (text.authorIsBot) return { recorded: false, reason: `${text.kind} by a bot` };
  const attempt = await findAttemptByFixBranch(db, text.repo, text.headRef);
  if (!attempt) return { recorded: false, reason: `no fix attempt for branch ${text.headRef}` };
  if (!attempt.inferenceId) return { recorded: false, reason: "the fix attempt has no inference" };
  const tags: Record<string, string> = { repo: text.repo, pr: String(text.prNumber), kind: text.kind };
  if (text.author) tags.author = text.author;
  if (text.state) tags.review_state = text.state.toLowerCase();
  if (text.path) tags.path = text.path;
  if (text.line !== null) tags.line = String(text.line);
  const { created } = await recordFeedback(
    db,
    {
      attemptId: attempt.id,
      metricName: COMMENT_METRIC,
      target: { type: "inference", id: attempt.inferenceId },
      value: body,
      tags,
      dedupKey: `${text.kind}:${text.id}`,
    },
    now,
  );
  return { recorded: true, created };
}

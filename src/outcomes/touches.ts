/**
 * Pure rules for downstream touches and the "held up" verdict: which later
 * commits on the base branch count against a merged fix, and when the fix's
 * window is over.
 */
import type { PushedCommit } from "./commits.js";
import { revertedShas, shaMatches } from "./reverts.js";

export const DEFAULT_OUTCOME_WINDOW_DAYS = 30;
const DAY_MS = 86_400_000;

/** FIXLOOP_OUTCOME_WINDOW_DAYS, or 30. */
export function outcomeWindowDays(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FIXLOOP_OUTCOME_WINDOW_DAYS;
  if (raw === undefined || raw.trim() === "") return DEFAULT_OUTCOME_WINDOW_DAYS;
  const days = Number(raw);
  if (!Number.isFinite(days) || days <= 0) throw new Error(`FIXLOOP_OUTCOME_WINDOW_DAYS must be a positive number of days, got "${raw}"`);
  return days;
}

/** The fix's files this commit touched (empty: none). Paths compare exactly, as Git stores them. */
export function touchesFiles(commitFiles: readonly string[], fixFiles: readonly string[]): string[] {
  const fix = new Set(fixFiles);
  return [...new Set(commitFiles.filter((path) => fix.has(path)))];
}

export function windowEnd(mergedAt: string, windowDays: number): string {
  return new Date(Date.parse(mergedAt) + windowDays * DAY_MS).toISOString();
}

/** What a merged fix is, for the rules below. */
export interface MergedFix {
  mergedAt: string;
  mergeCommitSha: string | null;
  headSha: string | null;
  fixCommitSha: string | null;
  inferenceId: string | null;
  files: readonly string[];
}

/** A commit of the fix itself, however it reached the base branch (merge, squash, rebase, cherry-pick). */
export function isFixOwnCommit(commit: Pick<PushedCommit, "sha" | "message">, fix: MergedFix, pushHead: string | null = null): boolean {
  const own = [fix.mergeCommitSha, fix.headSha, fix.fixCommitSha].filter((sha): sha is string => Boolean(sha)).map((sha) => sha.toLowerCase());
  if (own.includes(commit.sha.toLowerCase())) return true;
  // The push that carries the merge (rebase merges: all the rebased commits) is the fix landing.
  if (pushHead && fix.mergeCommitSha && pushHead.toLowerCase() === fix.mergeCommitSha.toLowerCase()) return true;
  // fixloop names the inference in its commit message; a rebased copy keeps it.
  return Boolean(fix.inferenceId && commit.message.includes(fix.inferenceId));
}

/** The commit reverts this fix (by its merge, head or fix commit SHA). */
export function revertsFix(commit: Pick<PushedCommit, "message">, fix: MergedFix): boolean {
  return revertedShas(commit.message).some((sha) => [fix.mergeCommitSha, fix.headSha, fix.fixCommitSha].some((full) => shaMatches(sha, full)));
}

/**
 * The fix files a later commit on the base branch touched, when it counts as
 * a downstream touch: after the merge, within the window, not the fix's own
 * commit and not its revert (a revert is its own outcome). Empty otherwise.
 */
export function downstreamTouch(commit: PushedCommit, fix: MergedFix, windowDays: number, pushHead: string | null = null): string[] {
  if (commit.timestamp <= fix.mergedAt || commit.timestamp > windowEnd(fix.mergedAt, windowDays)) return [];
  if (isFixOwnCommit(commit, fix, pushHead) || revertsFix(commit, fix)) return [];
  return touchesFiles(commit.files, fix.files);
}

export type HeldUpVerdict =
  | { verdict: true; reason: string }
  | { verdict: false; reason: string }
  | { verdict: null; reason: string };

/**
 * Held up: merged, not reverted and not fixed again within the window. False
 * is known as soon as it happens; true only once the window has passed.
 */
export function heldUpVerdict(input: { mergedAt: string; revertedAt: string | null; refixedAt: string | null; windowDays: number; now: Date }): HeldUpVerdict {
  const end = windowEnd(input.mergedAt, input.windowDays);
  if (input.revertedAt && input.revertedAt <= end) return { verdict: false, reason: `reverted at ${input.revertedAt}` };
  if (input.refixedAt && input.refixedAt <= end) return { verdict: false, reason: `another fix chain changed the same files at ${input.refixedAt}` };
  if (input.now.toISOString() < end) return { verdict: null, reason: `window open until ${end}` };
  return { verdict: true, reason: `no revert and no new fix of the same files by ${end}` };
}

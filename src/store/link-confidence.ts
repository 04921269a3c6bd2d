/**
 * The confidence rubric of commit attribution (documented in
 * docs/attribution.md): what commit_links.confidence means, so it lives with
 * the records — the fix job writes its own commit's link at CONFIDENCE.fixCommit
 * and attribution writes the rest. Pure numbers and one pure function, so the
 * rubric can be read and tested on its own.
 */

/** User-facing answers (CLI, API, PR links) show links at or above this. */
export const DEFAULT_MIN_CONFIDENCE = 0.5;

export const CONFIDENCE = {
  /** The commit fixloop itself created for an attempt. */
  fixCommit: 1.0,
  /** A commit on another branch carrying the fix commit's message, inference id included: a cherry-pick or rebase of it. */
  carriedFixCommit: 0.9,
  /** The merge or squash commit that landed a fix PR: the fix plus whatever else was pushed to the PR. */
  mergeOfFixPr: 0.9,
  /** The commit's author is an agent's own account (its GitHub App or bot identity). */
  agentAuthor: 0.95,
  /** A `Co-authored-by:` trailer names an agent: the tool says it took part, not how much. */
  agentTrailer: 0.9,
} as const;

export const TOUCH_RUBRIC = {
  /** One candidate fix touched the same files shortly before. */
  base: 0.6,
  /** …within QUICK_FOLLOW_MS of the fix. */
  quickBonus: 0.2,
  /** …and the commit touched nothing but files the fix changed. */
  onlyFixFilesBonus: 0.1,
  cap: 0.9,
  /** With several candidates none is believable: each stays below DEFAULT_MIN_CONFIDENCE. */
  ambiguousCap: 0.4,
} as const;

/** A fix attempt is a touch candidate for commits made this long after it was created. */
export const TOUCH_WINDOW_MS = 2 * 60 * 60 * 1000;
export const QUICK_FOLLOW_MS = 15 * 60 * 1000;

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export interface TouchFacts {
  /** Milliseconds from the attempt's creation to the commit. */
  afterMs: number;
  /** The commit touched only files the fix changed. */
  onlyFixFiles: boolean;
  /** Explanations competing for this commit: touch candidates plus one if an agent is credited. */
  competitors: number;
}

/**
 * inferred-by-touch: base 0.6, +0.2 when within 15 minutes, +0.1 when the
 * commit touched only the fix's files, at most 0.9. (A diff-line match would
 * add more, but push payloads carry no diff.) With several competitors each
 * gets the score divided among them, at most 0.4.
 */
export function touchConfidence(facts: TouchFacts): number {
  let score: number = TOUCH_RUBRIC.base;
  if (facts.afterMs <= QUICK_FOLLOW_MS) score += TOUCH_RUBRIC.quickBonus;
  if (facts.onlyFixFiles) score += TOUCH_RUBRIC.onlyFixFilesBonus;
  score = Math.min(score, TOUCH_RUBRIC.cap);
  if (facts.competitors > 1) score = Math.min(TOUCH_RUBRIC.ambiguousCap, score / facts.competitors);
  return round2(score);
}

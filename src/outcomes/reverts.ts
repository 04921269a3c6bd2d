/**
 * Pure revert detectors. Git writes `This reverts commit <sha>.` into a revert
 * commit's message; GitHub's "Revert" button opens a PR titled
 * `Revert "<original title>"` whose body starts `Reverts owner/repo#N`.
 */

const REVERTS_COMMIT = /\bThis reverts commit ([0-9a-f]{7,40})\b/gi;

/** Every SHA (7–40 hex, lower-cased, in order, once each) a commit message says it reverts. */
export function revertedShas(message: string): string[] {
  const found = new Set<string>();
  for (const match of message.matchAll(REVERTS_COMMIT)) found.add(match[1].toLowerCase());
  return [...found];
}

/** A SHA as written in a message (possibly abbreviated) names this full SHA. */
export function shaMatches(written: string, full: string | null | undefined): boolean {
  if (!full || written.length < 7) return false;
  return full.toLowerCase().startsWith(written.toLowerCase());
}

export interface RevertedPrRef {
  /** From `Reverts owner/repo#N` (or `Reverts #N`) naming this repository. */
  prNumber: number | null;
  /** From a title `Revert "<title>"`: the reverted PR's title. */
  title: string | null;
}

const REVERTS_PR = /^\s*Reverts\s+(?:([\w.-]+\/[\w.-]+))?#(\d+)\b/im;
const REVERT_TITLE = /^Revert "(.+)"\s*$/s;

/**
 * What a PR says it reverts, or null when it says nothing. A `Reverts` line
 * naming another repository does not count: PR numbers are per repository.
 */
export function revertedPrFromPr(pr: { title?: string | null; body?: string | null }, repo: string): RevertedPrRef | null {
  let prNumber: number | null = null;
  const body = REVERTS_PR.exec(pr.body ?? "");
  if (body && (body[1] === undefined || body[1].toLowerCase() === repo.toLowerCase())) prNumber = Number(body[2]);
  const title = REVERT_TITLE.exec((pr.title ?? "").trim())?.[1] ?? null;
  return prNumber === null && title === null ? null : { prNumber, title };
}

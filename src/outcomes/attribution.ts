/**
 * Recording attribution: which session produced each pushed commit.
 *
 * A session is a fix attempt (its id) or a coding agent (`agent:<name>`).
 * Links go to `commit_links` (store/commit-links.ts) with a type and a
 * confidence (the rubric is in store/link-confidence.ts and docs/attribution.md):
 * - `authored`: fixloop's own commit for an attempt, or the commit that landed
 *   its PR (merge or squash), or a cherry-pick carrying its message;
 * - `co-authored`: an agent named by a `Co-authored-by:` trailer, or an
 *   agent's account as the commit author;
 * - `inferred-by-touch`: a commit touching files a recent fix changed, with
 *   no other explanation.
 * Re-running attribution over the same commits changes nothing. PRs get the
 * sessions of their commits in `linked_session_ids`. The answers to "where
 * did this come from" are in attribution-explain.ts.
 */
import { and, eq, gte, inArray, lte, or, type SQL } from "drizzle-orm";
import { GITHUB_PROVIDER } from "../ingest/map.js";
import { ATTRIBUTION_SESSION, refreshPrLinks, sameRepo, sortLinks, upsertLinks, type LinkDraft } from "../store/commit-links.js";
import type { Db } from "../store/db.js";
import { CONFIDENCE, TOUCH_WINDOW_MS, touchConfidence } from "../store/link-confidence.js";
import { commitLinks, fixAttempts, prOutcomes, type CommitLink, type FixAttempt, type PrOutcome } from "../store/schema.js";
import { toIso } from "../time.js";
import { agentOfAuthor, agentSessionId, coAuthorAgents } from "./attribution-agents.js";
import type { PushedCommit } from "./commits.js";

export type { PushedCommit };

type AttemptFacts = Pick<FixAttempt, "id" | "repoSlug" | "fixCommitSha" | "inferenceId" | "prNumber" | "fixBranch" | "createdAt" | "changedFiles">;

const attemptFactColumns = {
  id: fixAttempts.id,
  repoSlug: fixAttempts.repoSlug,
  fixCommitSha: fixAttempts.fixCommitSha,
  inferenceId: fixAttempts.inferenceId,
  prNumber: fixAttempts.prNumber,
  fixBranch: fixAttempts.fixBranch,
  createdAt: fixAttempts.createdAt,
  changedFiles: fixAttempts.changedFiles,
};

const MAX_EVIDENCE_FILES = 20;

export function branchName(ref: string): string {
  return ref.replace(/^refs\/heads\//, "");
}

// ---- what a commit message says about where it came from ------------------------------

export interface CommitRefs {
  /** `Merge pull request #N from owner/branch`: GitHub's merge commit. */
  mergedPr: number | null;
  mergedBranch: string | null;
  /** `Title (#N)` on the first line: GitHub's squash commit (issues and PRs share numbers, so #N is a PR if one exists). */
  squashPr: number | null;
  /** Any merge commit (PR or branch): its files are other commits' files, so it is never a touch candidate. */
  isMerge: boolean;
  /** Inference ids named by fixloop's commit message (`TensorZero inference <id>`). */
  inferenceIds: string[];
}

export function parseCommitRefs(message: string): CommitRefs {
  const subject = message.split(/\r?\n/, 1)[0] ?? "";
  const merge = /^Merge pull request #(\d+) from (\S+)/.exec(subject);
  const squash = merge ? null : /\(#(\d+)\)\s*$/.exec(subject);
  const mergedFrom = merge?.[2] ?? null;
  return {
    mergedPr: merge ? Number(merge[1]) : null,
    // `owner/branch`, and branch names may hold slashes themselves.
    mergedBranch: mergedFrom && mergedFrom.includes("/") ? mergedFrom.slice(mergedFrom.indexOf("/") + 1) : null,
    squashPr: squash ? Number(squash[1]) : null,
    isMerge: Boolean(merge) || /^Merge (?:remote-tracking )?branch '/.test(subject),
    inferenceIds: [...message.matchAll(/\bTensorZero inference ([A-Za-z0-9-]{8,})/g)].map((m) => m[1]),
  };
}


export interface AttributeInput {
  /** owner/repo as GitHub spells it (the push payload's full_name). */
  repo: string;
  /** The pushed ref: `main` or `refs/heads/main`. */
  branch: string;
  commits: PushedCommit[];
  /** The time links are established at. */
  now?: Date;
  /** How long after a fix a touching commit is still a candidate (default 2 h). */
  touchWindowMs?: number;
}

export interface AttributeResult {
  /** Every link of the given commits after this run, whatever its confidence. */
  links: CommitLink[];
  /** Links inserted or raised by this run (0 on a re-run). */
  written: number;
  /** PRs whose linked_session_ids changed. */
  prsUpdated: number[];
}

interface PreparedCommit {
  sha: string;
  time: string | null;
  files: string[];
  authorLogin: string | null;
  authorEmail: string | null;
  message: string;
  refs: CommitRefs;
}

function keepStrongest(into: Map<string, LinkDraft>, draft: LinkDraft): void {
  const existing = into.get(draft.sessionId);
  if (!existing || draft.confidence > existing.confidence) into.set(draft.sessionId, draft);
}

/** The PR a commit belongs to, when we can tell: named by its merge/squash message, merged as it, or pushed to its head branch. */
function prOfCommit(commit: PreparedCommit, branch: string, prs: PrOutcome[]): number | null {
  if (commit.refs.mergedPr !== null) return commit.refs.mergedPr;
  if (commit.refs.squashPr !== null && prs.some((p) => p.prNumber === commit.refs.squashPr)) return commit.refs.squashPr;
  const mergedAs = prs.find((p) => p.mergeCommitSha === commit.sha);
  if (mergedAs) return mergedAs.prNumber;
  const onHead = prs
    .filter((p) => p.headRef === branch && !p.isFork && p.headRef !== p.baseRef)
    .sort((a, b) => Number(b.state === "open") - Number(a.state === "open") || b.prNumber - a.prNumber);
  return onHead[0]?.prNumber ?? null;
}

function authoredDrafts(commit: PreparedCommit, branch: string, attempts: AttemptFacts[], prs: PrOutcome[]): LinkDraft[] {
  const drafts = new Map<string, LinkDraft>();
  const { refs } = commit;
  for (const attempt of attempts) {
    if (attempt.fixCommitSha?.toLowerCase() === commit.sha) {
      keepStrongest(drafts, { sessionId: attempt.id, linkType: "authored", confidence: CONFIDENCE.fixCommit, evidence: { rule: "fix-commit", branch } });
    }
    if (attempt.inferenceId && refs.inferenceIds.includes(attempt.inferenceId)) {
      const onFixBranch = branch === attempt.fixBranch || branch.startsWith("fixloop/");
      keepStrongest(drafts, {
        sessionId: attempt.id,
        linkType: "authored",
        confidence: onFixBranch ? CONFIDENCE.fixCommit : CONFIDENCE.carriedFixCommit,
        evidence: { rule: onFixBranch ? "fix-commit-message" : "carries-fix-commit-message", branch, inferenceId: attempt.inferenceId },
      });
    }
    const landedPr =
      (attempt.prNumber !== null && (refs.mergedPr === attempt.prNumber || refs.squashPr === attempt.prNumber)) ||
      (attempt.fixBranch !== null && refs.mergedBranch === attempt.fixBranch) ||
      prs.some((p) => p.mergeCommitSha === commit.sha && (p.prNumber === attempt.prNumber || (p.headRef !== null && p.headRef === attempt.fixBranch)));
    if (landedPr) {
      keepStrongest(drafts, {
        sessionId: attempt.id,
        linkType: "authored",
        confidence: CONFIDENCE.mergeOfFixPr,
        evidence: { rule: "merge-of-fix-pr", branch, pr: attempt.prNumber ?? refs.mergedPr ?? refs.squashPr },
      });
    }
  }
  return [...drafts.values()];
}

function agentDrafts(commit: PreparedCommit, branch: string, pr: number | null): LinkDraft[] {
  const drafts = new Map<string, LinkDraft>();
  const context = { branch, ...(pr !== null ? { pr } : {}) };
  const author = agentOfAuthor({ login: commit.authorLogin, email: commit.authorEmail });
  if (author) {
    keepStrongest(drafts, {
      sessionId: agentSessionId(author),
      linkType: "co-authored",
      confidence: CONFIDENCE.agentAuthor,
      evidence: { rule: "agent-is-author", agent: author, author: commit.authorLogin ?? commit.authorEmail, ...context },
    });
  }
  for (const { agent, trailer } of coAuthorAgents(commit.message)) {
    keepStrongest(drafts, {
      sessionId: agentSessionId(agent),
      linkType: "co-authored",
      confidence: CONFIDENCE.agentTrailer,
      evidence: { rule: "co-authored-by-trailer", agent, trailer: trailer.slice(0, 200), ...context },
    });
  }
  return [...drafts.values()];
}

function touchDrafts(
  commit: PreparedCommit,
  branch: string,
  pr: number | null,
  attempts: AttemptFacts[],
  otherExplanations: number,
  windowMs: number,
): LinkDraft[] {
  if (commit.refs.isMerge || commit.time === null || commit.files.length === 0) return [];
  const at = Date.parse(commit.time);
  const files = new Set(commit.files);
  const candidates = attempts.flatMap((attempt) => {
    const afterMs = at - Date.parse(attempt.createdAt);
    if (afterMs < 0 || afterMs > windowMs) return [];
    const overlap = attempt.changedFiles.filter((f) => files.has(f));
    return overlap.length > 0 ? [{ attempt, afterMs, overlap }] : [];
  });
  const competitors = candidates.length + otherExplanations;
  return candidates.map(({ attempt, afterMs, overlap }) => {
    const fixFiles = new Set(attempt.changedFiles);
    const onlyFixFiles = commit.files.every((f) => fixFiles.has(f));
    return {
      sessionId: attempt.id,
      linkType: "inferred-by-touch" as const,
      confidence: touchConfidence({ afterMs, onlyFixFiles, competitors }),
      evidence: {
        rule: "touch",
        branch,
        ...(pr !== null ? { pr } : {}),
        files: overlap.slice(0, MAX_EVIDENCE_FILES),
        minutesAfter: Math.round(afterMs / 60_000),
        onlyFixFiles,
        competitors,
        windowMinutes: Math.round(windowMs / 60_000),
      },
    };
  });
}

/**
 * Attributes pushed commits: authored links to fixloop's attempts, agents'
 * co-authored links, and inferred-by-touch links, then refreshes the
 * `linked_session_ids` of the PRs these commits belong to. Idempotent.
 */
export async function attributeCommitsDetailed(db: Db, input: AttributeInput): Promise<AttributeResult> {
  const branch = branchName(input.branch);
  const windowMs = input.touchWindowMs ?? TOUCH_WINDOW_MS;
  const established = (input.now ?? new Date()).toISOString();
  const commits: PreparedCommit[] = input.commits.map((c) => ({
    sha: c.sha.toLowerCase(),
    time: toIso(c.timestamp),
    files: [...new Set(c.files)],
    authorLogin: c.authorLogin,
    authorEmail: c.authorEmail,
    message: c.message ?? "",
    refs: parseCommitRefs(c.message ?? ""),
  }));
  if (commits.length === 0) return { links: [], written: 0, prsUpdated: [] };

  const shas = commits.map((c) => c.sha);
  const inferenceIds = [...new Set(commits.flatMap((c) => c.refs.inferenceIds))];
  const prNumbers = [...new Set(commits.flatMap((c) => [c.refs.mergedPr, c.refs.squashPr]).filter((n): n is number => n !== null))];
  const branches = [...new Set([branch, ...commits.map((c) => c.refs.mergedBranch).filter((b): b is string => b !== null)])];
  const times = commits.map((c) => c.time).filter((t): t is string => t !== null).sort();

  const attemptMatches: SQL[] = [inArray(fixAttempts.fixCommitSha, shas), inArray(fixAttempts.fixBranch, branches)];
  if (inferenceIds.length > 0) attemptMatches.push(inArray(fixAttempts.inferenceId, inferenceIds));
  if (prNumbers.length > 0) attemptMatches.push(inArray(fixAttempts.prNumber, prNumbers));
  if (times.length > 0) {
    const from = new Date(Date.parse(times[0]) - windowMs).toISOString();
    attemptMatches.push(and(gte(fixAttempts.createdAt, from), lte(fixAttempts.createdAt, times[times.length - 1])) as SQL);
  }
  const attempts: AttemptFacts[] = await db
    .select(attemptFactColumns)
    .from(fixAttempts)
    .where(and(sameRepo(fixAttempts.repoSlug, input.repo), or(...attemptMatches)));

  const prMatches: SQL[] = [inArray(prOutcomes.mergeCommitSha, shas), inArray(prOutcomes.headRef, branches)];
  if (prNumbers.length > 0) prMatches.push(inArray(prOutcomes.prNumber, prNumbers));
  const prs = await db
    .select()
    .from(prOutcomes)
    .where(and(eq(prOutcomes.provider, GITHUB_PROVIDER), sameRepo(prOutcomes.repoSlug, input.repo), or(...prMatches)));

  // Authored links written before (the pipeline's own record) count as much as ones found now.
  const alreadyAuthored = new Set(
    (
      await db
        .select({ sha: commitLinks.commitSha })
        .from(commitLinks)
        .where(and(inArray(commitLinks.commitSha, shas), sameRepo(commitLinks.repoSlug, input.repo), eq(commitLinks.linkType, "authored")))
    ).map((r) => r.sha),
  );

  let written = 0;
  const prsToRefresh = new Set<number>();
  for (const commit of commits) {
    const pr = prOfCommit(commit, branch, prs);
    const authored = authoredDrafts(commit, branch, attempts, prs);
    const agents = agentDrafts(commit, branch, pr);
    // A commit fixloop made (or landed) is not someone else's follow-up to a fix.
    const touches =
      authored.length > 0 || alreadyAuthored.has(commit.sha)
        ? []
        : touchDrafts(commit, branch, pr, attempts, agents.length > 0 ? 1 : 0, windowMs);
    written += await upsertLinks(db, input.repo, commit.sha, [...authored, ...agents, ...touches], established);
    if (pr !== null) prsToRefresh.add(pr);
    for (const draft of authored) {
      const attempt = attempts.find((a) => a.id === draft.sessionId);
      if (attempt?.prNumber) prsToRefresh.add(attempt.prNumber);
    }
  }

  const prsUpdated: number[] = [];
  for (const number of [...prsToRefresh].sort((a, b) => a - b)) {
    if (await refreshPrLinks(db, { repo: input.repo, number })) prsUpdated.push(number);
  }
  const links = await db
    .select()
    .from(commitLinks)
    .where(and(inArray(commitLinks.commitSha, shas), sameRepo(commitLinks.repoSlug, input.repo), ATTRIBUTION_SESSION));
  return { links: sortLinks(links), written, prsUpdated };
}

/** attributeCommitsDetailed, returning the links of the given commits. */
export async function attributeCommits(db: Db, input: AttributeInput): Promise<CommitLink[]> {
  return (await attributeCommitsDetailed(db, input)).links;
}

// ---- PRs ---------------------------------------------------------------------------------


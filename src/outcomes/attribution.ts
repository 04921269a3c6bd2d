/**
 * Attribution: which session produced a commit, and did it hold up?
 *
 * A session is a fix attempt (its id) or a coding agent (`agent:<name>`).
 * Links are stored in `commit_links` with a type and a confidence (the rubric
 * is in attribution-rubric.ts and docs/attribution.md):
 * - `authored`: fixloop's own commit for an attempt, or the commit that landed
 *   its PR (merge or squash), or a cherry-pick carrying its message;
 * - `co-authored`: an agent named by a `Co-authored-by:` trailer, or an
 *   agent's account as the commit author;
 * - `inferred-by-touch`: a commit touching files a recent fix changed, with
 *   no other explanation.
 * Writes are upserts on (commit, repo, session) keeping the highest
 * confidence, so re-running attribution over the same commits changes
 * nothing. PRs get the sessions of their commits in `linked_session_ids`.
 */
import { and, eq, gte, inArray, lte, or, sql, type SQL } from "drizzle-orm";
import { GITHUB_PROVIDER } from "../ingest/map.js";
import type { Db } from "../store/db.js";
import { commitLinks, fixAttempts, prOutcomes, type CommitLink, type FixAttempt, type PrOutcome } from "../store/schema.js";
import { toIso } from "../time.js";
import { agentNameOfSession, agentOfAuthor, agentSessionId, coAuthorAgents, isAgentSession } from "./attribution-agents.js";
import { CONFIDENCE, DEFAULT_MIN_CONFIDENCE, TOUCH_WINDOW_MS, touchConfidence } from "./attribution-rubric.js";
import type { PushedCommit } from "./commits.js";

export { AGENT_TRAILERS, agentSessionId, coAuthorAgents } from "./attribution-agents.js";
export { DEFAULT_MIN_CONFIDENCE } from "./attribution-rubric.js";
export { backfillAttribution } from "./attribution-backfill.js";
export type { CommitLink, PushedCommit };

export type LinkType = CommitLink["linkType"];

/** A bad or ambiguous question (sha that is no sha, prefix matching several commits): the caller's to fix. */
export class AttributionQueryError extends Error {
  override name = "AttributionQueryError";
}

interface LinkDraft {
  sessionId: string;
  linkType: LinkType;
  confidence: number;
  evidence: Record<string, unknown>;
}

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

const LINK_TYPE_RANK: Record<LinkType, number> = { authored: 0, "co-authored": 1, "inferred-by-touch": 2 };

/**
 * Attribution sessions are fix attempt ids (no colon) and `agent:` ids; any
 * other prefix is not an answer to "who made it" and is left out.
 */
const ATTRIBUTION_SESSION = sql`(${commitLinks.sessionId} NOT LIKE '%:%' OR ${commitLinks.sessionId} LIKE 'agent:%')`;
const MAX_EVIDENCE_FILES = 20;

function sameRepo(column: typeof fixAttempts.repoSlug | typeof prOutcomes.repoSlug | typeof commitLinks.repoSlug, repo: string): SQL {
  return sql`lower(${column}) = lower(${repo})`;
}

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

// ---- writes ------------------------------------------------------------------------------

/** Inserts links, raising an existing one only when the new confidence is higher. Returns how many rows changed. */
async function upsertLinks(db: Db, repo: string, sha: string, drafts: LinkDraft[], establishedTs: string): Promise<number> {
  if (drafts.length === 0) return 0;
  const written = await db
    .insert(commitLinks)
    .values(
      drafts.map((d) => ({
        commitSha: sha,
        repoSlug: repo,
        sessionId: d.sessionId,
        linkType: d.linkType,
        confidence: d.confidence,
        evidenceJson: d.evidence,
        establishedTs,
      })),
    )
    .onConflictDoUpdate({
      target: [commitLinks.commitSha, commitLinks.repoSlug, commitLinks.sessionId],
      set: {
        linkType: sql`excluded.link_type`,
        confidence: sql`excluded.confidence`,
        evidenceJson: sql`excluded.evidence_json`,
        establishedTs: sql`excluded.established_ts`,
      },
      setWhere: sql`excluded.confidence > ${commitLinks.confidence}`,
    })
    .returning({ sessionId: commitLinks.sessionId });
  return written.length;
}

/**
 * fixloop published `commitSha` for attempt `attemptId`: an `authored` link at
 * 1.0. Called by the pipeline once the fix commit exists; safe to repeat.
 */
export async function recordAuthoredLink(
  db: Db,
  input: {
    repo: string;
    commitSha: string;
    attemptId: string;
    evidence?: Record<string, unknown>;
    now?: Date;
    /** Refresh the attempt's PR links too (default); a caller refreshing PRs itself turns it off. */
    refreshPr?: boolean;
  },
): Promise<void> {
  const established = (input.now ?? new Date()).toISOString();
  await upsertLinks(db, input.repo, input.commitSha.toLowerCase(), [
    { sessionId: input.attemptId, linkType: "authored", confidence: CONFIDENCE.fixCommit, evidence: { rule: "fix-commit", ...input.evidence } },
  ], established);
  if (input.refreshPr === false) return;
  const [attempt] = await db.select({ prNumber: fixAttempts.prNumber }).from(fixAttempts).where(eq(fixAttempts.id, input.attemptId));
  if (attempt?.prNumber) await refreshPrLinks(db, { repo: input.repo, number: attempt.prNumber });
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

function sortLinks<T extends { confidence: number; linkType: LinkType; sessionId: string; commitSha?: string }>(links: T[]): T[] {
  return [...links].sort(
    (a, b) =>
      (a.commitSha ?? "").localeCompare(b.commitSha ?? "") ||
      b.confidence - a.confidence ||
      LINK_TYPE_RANK[a.linkType] - LINK_TYPE_RANK[b.linkType] ||
      a.sessionId.localeCompare(b.sessionId),
  );
}

// ---- PRs ---------------------------------------------------------------------------------

async function findPr(db: Db, repo: string, number: number): Promise<PrOutcome | undefined> {
  const [row] = await db
    .select()
    .from(prOutcomes)
    .where(and(eq(prOutcomes.provider, GITHUB_PROVIDER), sameRepo(prOutcomes.repoSlug, repo), eq(prOutcomes.prNumber, number)))
    .limit(1);
  return row;
}

/** Links of the commits of a PR: its head and merge commits, commits naming it, and commits pushed to its branch. */
async function linksOfPr(db: Db, pr: PrOutcome): Promise<CommitLink[]> {
  const shas = [pr.headSha, pr.mergeCommitSha].filter((s): s is string => Boolean(s)).map((s) => s.toLowerCase());
  const branchMatches = pr.headRef !== null && !pr.isFork && pr.headRef !== pr.baseRef;
  const matches: SQL[] = [sql`json_extract(${commitLinks.evidenceJson}, '$.pr') = ${pr.prNumber}`];
  if (shas.length > 0) matches.push(inArray(commitLinks.commitSha, shas));
  if (branchMatches) matches.push(sql`json_extract(${commitLinks.evidenceJson}, '$.branch') = ${pr.headRef}`);
  return db
    .select()
    .from(commitLinks)
    .where(and(sameRepo(commitLinks.repoSlug, pr.repoSlug), ATTRIBUTION_SESSION, or(...matches)));
}

/** Fix attempts a PR is linked to by itself: the attempt opened it, or its head ref is the attempt's fix branch. */
async function attemptsOfPr(db: Db, repo: string, number: number, pr: PrOutcome | undefined): Promise<FixAttempt[]> {
  const matches: SQL[] = [eq(fixAttempts.prNumber, number)];
  if (pr?.headRef && !pr.isFork) matches.push(eq(fixAttempts.fixBranch, pr.headRef));
  return db
    .select()
    .from(fixAttempts)
    .where(and(sameRepo(fixAttempts.repoSlug, repo), or(...matches)));
}

/**
 * Recomputes a PR's `linked_session_ids`: the attempts linked by branch or PR
 * number, and the sessions of its commits' links at ≥ 0.5, added to what the
 * row already holds. Writes only on change; returns whether it wrote.
 */
export async function refreshPrLinks(db: Db, input: { repo: string; number: number }): Promise<boolean> {
  const pr = await findPr(db, input.repo, input.number);
  if (!pr) return false;
  const attempts = await attemptsOfPr(db, pr.repoSlug, pr.prNumber, pr);
  const links = (await linksOfPr(db, pr)).filter((l) => l.confidence >= DEFAULT_MIN_CONFIDENCE);
  const stored = Array.isArray(pr.linkedSessionIds) ? pr.linkedSessionIds : [];
  const next = [...new Set([...stored, ...attempts.map((a) => a.id), ...links.map((l) => l.sessionId)])].sort();
  if (next.length === stored.length && next.every((id, i) => id === stored[i])) return false;
  await db.update(prOutcomes).set({ linkedSessionIds: next }).where(eq(prOutcomes.id, pr.id));
  return true;
}

// ---- explanations ------------------------------------------------------------------------

export type CiVerdict = "passed" | "failed" | "pending" | "none";

export interface AttemptSummary {
  id: string;
  repo: string;
  variant: string | null;
  model: string | null;
  triggerRunId: string;
  workflowName: string | null;
  status: FixAttempt["status"];
  ci: CiVerdict;
  prNumber: number | null;
  fixBranch: string | null;
  fixCommitSha: string | null;
  inferenceId: string | null;
  episodeId: string | null;
  createdAt: string;
}

export interface PrSummary {
  number: number;
  title: string;
  state: PrOutcome["state"];
  merged: boolean;
  mergedAt: string | null;
  reverted: boolean;
  revertedAt: string | null;
  downstreamTouchCount: number;
  lastDownstreamTouchTs: string | null;
}

export interface LinkExplanation {
  sessionId: string;
  linkType: LinkType;
  confidence: number;
  evidence: Record<string, unknown>;
  establishedTs: string;
  /** The fix attempt, for attempt sessions. */
  attempt: AttemptSummary | null;
  /** The agent's name, for agent sessions. */
  agent: string | null;
  /** The PR the work went through: the attempt's PR, or the one the commit landed through. */
  pr: PrSummary | null;
}

export interface CommitAttribution {
  sha: string;
  repo: string;
  minConfidence: number;
  links: LinkExplanation[];
  /** Links below minConfidence, left out of the answer. */
  hiddenCount: number;
}

export function ciVerdict(status: FixAttempt["status"]): CiVerdict {
  if (status === "ci_passed") return "passed";
  if (status === "ci_failed") return "failed";
  if (status === "awaiting_ci") return "pending";
  return "none";
}

function attemptSummary(a: FixAttempt): AttemptSummary {
  return {
    id: a.id,
    repo: a.repoSlug,
    variant: a.variant,
    model: a.model,
    triggerRunId: a.triggerRunId,
    workflowName: a.workflowName,
    status: a.status,
    ci: ciVerdict(a.status),
    prNumber: a.prNumber,
    fixBranch: a.fixBranch,
    fixCommitSha: a.fixCommitSha,
    inferenceId: a.inferenceId,
    episodeId: a.episodeId,
    createdAt: a.createdAt,
  };
}

function prSummary(p: PrOutcome): PrSummary {
  return {
    number: p.prNumber,
    title: p.title,
    state: p.state,
    merged: p.state === "merged",
    mergedAt: p.mergedAt,
    reverted: p.revertedAt !== null,
    revertedAt: p.revertedAt,
    downstreamTouchCount: p.downstreamTouchCount,
    lastDownstreamTouchTs: p.lastDownstreamTouchTs,
  };
}

function checkMinConfidence(value: number | undefined): number {
  const min = value ?? DEFAULT_MIN_CONFIDENCE;
  if (!Number.isFinite(min) || min < 0 || min > 1) throw new AttributionQueryError("the minimum confidence must be a number from 0 to 1");
  return min;
}

/** A full or abbreviated commit sha, lower case. */
export function normaliseShaPrefix(sha: string): string {
  const value = sha.trim().toLowerCase();
  if (!/^[0-9a-f]{4,40}$/.test(value)) throw new AttributionQueryError(`"${sha}" is not a commit sha (4 to 40 hex digits)`);
  return value;
}

function evidenceOf(link: CommitLink): Record<string, unknown> {
  const value = link.evidenceJson;
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function evidencePr(evidence: Record<string, unknown>): number | null {
  return typeof evidence.pr === "number" && Number.isInteger(evidence.pr) ? evidence.pr : null;
}

/**
 * Which sessions produced this commit, and how their work fared: attempt
 * (variant, run, PR, CI verdict) and PR outcome (merged, reverted, touches
 * since). Null when the commit has no link at all.
 */
export async function explainCommit(
  db: Db,
  input: { sha: string; repo?: string; minConfidence?: number },
): Promise<CommitAttribution | null> {
  const prefix = normaliseShaPrefix(input.sha);
  const minConfidence = checkMinConfidence(input.minConfidence);
  const MAX_LISTED = 5;
  const matching = await db
    .selectDistinct({ sha: commitLinks.commitSha, repo: commitLinks.repoSlug })
    .from(commitLinks)
    .where(
      and(
        // A range on the primary key's leading column, so a short sha is an index lookup.
        gte(commitLinks.commitSha, prefix),
        sql`${commitLinks.commitSha} < ${`${prefix}~`}`,
        input.repo ? sameRepo(commitLinks.repoSlug, input.repo) : undefined,
        ATTRIBUTION_SESSION,
      ),
    )
    .orderBy(commitLinks.commitSha, commitLinks.repoSlug)
    .limit(MAX_LISTED + 1);
  if (matching.length === 0) return null;
  if (matching.length > 1) {
    const listed = matching.slice(0, MAX_LISTED).map((m) => `${m.repo}@${m.sha.slice(0, 12)}`);
    const more = matching.length > MAX_LISTED ? ", …" : "";
    throw new AttributionQueryError(`"${input.sha}" matches several commits (${listed.join(", ")}${more}): give more of the sha or the repository`);
  }
  const { sha, repo } = matching[0];
  const rows = await db
    .select()
    .from(commitLinks)
    .where(and(eq(commitLinks.commitSha, sha), sameRepo(commitLinks.repoSlug, repo), ATTRIBUTION_SESSION));

  const attemptIds = rows.filter((r) => !isAgentSession(r.sessionId)).map((r) => r.sessionId);
  const attempts = attemptIds.length > 0 ? await db.select().from(fixAttempts).where(inArray(fixAttempts.id, attemptIds)) : [];
  const prNumbers = new Set<number>();
  for (const a of attempts) if (a.prNumber !== null) prNumbers.add(a.prNumber);
  for (const r of rows) {
    const n = evidencePr(evidenceOf(r));
    if (n !== null) prNumbers.add(n);
  }
  const prMatches: SQL[] = [eq(prOutcomes.mergeCommitSha, sha), eq(prOutcomes.headSha, sha)];
  if (prNumbers.size > 0) prMatches.push(inArray(prOutcomes.prNumber, [...prNumbers]));
  const prs = await db
    .select()
    .from(prOutcomes)
    .where(and(eq(prOutcomes.provider, GITHUB_PROVIDER), sameRepo(prOutcomes.repoSlug, repo), or(...prMatches)));
  const prByNumber = new Map(prs.map((p) => [p.prNumber, p]));
  const prOfThisCommit = prs.find((p) => p.mergeCommitSha?.toLowerCase() === sha) ?? prs.find((p) => p.headSha?.toLowerCase() === sha);

  const explained = sortLinks(rows).map((row): LinkExplanation => {
    const evidence = evidenceOf(row);
    const attempt = attempts.find((a) => a.id === row.sessionId) ?? null;
    const prNumber = attempt?.prNumber ?? evidencePr(evidence) ?? prOfThisCommit?.prNumber ?? null;
    const pr = prNumber !== null ? prByNumber.get(prNumber) : undefined;
    return {
      sessionId: row.sessionId,
      linkType: row.linkType,
      confidence: row.confidence,
      evidence,
      establishedTs: row.establishedTs,
      attempt: attempt ? attemptSummary(attempt) : null,
      agent: typeof evidence.agent === "string" ? evidence.agent : agentNameOfSession(row.sessionId),
      pr: pr ? prSummary(pr) : null,
    };
  });
  const visible = explained.filter((l) => l.confidence >= minConfidence);
  return {
    sha,
    repo: attempts[0]?.repoSlug ?? prs[0]?.repoSlug ?? repo,
    minConfidence,
    links: visible,
    hiddenCount: explained.length - visible.length,
  };
}

export interface PrSession {
  sessionId: string;
  kind: "fix-attempt" | "agent";
  /** The strongest link type and confidence among the PR's links to this session. */
  linkType: LinkType;
  confidence: number;
  /** Commits of the PR linked to the session. */
  commits: string[];
  /** How the session is tied to the PR. */
  via: string[];
  attempt: AttemptSummary | null;
  agent: string | null;
}

export interface PrAttribution {
  repo: string;
  number: number;
  pr: PrSummary | null;
  headRef: string | null;
  /** What pr_outcomes.linked_session_ids holds. */
  linkedSessionIds: string[];
  minConfidence: number;
  sessions: PrSession[];
  hiddenCount: number;
}

/**
 * Which sessions a PR came from: fix attempts linked by branch or PR number
 * (authored), and the sessions of its commits' links. Null when neither the
 * PR nor any attempt or link for it is known.
 */
export async function explainPr(
  db: Db,
  input: { repo: string; number: number; minConfidence?: number },
): Promise<PrAttribution | null> {
  const minConfidence = checkMinConfidence(input.minConfidence);
  if (!Number.isInteger(input.number) || input.number < 1) throw new AttributionQueryError("a PR number is a positive integer");
  const pr = await findPr(db, input.repo, input.number);
  const attempts = await attemptsOfPr(db, input.repo, input.number, pr);
  const links = pr
    ? await linksOfPr(db, pr)
    : await db
        .select()
        .from(commitLinks)
        .where(
          and(
            sameRepo(commitLinks.repoSlug, input.repo),
            ATTRIBUTION_SESSION,
            sql`json_extract(${commitLinks.evidenceJson}, '$.pr') = ${input.number}`,
          ),
        );
  if (!pr && attempts.length === 0 && links.length === 0) return null;

  const sessions = new Map<string, PrSession>();
  const sessionFor = (sessionId: string, linkType: LinkType, confidence: number): PrSession => {
    let session = sessions.get(sessionId);
    if (!session) {
      session = {
        sessionId,
        kind: isAgentSession(sessionId) ? "agent" : "fix-attempt",
        linkType,
        confidence,
        commits: [],
        via: [],
        attempt: null,
        agent: agentNameOfSession(sessionId),
      };
      sessions.set(sessionId, session);
    } else if (confidence > session.confidence || (confidence === session.confidence && LINK_TYPE_RANK[linkType] < LINK_TYPE_RANK[session.linkType])) {
      session.linkType = linkType;
      session.confidence = confidence;
    }
    return session;
  };
  for (const attempt of attempts) {
    const session = sessionFor(attempt.id, "authored", CONFIDENCE.fixCommit);
    if (attempt.prNumber === input.number) session.via.push("the attempt opened this PR");
    if (pr?.headRef && attempt.fixBranch === pr.headRef) session.via.push("the PR's head branch is the attempt's fix branch");
  }
  for (const link of sortLinks(links)) {
    const session = sessionFor(link.sessionId, link.linkType, link.confidence);
    if (!session.commits.includes(link.commitSha)) session.commits.push(link.commitSha);
    const via = `${link.linkType} commit`;
    if (!session.via.includes(via)) session.via.push(via);
    const agent = evidenceOf(link).agent;
    if (typeof agent === "string") session.agent = agent;
  }
  const attemptIds = [...sessions.values()].filter((s) => s.kind === "fix-attempt").map((s) => s.sessionId);
  const allAttempts = attemptIds.length > 0 ? await db.select().from(fixAttempts).where(inArray(fixAttempts.id, attemptIds)) : [];
  for (const attempt of allAttempts) {
    const session = sessions.get(attempt.id);
    if (session) session.attempt = attemptSummary(attempt);
  }
  const all = [...sessions.values()].sort(
    (a, b) => b.confidence - a.confidence || LINK_TYPE_RANK[a.linkType] - LINK_TYPE_RANK[b.linkType] || a.sessionId.localeCompare(b.sessionId),
  );
  const visible = all.filter((s) => s.confidence >= minConfidence);
  return {
    repo: pr?.repoSlug ?? attempts[0]?.repoSlug ?? input.repo,
    number: input.number,
    pr: pr ? prSummary(pr) : null,
    headRef: pr?.headRef ?? null,
    linkedSessionIds: pr && Array.isArray(pr.linkedSessionIds) ? pr.linkedSessionIds : [],
    minConfidence,
    sessions: visible,
    hiddenCount: all.length - visible.length,
  };
}

/**
 * Explaining attribution: where a commit came from (explainCommit) and which
 * sessions a PR's commits are linked to (explainPr), read from the
 * commit_links records and the attempts and PRs they name. Reads only; the
 * links are recorded by attribution.ts (pushes) and the fix job.
 */
import { and, eq, gte, inArray, or, sql, type SQL } from "drizzle-orm";
import { GITHUB_PROVIDER } from "../ingest/map.js";
import { ATTRIBUTION_SESSION, attemptsOfPr, findPr, LINK_TYPE_RANK, linksOfPr, sameRepo, sortLinks, type LinkType } from "../store/commit-links.js";
import type { Db } from "../store/db.js";
import { CONFIDENCE, DEFAULT_MIN_CONFIDENCE } from "../store/link-confidence.js";
import { commitLinks, fixAttempts, prOutcomes, type CommitLink, type FixAttempt, type PrOutcome } from "../store/schema.js";
import { agentNameOfSession, isAgentSession } from "./attribution-agents.js";

/** A bad or ambiguous question (sha that is no sha, prefix matching several commits): the caller's to fix. */
export class AttributionQueryError extends Error {
  override name = "AttributionQueryError";
}

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

/**
 * The commit_links records: which session (a fix attempt's id, or
 * `agent:<name>`) a commit is linked to, with a type and a confidence (the
 * rubric is in link-confidence.ts). Writes are upserts on (commit, repo,
 * session) keeping the highest confidence, so writing the same links again
 * changes nothing; a PR's `linked_session_ids` is refreshed from its links.
 * The fix job records its own commit here (recordAuthoredLink); attribution
 * (outcomes/) records what it finds in pushes and explains the links.
 */
import { and, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import { GITHUB_PROVIDER } from "../ingest/map.js";
import type { Db } from "./db.js";
import { CONFIDENCE, DEFAULT_MIN_CONFIDENCE } from "./link-confidence.js";
import { commitLinks, fixAttempts, prOutcomes, type CommitLink, type FixAttempt, type PrOutcome } from "./schema.js";

export type LinkType = CommitLink["linkType"];

export interface LinkDraft {
  sessionId: string;
  linkType: LinkType;
  confidence: number;
  evidence: Record<string, unknown>;
}

export const LINK_TYPE_RANK: Record<LinkType, number> = { authored: 0, "co-authored": 1, "inferred-by-touch": 2 };

/**
 * Attribution sessions are fix attempt ids (no colon) and `agent:` ids; any
 * other prefix is not an answer to "who made it" and is left out.
 */
export const ATTRIBUTION_SESSION = sql`(${commitLinks.sessionId} NOT LIKE '%:%' OR ${commitLinks.sessionId} LIKE 'agent:%')`;
/** Repositories compare case-insensitively: GitHub's names do, and payloads spell them either way. */
export function sameRepo(column: typeof fixAttempts.repoSlug | typeof prOutcomes.repoSlug | typeof commitLinks.repoSlug, repo: string): SQL {
  return sql`lower(${column}) = lower(${repo})`;
}

/** Inserts links, raising an existing one only when the new confidence is higher. Returns how many rows changed. */
export async function upsertLinks(db: Db, repo: string, sha: string, drafts: LinkDraft[], establishedTs: string): Promise<number> {
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
export function sortLinks<T extends { confidence: number; linkType: LinkType; sessionId: string; commitSha?: string }>(links: T[]): T[] {
  return [...links].sort(
    (a, b) =>
      (a.commitSha ?? "").localeCompare(b.commitSha ?? "") ||
      b.confidence - a.confidence ||
      LINK_TYPE_RANK[a.linkType] - LINK_TYPE_RANK[b.linkType] ||
      a.sessionId.localeCompare(b.sessionId),
  );
}

export async function findPr(db: Db, repo: string, number: number): Promise<PrOutcome | undefined> {
  const [row] = await db
    .select()
    .from(prOutcomes)
    .where(and(eq(prOutcomes.provider, GITHUB_PROVIDER), sameRepo(prOutcomes.repoSlug, repo), eq(prOutcomes.prNumber, number)))
    .limit(1);
  return row;
}

/** Links of the commits of a PR: its head and merge commits, commits naming it, and commits pushed to its branch. */
export async function linksOfPr(db: Db, pr: PrOutcome): Promise<CommitLink[]> {
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
export async function attemptsOfPr(db: Db, repo: string, number: number, pr: PrOutcome | undefined): Promise<FixAttempt[]> {
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

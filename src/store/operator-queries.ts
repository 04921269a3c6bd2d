/**
 * Read-side queries for the operator's pages (dashboard): filtered, paged
 * listings of fix attempts, CI runs, PRs and jobs, one of each in full, and
 * what links them (an attempt's trigger run, its PR, feedback rows, commit
 * links). Listings leave out the raw payloads.
 */
import { and, count, desc, eq, inArray, isNotNull, isNull, or, type SQL } from "drizzle-orm";
import type { Db } from "./db.js";
import { ciRuns, commitLinks, deliveryRecords, feedback, fixAttempts, jobs, prOutcomes, type CiRun, type FixStatus, type JobStatus, type PrState } from "./schema.js";

export interface Paging {
  limit: number;
  offset: number;
}

export interface PageOf<T> {
  rows: T[];
  total: number;
}

async function paged<T>(rows: Promise<T[]>, total: Promise<{ n: number }[]>): Promise<PageOf<T>> {
  const [r, [t]] = await Promise.all([rows, total]);
  return { rows: r, total: t?.n ?? 0 };
}

// ---- fix attempts ----------------------------------------------------------------------

export interface AttemptFilter {
  repo?: string;
  status?: FixStatus;
  /** A variant name, or "" for attempts that never reached the model. */
  variant?: string;
}

function attemptWhere(filter: AttemptFilter): SQL | undefined {
  const conditions: SQL[] = [];
  if (filter.repo) conditions.push(eq(fixAttempts.repoSlug, filter.repo));
  if (filter.status) conditions.push(eq(fixAttempts.status, filter.status));
  if (filter.variant !== undefined) conditions.push(filter.variant === "" ? isNull(fixAttempts.variant) : eq(fixAttempts.variant, filter.variant));
  return conditions.length > 0 ? and(...conditions) : undefined;
}

/** The columns of an attempt in a listing (no diff, prompt data or PR body). */
export const ATTEMPT_SUMMARY = {
  id: fixAttempts.id,
  createdAt: fixAttempts.createdAt,
  updatedAt: fixAttempts.updatedAt,
  status: fixAttempts.status,
  reason: fixAttempts.reason,
  repoSlug: fixAttempts.repoSlug,
  triggerProvider: fixAttempts.triggerProvider,
  triggerRunId: fixAttempts.triggerRunId,
  workflowName: fixAttempts.workflowName,
  variant: fixAttempts.variant,
  prNumber: fixAttempts.prNumber,
  attemptNumber: fixAttempts.attemptNumber,
  fixBranch: fixAttempts.fixBranch,
};

export type AttemptSummary = { [K in keyof typeof ATTEMPT_SUMMARY]: (typeof fixAttempts.$inferSelect)[K] };

export function listAttempts(db: Db, filter: AttemptFilter, paging: Paging): Promise<PageOf<AttemptSummary>> {
  const where = attemptWhere(filter);
  return paged(
    db.select(ATTEMPT_SUMMARY).from(fixAttempts).where(where).orderBy(desc(fixAttempts.createdAt), desc(fixAttempts.id)).limit(paging.limit).offset(paging.offset),
    db.select({ n: count() }).from(fixAttempts).where(where),
  );
}

/** The repos and variants attempts exist for, for the filter menus. */
export async function attemptFacets(db: Db): Promise<{ repos: string[]; variants: string[] }> {
  const [repos, variants] = await Promise.all([
    db.selectDistinct({ v: fixAttempts.repoSlug }).from(fixAttempts).orderBy(fixAttempts.repoSlug),
    db.selectDistinct({ v: fixAttempts.variant }).from(fixAttempts).orderBy(fixAttempts.variant),
  ]);
  return { repos: repos.map((r) => r.v), variants: variants.map((r) => r.v).filter((v): v is string => typeof v === "string" && v !== "") };
}

export async function getAttempt(db: Db, id: string) {
  const [row] = await db.select().from(fixAttempts).where(eq(fixAttempts.id, id)).limit(1);
  return row ?? null;
}

/** The other attempts of the same failing-run chain, oldest first. */
export function chainAttempts(db: Db, chainId: string): Promise<AttemptSummary[]> {
  return db.select(ATTEMPT_SUMMARY).from(fixAttempts).where(eq(fixAttempts.chainId, chainId)).orderBy(fixAttempts.attemptNumber);
}

export function attemptFeedback(db: Db, attemptId: string) {
  return db.select().from(feedback).where(eq(feedback.attemptId, attemptId)).orderBy(feedback.id);
}

export function attemptLinks(db: Db, attemptId: string) {
  return db.select().from(commitLinks).where(eq(commitLinks.sessionId, attemptId)).orderBy(desc(commitLinks.confidence), commitLinks.commitSha);
}

/** Attempts a CI run triggered (its chain), or whose fix commit it ran on. */
export function attemptsOfRun(db: Db, run: Pick<CiRun, "provider" | "runId" | "repoSlug" | "commitSha">): Promise<AttemptSummary[]> {
  return db
    .select(ATTEMPT_SUMMARY)
    .from(fixAttempts)
    .where(
      or(
        and(eq(fixAttempts.triggerProvider, run.provider), eq(fixAttempts.triggerRunId, run.runId)),
        and(eq(fixAttempts.repoSlug, run.repoSlug), eq(fixAttempts.fixCommitSha, run.commitSha)),
      ),
    )
    .orderBy(desc(fixAttempts.createdAt));
}

export function attemptsOfPr(db: Db, repo: string, prNumber: number, headRef: string | null): Promise<AttemptSummary[]> {
  const byPr = and(eq(fixAttempts.repoSlug, repo), eq(fixAttempts.prNumber, prNumber));
  return db
    .select(ATTEMPT_SUMMARY)
    .from(fixAttempts)
    .where(headRef ? or(byPr, and(eq(fixAttempts.repoSlug, repo), eq(fixAttempts.fixBranch, headRef))) : byPr)
    .orderBy(desc(fixAttempts.createdAt));
}

// ---- CI runs -----------------------------------------------------------------------------

export interface RunFilter {
  repo?: string;
  /** success | failure | cancelled | in_progress */
  status?: CiRun["status"];
  branch?: string;
}

const RUN_SUMMARY = {
  id: ciRuns.id,
  provider: ciRuns.provider,
  repoSlug: ciRuns.repoSlug,
  runId: ciRuns.runId,
  commitSha: ciRuns.commitSha,
  headBranch: ciRuns.headBranch,
  event: ciRuns.event,
  status: ciRuns.status,
  conclusion: ciRuns.conclusion,
  workflowName: ciRuns.workflowName,
  appSlug: ciRuns.appSlug,
  runAttempt: ciRuns.runAttempt,
  htmlUrl: ciRuns.htmlUrl,
  prNumbers: ciRuns.prNumbers,
  startedTs: ciRuns.startedTs,
  completedTs: ciRuns.completedTs,
  updatedAt: ciRuns.updatedAt,
  recordedAt: ciRuns.recordedAt,
};

export type RunSummary = { [K in keyof typeof RUN_SUMMARY]: CiRun[K] };

function runWhere(filter: RunFilter): SQL | undefined {
  const conditions: SQL[] = [];
  if (filter.repo) conditions.push(eq(ciRuns.repoSlug, filter.repo));
  if (filter.status) conditions.push(eq(ciRuns.status, filter.status));
  if (filter.branch) conditions.push(eq(ciRuns.headBranch, filter.branch));
  return conditions.length > 0 ? and(...conditions) : undefined;
}

export function listRuns(db: Db, filter: RunFilter, paging: Paging): Promise<PageOf<RunSummary>> {
  const where = runWhere(filter);
  return paged(
    db.select(RUN_SUMMARY).from(ciRuns).where(where).orderBy(desc(ciRuns.recordedAt), desc(ciRuns.id)).limit(paging.limit).offset(paging.offset),
    db.select({ n: count() }).from(ciRuns).where(where),
  );
}

export async function getRun(db: Db, id: number): Promise<RunSummary | null> {
  const [row] = await db.select(RUN_SUMMARY).from(ciRuns).where(eq(ciRuns.id, id)).limit(1);
  return row ?? null;
}

export async function findRun(db: Db, provider: string, runId: string): Promise<RunSummary | null> {
  const [row] = await db.select(RUN_SUMMARY).from(ciRuns).where(and(eq(ciRuns.provider, provider), eq(ciRuns.runId, runId))).limit(1);
  return row ?? null;
}

/** CI runs on one commit of a repo (a fix commit's verdicts), newest first. */
export function runsOnCommit(db: Db, repo: string, sha: string): Promise<RunSummary[]> {
  return db.select(RUN_SUMMARY).from(ciRuns).where(and(eq(ciRuns.repoSlug, repo), eq(ciRuns.commitSha, sha))).orderBy(desc(ciRuns.recordedAt));
}

export async function runRepos(db: Db): Promise<string[]> {
  return (await db.selectDistinct({ v: ciRuns.repoSlug }).from(ciRuns).orderBy(ciRuns.repoSlug)).map((r) => r.v);
}

// ---- pull requests -----------------------------------------------------------------------

export interface PrFilter {
  repo?: string;
  state?: PrState;
}

const PR_SUMMARY = {
  id: prOutcomes.id,
  provider: prOutcomes.provider,
  repoSlug: prOutcomes.repoSlug,
  prNumber: prOutcomes.prNumber,
  title: prOutcomes.title,
  state: prOutcomes.state,
  draft: prOutcomes.draft,
  author: prOutcomes.author,
  headRef: prOutcomes.headRef,
  headSha: prOutcomes.headSha,
  baseRef: prOutcomes.baseRef,
  mergeCommitSha: prOutcomes.mergeCommitSha,
  isFork: prOutcomes.isFork,
  createdAt: prOutcomes.createdAt,
  mergedAt: prOutcomes.mergedAt,
  closedAt: prOutcomes.closedAt,
  revertedAt: prOutcomes.revertedAt,
  revertedBy: prOutcomes.revertedBy,
  updatedAt: prOutcomes.updatedAt,
  downstreamTouchCount: prOutcomes.downstreamTouchCount,
  lastDownstreamTouchTs: prOutcomes.lastDownstreamTouchTs,
  linkedSessionIds: prOutcomes.linkedSessionIds,
  recordedAt: prOutcomes.recordedAt,
};

export type PrSummary = { [K in keyof typeof PR_SUMMARY]: (typeof prOutcomes.$inferSelect)[K] };

function prWhere(filter: PrFilter): SQL | undefined {
  const conditions: SQL[] = [];
  if (filter.repo) conditions.push(eq(prOutcomes.repoSlug, filter.repo));
  if (filter.state) conditions.push(eq(prOutcomes.state, filter.state));
  return conditions.length > 0 ? and(...conditions) : undefined;
}

export function listPrs(db: Db, filter: PrFilter, paging: Paging): Promise<PageOf<PrSummary>> {
  const where = prWhere(filter);
  return paged(
    db.select(PR_SUMMARY).from(prOutcomes).where(where).orderBy(desc(prOutcomes.recordedAt), desc(prOutcomes.id)).limit(paging.limit).offset(paging.offset),
    db.select({ n: count() }).from(prOutcomes).where(where),
  );
}

export async function getPr(db: Db, id: number): Promise<PrSummary | null> {
  const [row] = await db.select(PR_SUMMARY).from(prOutcomes).where(eq(prOutcomes.id, id)).limit(1);
  return row ?? null;
}

export async function findPr(db: Db, repo: string, prNumber: number): Promise<PrSummary | null> {
  const [row] = await db.select(PR_SUMMARY).from(prOutcomes).where(and(eq(prOutcomes.repoSlug, repo), eq(prOutcomes.prNumber, prNumber))).limit(1);
  return row ?? null;
}

export async function prRepos(db: Db): Promise<string[]> {
  return (await db.selectDistinct({ v: prOutcomes.repoSlug }).from(prOutcomes).orderBy(prOutcomes.repoSlug)).map((r) => r.v);
}

// ---- jobs and deliveries -----------------------------------------------------------------

export function listJobsPage(db: Db, filter: { status?: JobStatus[]; kind?: string; waitingOnly?: boolean }, paging: Paging) {
  const conditions: SQL[] = [];
  if (filter.waitingOnly) conditions.push(isNotNull(jobs.lastError));
  if (filter.status && filter.status.length > 0) conditions.push(inArray(jobs.status, filter.status));
  if (filter.kind) conditions.push(eq(jobs.kind, filter.kind));
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  return paged(
    db.select().from(jobs).where(where).orderBy(desc(jobs.id)).limit(paging.limit).offset(paging.offset),
    db.select({ n: count() }).from(jobs).where(where),
  );
}

/** How many jobs and deliveries sit in each status: the overview's tiles. */
export async function queueCounts(db: Db): Promise<{ jobs: Record<string, number>; deliveries: Record<string, number> }> {
  const [j, d] = await Promise.all([
    db.select({ status: jobs.status, n: count() }).from(jobs).groupBy(jobs.status),
    db.select({ status: deliveryRecords.status, n: count() }).from(deliveryRecords).groupBy(deliveryRecords.status),
  ]);
  return { jobs: Object.fromEntries(j.map((r) => [r.status, r.n])), deliveries: Object.fromEntries(d.map((r) => [r.status, r.n])) };
}

/** Queued jobs that carry a reason: waiting on an unreachable GitHub or gateway, a rate limit, or a retry. */
export function waitingJobs(db: Db, limit = 20) {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "queued"), isNotNull(jobs.lastError)))
    .orderBy(desc(jobs.updatedAt))
    .limit(limit);
}

/**
 * `fixloop attribute backfill`: attribute the commits of each repository's
 * default branch from the REST API, the same way pushes are attributed live.
 *
 * Incremental and resumable: a cursor per repository (the committer date of
 * the newest commit processed, and the shas at that date) is kept in
 * `http_cache` under `cursor:attribution:<repo>` and moved after every batch,
 * so a second run lists only newer commits and an interrupted run resumes
 * where it stopped. A commit's file list costs one request, so it is fetched
 * only when a fix attempt of the repository is recent enough for the commit to
 * be a touch candidate. Requests go through the conditional-request cache.
 *
 * Known gap: GitHub filters `since` on the committer date, so commits that
 * land later with an older committer date (a long-lived branch merged with a
 * merge commit) are not listed by an incremental run; their merge commit is.
 * `restart` reads the whole window again.
 */
import { and, eq, gte, isNotNull, lte, sql } from "drizzle-orm";
import { installConditionalRequestCache, snapshotStats, type GitHubOctokit } from "../github/conditional-cache.js";
import { type GitHubLog } from "../github/auth.js";
import { GITHUB_PROVIDER } from "../ingest/map.js";
import type { Store } from "../store/db.js";
import { readCachedResponse, writeCachedResponse } from "../store/http-cache.js";
import { fixAttempts, prOutcomes } from "../store/schema.js";
import { nowIso, toIso } from "../time.js";
import { recordAuthoredLink, refreshPrLinks } from "../store/commit-links.js";
import { TOUCH_WINDOW_MS } from "../store/link-confidence.js";
import { attributeCommitsDetailed, parseCommitRefs, type PushedCommit } from "./attribution.js";
import { splitRepo } from "../github/repo.js";

export interface AttributionCursor {
  /** Committer date of the newest commit processed (GitHub's `since` is inclusive, to the second). */
  committedAt: string;
  /** The commits at exactly that date already processed: skipped when listed again. */
  shas: string[];
  updatedAt: string;
}

export interface AttributionBackfillProgress {
  repo: string;
  phase: "list" | "commits" | "prs";
  done: number;
  total: number | null;
}

export interface RepoAttributionSummary {
  repo: string;
  /** Where listing started: the cursor when there is one, else `since`. */
  listedSince: string;
  resumedFromCursor: boolean;
  commitsListed: number;
  commitsAttributed: number;
  /** Per-commit requests made for file lists. */
  filesFetched: number;
  linksWritten: number;
  /** Attempts with a fix commit that had no authored link yet. */
  authoredRecorded: number;
  prsUpdated: number;
  cursor: AttributionCursor | null;
  error: string | null;
}

export interface AttributionBackfillSummary {
  since: string;
  repos: RepoAttributionSummary[];
  requests: number;
  notModified: number;
  durationMs: number;
}

export interface AttributionBackfillOptions {
  store: Pick<Store, "db">;
  /** A GitHub client for a repository (installation or token auth). */
  octokitFor: (repo: string) => GitHubOctokit | Promise<GitHubOctokit>;
  /** owner/repo list; default: every repository with fix attempts or recorded PRs. */
  repos?: string[];
  /** ISO instant: the oldest commits to read on a first run. */
  since: string;
  /** Ignore the stored cursors and read the whole window again. */
  restart?: boolean;
  log?: GitHubLog;
  onProgress?: (progress: AttributionBackfillProgress) => void;
  /** Commits attributed (and the cursor moved) per batch. */
  batchSize?: number;
  now?: Date;
}

const PER_PAGE = 100;
const DEFAULT_BATCH = 25;
const quietLog: GitHubLog = { debug() {}, info() {}, warn() {}, error() {} };

export function cursorKey(repo: string): string {
  return `cursor:attribution:${repo.toLowerCase()}`;
}

function isCursor(value: unknown): value is AttributionCursor {
  const c = value as AttributionCursor | null;
  return typeof c?.committedAt === "string" && Array.isArray(c.shas) && c.shas.every((s) => typeof s === "string");
}

export async function readAttributionCursor(db: Store["db"], repo: string): Promise<AttributionCursor | null> {
  const cached = await readCachedResponse(db, cursorKey(repo));
  return cached && isCursor(cached.body.data) ? cached.body.data : null;
}

async function writeCursor(db: Store["db"], repo: string, cursor: AttributionCursor): Promise<void> {
  await writeCachedResponse(db, { key: cursorKey(repo), etag: null, lastModified: null, body: { data: cursor, headers: {} }, fetchedAt: cursor.updatedAt });
}

/** GitHub's `since` takes seconds. */
function toGitHubTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, "Z");
}

interface ListedCommit {
  sha: string;
  message: string;
  authorLogin: string | null;
  authorEmail: string | null;
  committedAt: string;
  parents: number;
}

function readListedCommit(item: unknown): ListedCommit | null {
  const c = item as {
    sha?: unknown;
    commit?: { message?: unknown; author?: { email?: unknown; date?: unknown } | null; committer?: { date?: unknown } | null };
    author?: { login?: unknown } | null;
    parents?: unknown[];
  } | null;
  const committedAt = toIso((c?.commit?.committer?.date ?? c?.commit?.author?.date) as string | undefined);
  if (typeof c?.sha !== "string" || !committedAt) return null;
  return {
    sha: c.sha.toLowerCase(),
    message: typeof c.commit?.message === "string" ? c.commit.message : "",
    authorLogin: typeof c.author?.login === "string" ? c.author.login : null,
    authorEmail: typeof c.commit?.author?.email === "string" ? c.commit.author.email : null,
    committedAt,
    parents: Array.isArray(c.parents) ? c.parents.length : 1,
  };
}

async function defaultRepos(db: Store["db"]): Promise<string[]> {
  const rows = await db.all<{ repo: string }>(sql`
    SELECT repo_slug AS repo FROM ${fixAttempts}
    UNION SELECT repo_slug AS repo FROM ${prOutcomes} WHERE provider = ${GITHUB_PROVIDER}`);
  const byKey = new Map<string, string>();
  for (const { repo } of rows) if (!byKey.has(repo.toLowerCase())) byKey.set(repo.toLowerCase(), repo);
  return [...byKey.values()].sort();
}

function emptySummary(repo: string, since: string): RepoAttributionSummary {
  return {
    repo,
    listedSince: since,
    resumedFromCursor: false,
    commitsListed: 0,
    commitsAttributed: 0,
    filesFetched: 0,
    linksWritten: 0,
    authoredRecorded: 0,
    prsUpdated: 0,
    cursor: null,
    error: null,
  };
}

/** Fills `summary` as it goes, so a repository that fails part-way still reports what was done. */
async function backfillRepo(
  options: AttributionBackfillOptions,
  slug: string,
  sinceIso: string,
  log: GitHubLog,
  progress: (p: AttributionBackfillProgress) => void,
  octokit: GitHubOctokit,
  summary: RepoAttributionSummary,
): Promise<void> {
  const { db } = options.store;
  const { owner, repo } = splitRepo(slug);
  const now = options.now ?? new Date();
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH);
  const { data: info } = await octokit.request("GET /repos/{owner}/{repo}", { owner, repo });
  const repoSlug = typeof info.full_name === "string" ? info.full_name : slug;
  const branch = typeof info.default_branch === "string" ? info.default_branch : "main";

  let cursor = options.restart ? null : await readAttributionCursor(db, repoSlug);
  const resumed = cursor !== null && cursor.committedAt > sinceIso;
  const listedSince = resumed && cursor ? cursor.committedAt : sinceIso;
  summary.repo = repoSlug;
  summary.listedSince = listedSince;
  summary.resumedFromCursor = resumed;
  summary.cursor = cursor;

  progress({ repo: repoSlug, phase: "list", done: 0, total: null });
  const listed = await octokit.paginate("GET /repos/{owner}/{repo}/commits", { owner, repo, since: toGitHubTime(listedSince), per_page: PER_PAGE });
  const skip = new Set(resumed && cursor ? cursor.shas : []);
  // Oldest first, so the cursor only ever moves past commits already attributed.
  const commits = (listed as unknown[])
    .map(readListedCommit)
    .filter((c): c is ListedCommit => c !== null)
    .reverse()
    .sort((a, b) => a.committedAt.localeCompare(b.committedAt))
    .filter((c) => !skip.has(c.sha));
  summary.commitsListed = listed.length;
  progress({ repo: repoSlug, phase: "list", done: listed.length, total: listed.length });

  // Fix attempts recent enough for some listed commit to be a touch candidate: only then are files worth a request.
  const touchTimes =
    commits.length === 0
      ? []
      : (
          await db
            .select({ createdAt: fixAttempts.createdAt })
            .from(fixAttempts)
            .where(
              and(
                sql`lower(${fixAttempts.repoSlug}) = lower(${repoSlug})`,
                sql`${fixAttempts.changedFiles} <> '[]'`,
                gte(fixAttempts.createdAt, new Date(Date.parse(commits[0].committedAt) - TOUCH_WINDOW_MS).toISOString()),
                lte(fixAttempts.createdAt, commits[commits.length - 1].committedAt),
              ),
            )
        ).map((r) => Date.parse(r.createdAt));
  const mayBeTouch = (c: ListedCommit) => {
    if (c.parents > 1 || parseCommitRefs(c.message).isMerge) return false;
    const at = Date.parse(c.committedAt);
    return touchTimes.some((created) => created <= at && at - created <= TOUCH_WINDOW_MS);
  };

  const prsUpdated = new Set<number>();
  progress({ repo: repoSlug, phase: "commits", done: 0, total: commits.length });
  for (let start = 0; start < commits.length; start += batchSize) {
    const batch = commits.slice(start, start + batchSize);
    const pushed: PushedCommit[] = [];
    for (const c of batch) {
      let files: string[] = [];
      if (mayBeTouch(c)) {
        const { data } = await octokit.request("GET /repos/{owner}/{repo}/commits/{ref}", { owner, repo, ref: c.sha });
        files = (data.files ?? []).map((f: { filename: string }) => f.filename);
        summary.filesFetched += 1;
      }
      pushed.push({ sha: c.sha, message: c.message, authorLogin: c.authorLogin, authorEmail: c.authorEmail, timestamp: c.committedAt, files });
    }
    const result = await attributeCommitsDetailed(db, { repo: repoSlug, branch, commits: pushed, now });
    summary.linksWritten += result.written;
    for (const number of result.prsUpdated) prsUpdated.add(number);
    summary.prsUpdated = prsUpdated.size;
    summary.commitsAttributed += batch.length;
    const newest = batch[batch.length - 1].committedAt;
    const atNewest = batch.filter((c) => c.committedAt === newest).map((c) => c.sha);
    const carried = cursor && cursor.committedAt === newest ? cursor.shas : [];
    cursor = { committedAt: newest, shas: [...new Set([...carried, ...atNewest])], updatedAt: nowIso() };
    await writeCursor(db, repoSlug, cursor);
    summary.cursor = cursor;
    progress({ repo: repoSlug, phase: "commits", done: summary.commitsAttributed, total: commits.length });
  }

  // Fix commits live on fix branches: make sure each has its authored link, whatever the pipeline recorded.
  const unlinked = await db
    .select({ id: fixAttempts.id, repoSlug: fixAttempts.repoSlug, fixCommitSha: fixAttempts.fixCommitSha })
    .from(fixAttempts)
    .where(
      and(
        sql`lower(${fixAttempts.repoSlug}) = lower(${repoSlug})`,
        isNotNull(fixAttempts.fixCommitSha),
        gte(fixAttempts.createdAt, sinceIso),
        sql`NOT EXISTS (SELECT 1 FROM commit_links cl WHERE cl.commit_sha = lower(fix_attempts.fix_commit_sha)
              AND cl.session_id = fix_attempts.id AND cl.link_type = 'authored')`,
      ),
    );
  for (const attempt of unlinked) {
    if (!attempt.fixCommitSha) continue;
    // PR links are refreshed below, once per PR.
    await recordAuthoredLink(db, { repo: repoSlug, commitSha: attempt.fixCommitSha, attemptId: attempt.id, evidence: { source: "backfill" }, now, refreshPr: false });
    summary.authoredRecorded += 1;
  }

  const prs = await db
    .select({ number: prOutcomes.prNumber })
    .from(prOutcomes)
    .where(
      and(
        eq(prOutcomes.provider, GITHUB_PROVIDER),
        sql`lower(${prOutcomes.repoSlug}) = lower(${repoSlug})`,
        sql`(pr_outcomes.updated_at >= ${listedSince} OR pr_outcomes.pr_number IN
              (SELECT fa.pr_number FROM fix_attempts fa WHERE lower(fa.repo_slug) = lower(${repoSlug}) AND fa.created_at >= ${sinceIso}))`,
      ),
    );
  progress({ repo: repoSlug, phase: "prs", done: 0, total: prs.length });
  for (const [i, { number }] of prs.entries()) {
    if (await refreshPrLinks(db, { repo: repoSlug, number })) prsUpdated.add(number);
    progress({ repo: repoSlug, phase: "prs", done: i + 1, total: prs.length });
  }
  summary.prsUpdated = prsUpdated.size;
  log.info(`attribution ${repoSlug}: ${summary.commitsAttributed} commits, ${summary.linksWritten} links written, ${summary.prsUpdated} PRs updated`);
}

export async function backfillAttribution(options: AttributionBackfillOptions): Promise<AttributionBackfillSummary> {
  const started = Date.now();
  const log = options.log ?? quietLog;
  const progress = options.onProgress ?? (() => {});
  const sinceIso = toIso(options.since);
  if (!sinceIso) throw new Error(`since must be an ISO date, got "${options.since}"`);
  const repos = options.repos && options.repos.length > 0 ? options.repos : await defaultRepos(options.store.db);
  const summaries: RepoAttributionSummary[] = [];
  let requests = 0;
  let notModified = 0;
  for (const slug of repos) {
    let octokit: GitHubOctokit | undefined;
    let before: { requests: number; notModified: number } | undefined;
    const summary = emptySummary(slug, sinceIso);
    summaries.push(summary);
    try {
      splitRepo(slug);
      octokit = await options.octokitFor(slug);
      before = snapshotStats(installConditionalRequestCache(octokit, options.store.db));
      await backfillRepo(options, slug, sinceIso, log, progress, octokit, summary);
    } catch (error) {
      // One repository's failure (no installation, rate limit) leaves the others to run; its cursor keeps what was done.
      summary.error = error instanceof Error ? error.message : String(error);
      log.error(`attribution backfill of ${slug} stopped: ${summary.error}`);
    } finally {
      if (octokit && before) {
        const after = snapshotStats(installConditionalRequestCache(octokit, options.store.db));
        requests += after.requests - before.requests;
        notModified += after.notModified - before.notModified;
      }
    }
  }
  return { since: sinceIso, repos: summaries, requests, notModified, durationMs: Date.now() - started };
}

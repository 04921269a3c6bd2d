/**
 * Backfill one repository's recent history through the REST API: pull
 * requests (newest update first, down to `since`), workflow runs created since
 * then, and the check suites of other CI apps on the commits seen. Rows go
 * through the same idempotent upserts as webhooks, so a backfill and live
 * deliveries converge on the same rows, and a re-run writes nothing new.
 */
import { installConditionalRequestCache, snapshotStats, type GitHubOctokit, type RateLimitSnapshot } from "../github/conditional-cache.js";
import { type GitHubLog } from "../github/auth.js";
import {
  ACTIONS_PROVIDER,
  CHECKS_PROVIDER,
  GITHUB_PROVIDER,
  checkSuiteSchema,
  describeIssues,
  isActionsSuite,
  pullRequestSchema,
  toCheckSuiteRow,
  toPrOutcomeRow,
  toWorkflowRunRow,
  workflowRunSchema,
} from "../ingest/map.js";
import type { Store } from "../store/db.js";
import { upsertCiRun, upsertPrOutcome, type UpsertResult } from "../store/records.js";
import type { NewCiRun, NewPrOutcome } from "../store/schema.js";
import { nowIso, toIso } from "../time.js";
import { knownCiOrderKeys, knownPrOrderKeys } from "./known-rows.js";
import { createdQuery, RUNS_QUERY_CAP, splitCreatedWindow, utcDay, type CreatedWindow } from "./windows.js";
import { splitRepo } from "../github/repo.js";

export type BackfillPhase = "pulls" | "workflow-runs" | "check-suites";

export interface BackfillProgress {
  phase: BackfillPhase;
  /** Objects read so far (pulls, runs) or commits asked about (check suites). */
  done: number;
  /** Known for runs (GitHub's total_count) and check suites (commits); pulls have no total. */
  total: number | null;
  finished: boolean;
}

export interface WriteCounts {
  /** Objects read from GitHub within the window. */
  seen: number;
  /** Rows inserted or moved forward. */
  written: number;
  /** Already stored with the same state: nothing to do. */
  unchanged: number;
  /** The store holds a newer state (a webhook got there first): left alone. */
  stale: number;
  /** Objects that failed validation: logged and skipped. */
  malformed: number;
}

export interface BackfillSummary {
  repo: string;
  since: string;
  pullRequests: WriteCounts;
  workflowRuns: WriteCounts & {
    /** `created` queries that still hit GitHub's 1,000-result cap on a single day: some runs there were not listed. */
    truncatedQueries: string[];
  };
  checkSuites: WriteCounts & {
    /** Distinct commits asked about. */
    commits: number;
    /** GitHub Actions suites passed over: workflow runs cover them. */
    actionsSkipped: number;
    /** Commits GitHub no longer knows (force-pushed away). */
    missingCommits: number;
    /** Why check suites were not read at all, when they were not (e.g. no Checks permission). */
    skippedReason: string | null;
  };
  /** HTTP requests sent, retries included. */
  requests: number;
  /** 304 answers: served from the cache, free of rate limit. */
  notModified: number;
  rateLimit: RateLimitSnapshot | null;
  durationMs: number;
}

export interface BackfillOptions {
  octokit: GitHubOctokit;
  store: Pick<Store, "db">;
  /** owner/repo */
  repo: string;
  /** ISO instant: pull requests updated and runs created from then on. */
  since: string;
  /** Read check suites of non-Actions CI apps for the commits seen (default true). */
  checkSuites?: boolean;
  onProgress?: (progress: BackfillProgress) => void;
  log?: GitHubLog;
  /** The clock, for the end of the last run window. */
  now?: Date;
}

const PER_PAGE = 100;

const quietLog: GitHubLog = { debug() {}, info() {}, warn() {}, error() {} };

function emptyCounts(): WriteCounts {
  return { seen: 0, written: 0, unchanged: 0, stale: 0, malformed: 0 };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Webhooks spell the repository as GitHub does; a backfill must land on the same rows whatever case was typed. */
function canonicalSlug(fullName: unknown, fallback: string): string {
  return typeof fullName === "string" && fullName.includes("/") ? fullName : fallback;
}

function repositoryName(item: unknown): unknown {
  return (item as { repository?: { full_name?: unknown } } | null)?.repository?.full_name;
}

async function writeRows<Row extends { orderKey?: string }, Key>(
  rows: Row[],
  known: Map<Key, string>,
  keyOf: (row: Row) => Key,
  upsert: (row: Row) => Promise<UpsertResult>,
  counts: WriteCounts,
): Promise<void> {
  for (const row of rows) {
    if (known.get(keyOf(row)) === row.orderKey) {
      counts.unchanged += 1;
      continue;
    }
    if ((await upsert(row)) === "written") counts.written += 1;
    else counts.stale += 1;
  }
}

export async function backfillRepository(options: BackfillOptions): Promise<BackfillSummary> {
  const started = Date.now();
  const { octokit, repo: slug, since } = options;
  const { db } = options.store;
  const log = options.log ?? quietLog;
  const progress = options.onProgress ?? (() => {});
  const sinceIso = toIso(since);
  if (!sinceIso) throw new Error(`since must be an ISO date, got "${since}"`);
  const { owner, repo } = splitRepo(slug);
  const stats = installConditionalRequestCache(octokit, db);
  const before = snapshotStats(stats);
  /** Commits whose check suites are worth asking about, in the order first seen. */
  const commits = new Set<string>();

  // ---- pull requests: newest update first, stop at the first one older than since
  const pullRequests = emptyCounts();
  progress({ phase: "pulls", done: 0, total: null, finished: false });
  const pulls = octokit.paginate.iterator("GET /repos/{owner}/{repo}/pulls", {
    owner,
    repo,
    state: "all",
    sort: "updated",
    direction: "desc",
    per_page: PER_PAGE,
  });
  for await (const page of pulls) {
    const rows: NewPrOutcome[] = [];
    let reachedSince = false;
    for (const item of page.data as unknown[]) {
      const parsed = pullRequestSchema.safeParse(item);
      if (!parsed.success) {
        pullRequests.malformed += 1;
        log.warn(describeIssues(parsed.error, `pull request in ${slug}`));
        continue;
      }
      const pr = parsed.data;
      const updatedAt = toIso(pr.updated_at);
      if (updatedAt !== null && updatedAt < sinceIso) {
        reachedSince = true;
        break;
      }
      pullRequests.seen += 1;
      const row = toPrOutcomeRow(canonicalSlug(pr.base.repo?.full_name, slug), pr, nowIso());
      rows.push(row);
      commits.add(pr.head.sha);
      if (row.mergeCommitSha) commits.add(row.mergeCommitSha);
    }
    // One repository's list holds one spelling of its name; grouping keeps the lookup honest if it ever does not.
    for (const repoSlug of new Set(rows.map((r) => r.repoSlug))) {
      const group = rows.filter((r) => r.repoSlug === repoSlug);
      const known = await knownPrOrderKeys(db, GITHUB_PROVIDER, repoSlug, group.map((r) => r.prNumber));
      await writeRows(group, known, (r) => r.prNumber, (r) => upsertPrOutcome(db, r), pullRequests);
    }
    progress({ phase: "pulls", done: pullRequests.seen, total: null, finished: false });
    // Leaving the loop here is what keeps the next page from being requested.
    if (reachedSince) break;
  }
  progress({ phase: "pulls", done: pullRequests.seen, total: pullRequests.seen, finished: true });

  // ---- workflow runs: created since, in date windows under GitHub's 1,000-result cap
  const workflowRuns = { ...emptyCounts(), truncatedQueries: [] as string[] };
  const today = utcDay(options.now ?? new Date());
  const windows: CreatedWindow[] = [{ from: utcDay(sinceIso), to: null }];
  let runsTotal = 0;
  progress({ phase: "workflow-runs", done: 0, total: null, finished: false });
  while (windows.length > 0) {
    const window = windows.pop() as CreatedWindow;
    const query = createdQuery(window);
    const runs = octokit.paginate.iterator("GET /repos/{owner}/{repo}/actions/runs", { owner, repo, created: query, per_page: PER_PAGE });
    let firstPage = true;
    for await (const page of runs) {
      if (firstPage) {
        firstPage = false;
        const totalCount = Number((page.data as { total_count?: unknown }).total_count ?? 0);
        if (totalCount > RUNS_QUERY_CAP) {
          const halves = splitCreatedWindow(window, today);
          if (halves) {
            log.debug(`${totalCount} runs created ${query}: reading it in two halves`);
            // Newest half on top of the stack: read first, as the pulls were.
            windows.push(halves[0], halves[1]);
            break;
          }
          workflowRuns.truncatedQueries.push(query);
          log.warn(`GitHub lists only ${RUNS_QUERY_CAP} of the ${totalCount} workflow runs created ${query} in ${slug}`);
        }
        runsTotal += Math.min(totalCount, RUNS_QUERY_CAP);
      }
      const rows: NewCiRun[] = [];
      for (const item of page.data as unknown[]) {
        const parsed = workflowRunSchema.safeParse(item);
        if (!parsed.success) {
          workflowRuns.malformed += 1;
          log.warn(describeIssues(parsed.error, `workflow run in ${slug}`));
          continue;
        }
        workflowRuns.seen += 1;
        rows.push(toWorkflowRunRow(canonicalSlug(repositoryName(item), slug), parsed.data, nowIso()));
        commits.add(parsed.data.head_sha);
      }
      const known = await knownCiOrderKeys(db, ACTIONS_PROVIDER, rows.map((r) => r.runId));
      await writeRows(rows, known, (r) => r.runId, (r) => upsertCiRun(db, r), workflowRuns);
      progress({ phase: "workflow-runs", done: workflowRuns.seen, total: runsTotal, finished: false });
    }
  }
  progress({ phase: "workflow-runs", done: workflowRuns.seen, total: workflowRuns.seen, finished: true });

  // ---- check suites of other CI apps, per commit seen
  const checkSuites = { ...emptyCounts(), commits: 0, actionsSkipped: 0, missingCommits: 0, skippedReason: null as string | null };
  if (options.checkSuites === false) {
    checkSuites.skippedReason = "not asked for";
  } else {
    const shas = [...commits];
    progress({ phase: "check-suites", done: 0, total: shas.length, finished: false });
    for (const sha of shas) {
      try {
        const suites = octokit.paginate.iterator("GET /repos/{owner}/{repo}/commits/{ref}/check-suites", {
          owner,
          repo,
          ref: sha,
          per_page: PER_PAGE,
        });
        for await (const page of suites) {
          const rows: NewCiRun[] = [];
          for (const item of page.data as unknown[]) {
            const parsed = checkSuiteSchema.safeParse(item);
            if (!parsed.success) {
              checkSuites.malformed += 1;
              log.warn(describeIssues(parsed.error, `check suite on ${sha}`));
              continue;
            }
            if (isActionsSuite(parsed.data)) {
              checkSuites.actionsSkipped += 1;
              continue;
            }
            checkSuites.seen += 1;
            rows.push(toCheckSuiteRow(canonicalSlug(repositoryName(item), slug), parsed.data, nowIso()));
          }
          const known = await knownCiOrderKeys(db, CHECKS_PROVIDER, rows.map((r) => r.runId));
          await writeRows(rows, known, (r) => r.runId, (r) => upsertCiRun(db, r), checkSuites);
        }
      } catch (error) {
        const status = statusOf(error);
        if (status === 404 || status === 422) {
          // GitHub answers 422 "No commit found for SHA" for commits that were force-pushed away and collected.
          checkSuites.missingCommits += 1;
          log.debug(`check suites of ${sha}: ${messageOf(error)}`);
        } else if (status === 403 && !/rate limit/i.test(messageOf(error))) {
          checkSuites.skippedReason = `GitHub refused check suites (403: ${messageOf(error)}); does the token or app have Checks read access?`;
          log.warn(checkSuites.skippedReason);
          break;
        } else {
          throw error;
        }
      }
      checkSuites.commits += 1;
      progress({ phase: "check-suites", done: checkSuites.commits, total: shas.length, finished: false });
    }
    progress({ phase: "check-suites", done: checkSuites.commits, total: shas.length, finished: true });
  }

  const after = snapshotStats(stats);
  return {
    repo: slug,
    since: sinceIso,
    pullRequests,
    workflowRuns,
    checkSuites,
    requests: after.requests - before.requests,
    notModified: after.notModified - before.notModified,
    rateLimit: after.rateLimit,
    durationMs: Date.now() - started,
  };
}

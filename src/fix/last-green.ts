/**
 * Step 4, the baseline: the log of the same job in the last green run of the
 * same workflow, as line fingerprints (context/baseline.ts), so the failure
 * context can leave out what a passing run printed too.
 *
 * At most 3 GitHub requests per failed job, and fewer when several failed jobs
 * of one run share the lookups: the workflow's latest successful runs (one
 * page, all branches; the first run on the failing branch wins, else on the PR's
 * base branch, else on the default branch), that run's jobs, and the job's log.
 * Everything is cached per (repo, workflow, job, run) in a small LRU; a cached
 * baseline costs no request. Localisation reads the same green run (greenRun) for
 * what changed since it: the list is read once per failing run. No green run, no job of that name, a log that is
 * gone or unreadable: no baseline, and the context is built as before.
 */
import type { ProbotOctokit } from "probot";
import { streamJobLogs, type RepoRef } from "../github/actions.js";
import { BaselineLines } from "./context/index.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

/** Successful runs read to find one on the wanted branches: one page. */
const RUNS_PAGE = 50;
const DEFAULT_CACHE_ENTRIES = 32;
/** Fingerprint tables are bounded (16 MB at most each); only a few are kept. */
const DEFAULT_CACHED_BASELINES = 4;

export interface GreenRunQuery extends RepoRef {
  workflowId: number | string;
  /** Branches in order of preference: the failing branch, the PR's base, the default branch. */
  branches: (string | null | undefined)[];
  /** The failing run itself never serves as its own baseline. */
  failingRunId?: number;
}

export interface BaselineQuery extends GreenRunQuery {
  jobName: string;
  signal?: AbortSignal;
}

export interface FoundBaseline {
  baseline: BaselineLines;
  runId: number;
  jobId: number;
}

export interface GreenRun {
  id: number;
  branch: string | null;
  headSha: string;
}

class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }
}

export interface LastGreenBaselines {
  find(octokit: Octokit, query: BaselineQuery): Promise<FoundBaseline | null>;
  /**
   * The last green run itself, from the same cached lookup: localisation compares
   * its commit with the failing one, so one list of green runs serves both.
   */
  greenRun(octokit: Octokit, query: GreenRunQuery): Promise<GreenRun | null>;
}

export function createLastGreenBaselines(options: { cacheEntries?: number; cachedBaselines?: number } = {}): LastGreenBaselines {
  const runsCache = new Lru<GreenRun | null>(options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
  const jobsCache = new Lru<Map<string, number>>(options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
  const baselines = new Lru<BaselineLines | null>(options.cachedBaselines ?? DEFAULT_CACHED_BASELINES);
  /** Lookups in flight, so that parallel jobs of one run share one request. */
  const pending = new Map<string, Promise<unknown>>();

  function once<T>(key: string, load: () => Promise<T>): Promise<T> {
    const running = pending.get(key) as Promise<T> | undefined;
    if (running) return running;
    const promise = load().finally(() => pending.delete(key));
    pending.set(key, promise);
    return promise;
  }

  async function greenRun(octokit: Octokit, q: GreenRunQuery): Promise<GreenRun | null> {
    const branches = q.branches.filter((b): b is string => typeof b === "string" && b !== "");
    const key = `${q.owner}/${q.repo}:${q.workflowId}:${q.failingRunId ?? ""}:${branches.join(",")}`;
    const cached = runsCache.get(key);
    if (cached !== undefined) return cached;
    return once(key, async () => {
      const { data } = await octokit.rest.actions.listWorkflowRuns({
        owner: q.owner,
        repo: q.repo,
        workflow_id: q.workflowId,
        status: "success",
        per_page: RUNS_PAGE,
      });
      const runs = data.workflow_runs.filter((run) => run.id !== q.failingRunId && run.conclusion === "success");
      let found: GreenRun | null = null;
      for (const branch of branches) {
        const run = runs.find((r) => r.head_branch === branch);
        if (run) {
          found = { id: run.id, branch, headSha: run.head_sha };
          break;
        }
      }
      runsCache.set(key, found);
      return found;
    });
  }

  async function jobsOf(octokit: Octokit, q: BaselineQuery, runId: number): Promise<Map<string, number>> {
    const key = `${q.owner}/${q.repo}:${runId}`;
    const cached = jobsCache.get(key);
    if (cached) return cached;
    return once(key, async () => {
      const { data } = await octokit.rest.actions.listJobsForWorkflowRun({ owner: q.owner, repo: q.repo, run_id: runId, filter: "latest", per_page: 100 });
      const jobs = new Map<string, number>();
      for (const job of data.jobs) if (job.conclusion === "success" && !jobs.has(job.name)) jobs.set(job.name, job.id);
      jobsCache.set(key, jobs);
      return jobs;
    });
  }

  return {
    greenRun,
    async find(octokit, q) {
      const run = await greenRun(octokit, q);
      if (!run) return null;
      const key = `${q.owner}/${q.repo}:${q.workflowId}:${q.jobName}:${run.id}`;
      const cached = baselines.get(key);
      if (cached === null) return null;
      const jobId = (await jobsOf(octokit, q, run.id)).get(q.jobName);
      if (jobId === undefined) return null;
      if (cached) return { baseline: cached, runId: run.id, jobId };
      const baseline = await once(key, async () => {
        const log = await streamJobLogs(octokit, { owner: q.owner, repo: q.repo, jobId, ...(q.signal ? { signal: q.signal } : {}) });
        const lines = await BaselineLines.fromLog(log);
        const usable = lines.empty ? null : lines;
        baselines.set(key, usable);
        return usable;
      });
      return baseline ? { baseline, runId: run.id, jobId } : null;
    },
  };
}

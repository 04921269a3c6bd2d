/**
 * The PR summary comment (`summary_comment: true` in fixloop.yml): one
 * comment per PR, edited in place, that says where fixloop's work on the PR
 * stands — analysing, fixing, fix PR #N and its CI verdict, skipped because…,
 * stopped. It is rewritten from the store after every fix and follow-up job,
 * so it never drifts from the attempts it describes.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import type { ProbotOctokit } from "probot";
import { stoppedReason } from "../commands/store.js";
import type { RepoConfig } from "../config/repo-config.js";
import { upsertComment } from "../github/comments.js";
import type { JobContext, JobOutcome } from "../queue/index.js";
import type { Db } from "../store/db.js";
import { fixAttempts, prOutcomes, type FixAttempt } from "../store/schema.js";
import { clip, defang } from "./pr-body.js";

export const SUMMARY_MARKER = "summary";
const MAX_ATTEMPTS_SHOWN = 10;

/**
 * The config a job loaded, kept for the length of that job: the summary
 * step after it reads the same settings without asking GitHub again.
 */
const configOfJob = new WeakMap<JobContext, Promise<RepoConfig>>();

export function loadConfigForJob(job: JobContext | undefined, load: () => Promise<RepoConfig>): Promise<RepoConfig> {
  if (!job) return load();
  let loaded = configOfJob.get(job);
  if (!loaded) {
    loaded = load();
    configOfJob.set(job, loaded);
  }
  return loaded;
}

/** The config the job loaded; "failed" when reading it failed (an invalid file), undefined when the job never got that far. */
export async function configLoadedBy(job: JobContext): Promise<RepoConfig | "failed" | undefined> {
  const loading = configOfJob.get(job);
  if (!loading) return undefined;
  return loading.catch(() => "failed" as const);
}

function attemptLine(a: FixAttempt, maxAttempts: number): string {
  const fixPr = a.prNumber ? `fix PR #${a.prNumber}` : "a fix";
  const why = a.reason ? defang(clip(a.reason.split("\n")[0], 300)) : "";
  const state = (() => {
    switch (a.status) {
      case "queued":
        return why ? `waiting: ${why}` : "queued";
      case "collecting":
        return "analysing the failure";
      case "prompting":
      case "patching":
      case "publishing":
        return "fixing";
      case "awaiting_ci":
        return `${fixPr} opened; its CI is running`;
      case "ci_passed":
        return `${fixPr}: CI passed ✅`;
      case "ci_failed":
        return `${fixPr}: CI failed ❌${why ? ` (${why})` : ""}`;
      case "skipped":
        return `skipped because ${why || "of a guard"}`;
      case "failed":
        return `no fix: ${why || "the attempt failed"}`;
    }
  })();
  const step = a.failureSummary?.failingStep ? ` — ${a.workflowName ? `**${defang(a.workflowName)}**, ` : ""}step **${defang(a.failureSummary.failingStep)}**` : "";
  const same = a.failureSummary && a.failureSummary.sameFailureJobs.length > 0 ? ` (+${a.failureSummary.sameFailureJobs.length} job(s) failing the same way)` : "";
  return `| ${a.headSha.slice(0, 7)} | ${a.attemptNumber} of ${maxAttempts} | ${state}${step}${same} |`;
}

export function renderSummary(input: { prNumber: number; attempts: FixAttempt[]; maxAttempts: number; stopped: string | null }): string {
  const rows = input.attempts.slice(0, MAX_ATTEMPTS_SHOWN).map((a) => attemptLine(a, input.maxAttempts));
  return [
    `**fixloop** on this PR`,
    "",
    ...(rows.length > 0 ? ["| commit | attempt | state |", "| --- | --- | --- |", ...rows] : ["Nothing to do so far: no red CI run has been fixed here."]),
    ...(input.stopped ? ["", `⏹ ${defang(input.stopped)}. \`/fixloop fix\` starts again.`] : []),
    "",
    "<sub>This comment is updated in place. Commands: `/fixloop fix`, `/fixloop retry [hint]`, `/fixloop stop`, `/fixloop explain`.</sub>",
  ].join("\n");
}

/** The PR an attempt works for: the run's PR numbers, else the open PR whose head is the failing branch. */
async function prOfAttempt(db: Db, attempt: FixAttempt, prNumbers: number[]): Promise<{ number: number; headRef: string | null } | null> {
  const where = prNumbers.length > 0 ? sql`${prOutcomes.prNumber} IN (${sql.join(prNumbers.map((n) => sql`${n}`), sql`, `)})` : attempt.headBranch ? eq(prOutcomes.headRef, attempt.headBranch) : undefined;
  if (!where) return null;
  const [row] = await db
    .select({ number: prOutcomes.prNumber, headRef: prOutcomes.headRef })
    .from(prOutcomes)
    .where(and(sql`lower(${prOutcomes.repoSlug}) = lower(${attempt.repoSlug})`, eq(prOutcomes.state, "open"), where))
    .orderBy(desc(prOutcomes.prNumber))
    .limit(1);
  return row ?? null;
}

/** Rewrites the PR's summary comment from the store; does nothing unless the repo asked for it. */
export async function updateSummaryComment(
  db: Db,
  octokit: ProbotOctokit,
  input: { attempt: FixAttempt; prNumbers: number[]; config: RepoConfig },
): Promise<{ prNumber: number } | null> {
  if (!input.config.summary_comment) return null;
  const pr = await prOfAttempt(db, input.attempt, input.prNumbers);
  if (!pr) return null;
  const attempts = await db
    .select()
    .from(fixAttempts)
    .where(and(sql`lower(${fixAttempts.repoSlug}) = lower(${input.attempt.repoSlug})`, eq(fixAttempts.headBranch, pr.headRef ?? input.attempt.headBranch ?? "")))
    .orderBy(desc(fixAttempts.createdAt))
    .limit(MAX_ATTEMPTS_SHOWN);
  const stopped = await stoppedReason(db, input.attempt.repoSlug, { chainId: input.attempt.chainId, prNumbers: [pr.number] });
  const [owner, repo] = input.attempt.repoSlug.split("/");
  await upsertComment(octokit, {
    owner,
    repo,
    issueNumber: pr.number,
    marker: SUMMARY_MARKER,
    body: renderSummary({ prNumber: pr.number, attempts, maxAttempts: input.config.max_attempts, stopped }),
  });
  return { prNumber: pr.number };
}

export interface SummaryDeps {
  store: { db: Db };
  github(installationId: number | null): Promise<ProbotOctokit>;
  log: { warn(obj: object, msg: string): void };
  loadConfig(octokit: ProbotOctokit, owner: string, repo: string): Promise<RepoConfig>;
}

type JobRun<P> = (payload: P, ctx: JobContext) => Promise<JobOutcome>;

/**
 * Runs a fix or follow-up job, then rewrites its PR's summary comment when
 * the repository asked for one. The summary never fails the job: it is
 * written again after the next job anyway.
 */
export function withSummaryComment<P extends { prNumbers: number[]; continuation?: unknown }>(deps: SummaryDeps, run: JobRun<P>): JobRun<P> {
  return async (payload, ctx) => {
    const outcome = await run(payload, ctx);
    const result = (outcome as { result?: { attemptId?: unknown; verdict?: unknown } }).result;
    const attemptId = result?.attemptId;
    if (typeof attemptId !== "string") return outcome;
    const loaded = await configLoadedBy(ctx);
    // Only a job that read the config, or a follow-up that reached a CI verdict, has something new to show.
    if (loaded === "failed" || (loaded === undefined && result?.verdict === undefined)) return outcome;
    try {
      const [attempt] = await deps.store.db.select().from(fixAttempts).where(eq(fixAttempts.id, attemptId));
      if (!attempt) return outcome;
      const octokit = await deps.github(attempt.installationId);
      const [owner, repo] = attempt.repoSlug.split("/");
      const config = loaded ?? (await deps.loadConfig(octokit, owner, repo));
      // A chain's later attempts run on fixloop's own branch: their run's PR is the fix PR, not the one summarised.
      await updateSummaryComment(deps.store.db, octokit, { attempt, prNumbers: payload.continuation ? [] : payload.prNumbers, config });
    } catch (error) {
      deps.log.warn({ err: error, attempt: attemptId }, "summary comment not updated");
    }
    return outcome;
  };
}

/**
 * Step 1, guards: may fixloop act on this failure at all? The repository's
 * .github/fixloop.yml, a stop or a newer commit, the watched branch and
 * workflow, max_attempts and the daily token budgets. Reading (config, the PR
 * rows, tokens spent) is apart from deciding (guardReason, pure).
 */
import { and, eq, sql } from "drizzle-orm";
import { InvalidConfigError, isWatchedBranch, isWatchedWorkflow, loadRepoConfig, type RepoConfig } from "../../config/repo-config.js";
import { unsupportedConfigReason } from "../../github/permissions.js";
import { splitRepo } from "../../github/repo.js";
import type { JobContext } from "../../queue/index.js";
import { prOutcomes } from "../../store/schema.js";
import { tokensSpentSince } from "../../store/attempts.js";
import type { StoredPullRequest } from "../fork.js";
import { stoppedOrSuperseded } from "../held.js";
import { loadConfigForJob } from "../summary.js";
import type { FixTrigger } from "../trigger.js";
import type { FixDeps, FixEnd, FixJobPayload, Octokit } from "./types.js";

/** Which PR (if any) the failing commit belongs to, as stored; fork-ness is decided by ../fork.ts before publishing. */
export interface FailingPr {
  number: number | null;
  baseRef: string | null;
  stored: StoredPullRequest[];
}

export interface Guarded {
  config: RepoConfig;
  pr: FailingPr;
  /** FIXLOOP_DRY_RUN or the repository's dry_run: the whole flow, nothing written to GitHub. */
  dryRun: boolean;
}

export interface TokensSpentToday {
  repo: number;
  /** Over all repositories; null when no global cap is set (not read then). */
  all: number | null;
}

export function startOfUtcDay(now: Date): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
}

async function failingPrOf(deps: FixDeps, trigger: FixTrigger): Promise<FailingPr> {
  const rows = await deps.store.db
    .select({ prNumber: prOutcomes.prNumber, baseRef: prOutcomes.baseRef, isFork: prOutcomes.isFork, state: prOutcomes.state })
    .from(prOutcomes)
    .where(and(sql`lower(${prOutcomes.repoSlug}) = lower(${trigger.repo})`, eq(prOutcomes.headSha, trigger.headSha)));
  const open = rows.find((r) => r.state === "open") ?? rows[0];
  return {
    number: open?.prNumber ?? trigger.prNumbers[0] ?? null,
    baseRef: open?.baseRef ?? null,
    stored: rows,
  };
}

async function tokensSpentToday(deps: FixDeps, repo: string): Promise<TokensSpentToday> {
  const since = startOfUtcDay(deps.now?.() ?? new Date());
  const capped = deps.globalTokensPerDay !== null && deps.globalTokensPerDay !== undefined;
  return { repo: await tokensSpentSince(deps.store.db, since, repo), all: capped ? await tokensSpentSince(deps.store.db, since) : null };
}

/** The first rule the configuration and budgets break, in words for the attempt; null when all pass. */
export function guardReason(
  trigger: FixJobPayload,
  config: RepoConfig,
  pr: Pick<FailingPr, "baseRef">,
  spent: TokensSpentToday,
  globalTokensPerDay: number | null | undefined,
): string | null {
  const unsupported = unsupportedConfigReason(config);
  if (unsupported) return unsupported;
  if (!trigger.continuation) {
    const branchWatched =
      isWatchedBranch(config, trigger.headBranch, trigger.defaultBranch) || (pr.baseRef !== null && isWatchedBranch(config, pr.baseRef, trigger.defaultBranch));
    if (!branchWatched) return `branch ${trigger.headBranch ?? "(none)"} is not watched`;
  }
  if (!isWatchedWorkflow(config, { name: trigger.workflowName, path: trigger.workflowPath })) return `workflow ${trigger.workflowName} is not watched`;
  const attemptNumber = trigger.continuation?.attemptNumber ?? 1;
  if (attemptNumber > config.max_attempts) return `max_attempts (${config.max_attempts}) reached`;
  if (spent.repo >= config.max_tokens_per_day) return `budget: ${spent.repo} tokens spent today, max_tokens_per_day is ${config.max_tokens_per_day}`;
  if (globalTokensPerDay !== null && globalTokensPerDay !== undefined && spent.all !== null && spent.all >= globalTokensPerDay) {
    return `budget: ${spent.all} tokens spent today across repositories, FIXLOOP_MAX_TOKENS_PER_DAY is ${globalTokensPerDay}`;
  }
  return null;
}

export async function checkGuards(deps: FixDeps, octokit: Octokit, trigger: FixJobPayload, job: JobContext): Promise<Guarded | FixEnd> {
  const { owner, repo } = splitRepo(trigger.repo);
  let config: RepoConfig;
  try {
    config = await loadConfigForJob(job, () => loadRepoConfig(octokit as never, owner, repo));
  } catch (error) {
    // An invalid file is the repository's to fix: a readable reason on the attempt, not a crash.
    if (error instanceof InvalidConfigError) return { end: "skip", reason: error.message };
    throw error;
  }
  if (!config.enabled) return { end: "skip", reason: "disabled in .github/fixloop.yml" };
  // Someone said `/fixloop stop`, or the branch moved on: checked before any token is spent (and again before publishing).
  const held = await stoppedOrSuperseded(deps.store.db, trigger);
  if (held) return { end: "skip", reason: held };
  const pr = await failingPrOf(deps, trigger);
  const reason = guardReason(trigger, config, pr, await tokensSpentToday(deps, trigger.repo), deps.globalTokensPerDay);
  if (reason) return { end: "skip", reason };
  return { config, pr, dryRun: Boolean(deps.dryRun || config.dry_run) };
}

/**
 * What the steps of a fix job share: their collaborators (FixDeps), the job's
 * payload, and the decisions a step returns instead of its data. A step that
 * ends the job returns a FixEnd; runFixJob writes it onto the attempt (the one
 * place that does), so every step reads as "data in, data or a decision out".
 */
import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import type { JobQueue } from "../../queue/index.js";
import type { Store } from "../../store/db.js";
import type { FixAttempt } from "../../store/schema.js";
import type { CommandRequest } from "../held.js";
import type { LastGreenBaselines } from "../last-green.js";
import type { ModelClient } from "../model.js";
import type { FixTrigger } from "../trigger.js";

export type Octokit = InstanceType<typeof ProbotOctokit>;

export interface FixDeps {
  store: Store;
  /** An installation-authenticated client (Probot's `auth(installationId)`). */
  github(installationId: number | null): Promise<Octokit>;
  /** null when no TensorZero gateway is configured. */
  model: ModelClient | null;
  queue: JobQueue;
  log: Logger;
  /** FIXLOOP_DRY_RUN=1: the whole flow with no writes to GitHub. */
  dryRun?: boolean;
  /** FIXLOOP_MAX_TOKENS_PER_DAY: a cap over all repositories. */
  globalTokensPerDay?: number | null;
  now?: () => Date;
  /** Last green runs' logs to diff failing logs against; absent: no baseline (FIXLOOP_BASELINE=0). */
  baselines?: LastGreenBaselines;
}

/** A later attempt of an existing chain, started by the follow-up of a red fix branch. */
export interface ChainContinuation {
  chainId: string;
  attemptNumber: number;
  previousAttemptId: string;
  episodeId: string;
  /** The branch the chain fixes (the first attempt's failing branch): PRs target it. */
  baseBranch: string | null;
  chainRunId: string;
}

export interface FixJobPayload extends FixTrigger {
  continuation?: ChainContinuation;
  /** Started by a person's comment command (`/fixloop fix`, `/fixloop retry <hint>`). */
  command?: CommandRequest;
}

/** Why the job ends before a PR: runFixJob writes each onto the attempt. */
export type FixEnd =
  /** Nothing to fix, or not allowed to: the attempt is `skipped` with the reason. */
  | { end: "skip"; reason: string }
  /** fixloop could not produce a fix: the attempt is `failed` with the reason (the job itself is done). */
  | { end: "fail"; reason: string }
  /** The model's patch was refused or did not apply: `failed`, and fixloop_patch_applied = false (for `attempt`'s inference when the step changed the attempt). */
  | { end: "refuse"; reason: string; diff?: string; attempt?: FixAttempt }
  /** Come back later: the attempt waits in `queued` saying why (`attemptReason`). */
  | { end: "wait"; delayMs: number; reason: string; attemptReason: string }
  /** The failed jobs were re-run first; their verdict decides whether a fix is still due. */
  | { end: "rerun" };

export function isEnd(value: unknown): value is FixEnd {
  return typeof value === "object" && value !== null && "end" in value;
}

/** The branch a chain's PRs target: the first attempt's failing branch. */
export function baseBranchOf(trigger: FixJobPayload): string | null {
  return trigger.continuation?.baseBranch ?? trigger.headBranch;
}

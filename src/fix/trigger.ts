/**
 * Step 3 of the flow, webhook side: decide from a completed CI run whether a
 * fix job (or a follow-up of an earlier fix) is due. Pure: no I/O, no GitHub
 * calls — the handler stores, enqueues and answers at once.
 */
import { ACTIONS_PROVIDER, CHECKS_PROVIDER } from "../ingest/map.js";
import { isFixBranch } from "../github/fix-branch.js";

/** Conclusions that mean "the code is red". timed_out is classified later (usually infra). */
export const RED_CONCLUSIONS = new Set(["failure", "timed_out", "startup_failure"]);

export interface FixTrigger {
  repo: string;
  installationId: number | null;
  provider: typeof ACTIONS_PROVIDER | typeof CHECKS_PROVIDER;
  runId: string;
  runAttempt: number;
  workflowId: number | null;
  workflowName: string | null;
  workflowPath: string | null;
  headSha: string;
  headBranch: string | null;
  conclusion: string;
  event: string | null;
  prNumbers: number[];
  /** The repository the head commit lives in; differs from `repo` for fork PRs. */
  headRepoSlug: string | null;
  defaultBranch: string | null;
  /** The failing commit's tree (from the webhook), saving a request when publishing. */
  headTreeSha: string | null;
}

export const FIX_JOB = "fix";
export const FOLLOW_UP_JOB = "fix-follow-up";

export type TriggerDecision =
  | { action: "fix"; dedupKey: string; trigger: FixTrigger }
  | { action: "follow-up"; dedupKey: string; trigger: FixTrigger }
  | { action: "passed-on-rerun"; chainId: string }
  | { action: "none"; reason: string };

export function workflowKey(trigger: Pick<FixTrigger, "provider" | "workflowId" | "workflowName">): string {
  return trigger.provider === ACTIONS_PROVIDER ? `wf:${trigger.workflowId ?? trigger.workflowName ?? "?"}` : `app:${trigger.workflowName ?? "?"}`;
}

export function chainIdOf(trigger: FixTrigger): string {
  return chainKey(trigger.repo, trigger.headSha, workflowKey(trigger));
}

export function decideOnCompletedRun(trigger: FixTrigger): TriggerDecision {
  const red = RED_CONCLUSIONS.has(trigger.conclusion);
  if (isFixBranch(trigger.headBranch)) {
    // CI on our own fix branch is the validation of an attempt, never a new chain.
    if (!red && trigger.conclusion !== "success") return { action: "none", reason: `fix branch run ${trigger.conclusion}: not a verdict` };
    return {
      action: "follow-up",
      dedupKey: `follow-up:${trigger.repo.toLowerCase()}:${trigger.provider}:${trigger.runId}:${trigger.runAttempt}`,
      trigger,
    };
  }
  if (trigger.conclusion === "success" && trigger.runAttempt > 1) return { action: "passed-on-rerun", chainId: chainIdOf(trigger) };
  if (!red) return { action: "none", reason: `conclusion ${trigger.conclusion}` };
  // One job per run attempt: the first may only re-run the failed jobs; the re-run's failure then fixes.
  return { action: "fix", dedupKey: `fix:${chainIdOf(trigger)}:${trigger.provider}:${trigger.runId}:${trigger.runAttempt}`, trigger };
}

/** The chain key: at most one chain per (repo, head SHA, workflow). */
function chainKey(repo: string, headSha: string, workflowKey: string): string {
  return `${repo.toLowerCase()}@${headSha}#${workflowKey}`;
}

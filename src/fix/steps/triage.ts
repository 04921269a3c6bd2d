/**
 * Step 2, triage: spend no tokens on what a fix cannot help. Before reading
 * logs: re-run the failed jobs once (`rerun_first`; a pass then is flaky, not
 * fixed), and wait while the gateway is known to be down. Once the failure is
 * read: infrastructure failures, nothing to read, and failures the base
 * branch shows too (pre-existing) are skipped.
 */
import { httpStatusOf, latestRunOnBranch, rerunFailedJobs } from "../../github/actions.js";
import { isPermissionRefusal, permissionRefusalReason } from "../../github/permissions.js";
import { splitRepo } from "../../github/repo.js";
import type { FixAttempt } from "../../store/schema.js";
import { AWAITING_RERUN } from "../../store/attempts.js";
import { collectFailure, sameFailure, type CollectedFailure } from "../collect.js";
import type { FixTrigger } from "../trigger.js";
import type { Guarded } from "./guards.js";
import type { FixDeps, FixEnd, FixJobPayload, Octokit } from "./types.js";

/** Re-run first, or wait for the gateway; null when the job goes on to read the failure. */
export async function triageBeforeCollect(deps: FixDeps, octokit: Octokit, trigger: FixJobPayload, attempt: FixAttempt, guarded: Guarded): Promise<FixEnd | null> {
  // A person who asked for the fix has looked at the failure already: no re-run first.
  const isFirstRun = trigger.runAttempt === 1 && !trigger.continuation && !trigger.command;
  if (guarded.config.rerun_first && isFirstRun && trigger.provider === "github-actions" && attempt.reason !== AWAITING_RERUN) {
    if (guarded.dryRun) {
      deps.log.info({ attempt: attempt.id }, "dry run: would re-run the failed jobs first");
    } else {
      try {
        await rerunFailedJobs(octokit, { ...splitRepo(trigger.repo), runId: Number(trigger.runId) });
        return { end: "rerun" };
      } catch (error) {
        // The app lacks Actions: write: fixing now would spend tokens on what may be a flaky run.
        if (isPermissionRefusal(error)) return { end: "fail", reason: `configuration error: ${permissionRefusalReason("re-running the failed jobs", "Actions: write", error)}` };
        // A run that cannot be re-run for other reasons (too old) is fixed straight away.
        deps.log.warn({ err: error, status: httpStatusOf(error) }, "re-run of failed jobs refused; fixing directly");
      }
    }
  }
  // The gateway is known to be down: wait now instead of reading logs and files for nothing.
  const gatewayWait = !attempt.inferenceId ? (deps.model?.unavailableForMs?.() ?? 0) : 0;
  if (gatewayWait > 0) {
    return { end: "wait", delayMs: gatewayWait, reason: "gateway unavailable (circuit_open)", attemptReason: "waiting for the TensorZero gateway: circuit open" };
  }
  return null;
}

/** The base branch's latest run of this workflow fails the same way: not this change's fault. */
async function preExistingOn(octokit: Octokit, trigger: FixTrigger, failure: CollectedFailure, baseBranch: string | null): Promise<string | null> {
  if (trigger.provider !== "github-actions" || !trigger.workflowId || !baseBranch || baseBranch === trigger.headBranch) return null;
  const latest = await latestRunOnBranch(octokit, { ...splitRepo(trigger.repo), workflowId: trigger.workflowId, branch: baseBranch });
  if (!latest || latest.headSha === trigger.headSha || latest.conclusion !== "failure") return null;
  const baseFailure = await collectFailure(octokit, { ...trigger, runId: String(latest.id), runAttempt: latest.runAttempt ?? 1 }, { budgetTokens: 500, maxJobs: 1 });
  return sameFailure(failure, baseFailure) ? `pre-existing: ${baseBranch} fails the same way (run ${latest.id})` : null;
}

/** Infra, nothing to read, or pre-existing: a skip; null when the failure is worth a fix. */
export async function triageFailure(octokit: Octokit, trigger: FixTrigger, failure: CollectedFailure, guarded: Guarded): Promise<FixEnd | null> {
  if (failure.context.class === "infra") return { end: "skip", reason: `infra: ${failure.context.infraReason ?? "platform failure"}` };
  if (failure.jobs.length === 0 && failure.context.context.trim() === "") return { end: "skip", reason: "no failed job or check output to read" };
  const preExisting = await preExistingOn(octokit, trigger, failure, guarded.pr.baseRef ?? trigger.defaultBranch);
  return preExisting ? { end: "skip", reason: preExisting } : null;
}

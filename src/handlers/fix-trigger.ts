import { ACTIONS_PROVIDER, CHECKS_PROVIDER, type CheckSuitePayload, type WorkflowRunPayload } from "../ingest/map.js";
import { markChainFlaky } from "../store/attempts.js";
import { isFixBranch } from "../github/fix-branch.js";
import { hasStaleFixPrs, MOVED_ON_JOB, type MovedOnPayload } from "../fix/moved-on.js";
import { decideOnCompletedRun, FIX_JOB, FOLLOW_UP_JOB, type FixTrigger } from "../fix/trigger.js";
import { installationIdOf, type HandlerResult, type IngestContext } from "./types.js";

function repositoryOf(payload: Record<string, unknown>): { full_name: string; default_branch?: string } {
  return payload.repository as { full_name: string; default_branch?: string };
}

// Properties listed one by one: an object literal that starts with a spread and goes on for a dozen
// properties is built through V8's slow path (~10 µs, measured), on every completed run.
export function triggerFromWorkflowRun(payload: Record<string, unknown>, run: WorkflowRunPayload): FixTrigger {
  const repository = repositoryOf(payload);
  return {
    repo: repository.full_name,
    defaultBranch: repository.default_branch ?? null,
    installationId: installationIdOf(payload),
    provider: ACTIONS_PROVIDER,
    runId: String(run.id),
    runAttempt: run.run_attempt ?? 1,
    workflowId: run.workflow_id ?? null,
    workflowName: run.name ?? null,
    workflowPath: run.path ?? null,
    headSha: run.head_sha,
    headBranch: run.head_branch ?? null,
    conclusion: run.conclusion ?? "unknown",
    event: run.event ?? null,
    prNumbers: (run.pull_requests ?? []).map((p) => p.number),
    headRepoSlug: run.head_repository?.full_name ?? null,
    headTreeSha: run.head_commit?.tree_id ?? null,
  };
}

export function triggerFromCheckSuite(payload: Record<string, unknown>, suite: CheckSuitePayload): FixTrigger {
  const repository = repositoryOf(payload);
  return {
    repo: repository.full_name,
    defaultBranch: repository.default_branch ?? null,
    installationId: installationIdOf(payload),
    provider: CHECKS_PROVIDER,
    runId: String(suite.id),
    runAttempt: 1,
    workflowId: null,
    workflowName: suite.app?.name ?? suite.app?.slug ?? null,
    workflowPath: null,
    headSha: suite.head_sha,
    headBranch: suite.head_branch ?? null,
    conclusion: suite.conclusion ?? "unknown",
    event: null,
    prNumbers: (suite.pull_requests ?? []).map((p) => p.number),
    // Check suites do not name the head repository; a PR from a fork has a head ref in another repo.
    headRepoSlug: null,
    headTreeSha: null,
  };
}

/** After the run is recorded: enqueue a fix or a follow-up, or mark a flaky chain. Never calls GitHub. */
export async function reactToCompletedRun(ctx: IngestContext, trigger: FixTrigger): Promise<HandlerResult> {
  const decision = decideOnCompletedRun(trigger);
  // A run on a branch with an open fix PR for an older commit decides that PR's fate first (fix/moved-on.ts).
  const decides = decision.action === "fix" || (decision.action === "none" && trigger.conclusion === "success" && !isFixBranch(trigger.headBranch));
  if (decides && ctx.queue && (await hasStaleFixPrs(ctx.store.db, trigger, ctx.memo))) {
    const payload: MovedOnPayload = { trigger, fixDedupKey: decision.action === "fix" ? decision.dedupKey : null };
    const job = await ctx.queue.enqueue(MOVED_ON_JOB, payload, { dedupKey: `moved-on:${trigger.repo.toLowerCase()}:${trigger.provider}:${trigger.runId}:${trigger.runAttempt}` });
    return { status: "processed", note: `${MOVED_ON_JOB} job ${job.id}${job.created ? " enqueued" : " already enqueued"}` };
  }
  switch (decision.action) {
    case "none":
      return { status: "processed" };
    case "passed-on-rerun": {
      const flaky = await markChainFlaky(ctx.store.db, decision.chainId);
      return { status: "processed", note: flaky > 0 ? "passed on re-run: recorded as flaky" : undefined };
    }
    case "fix":
    case "follow-up": {
      if (!ctx.queue) return { status: "processed", note: "no job queue: fix not enqueued" };
      const job = await ctx.queue.enqueue(decision.action === "fix" ? FIX_JOB : FOLLOW_UP_JOB, decision.trigger, { dedupKey: decision.dedupKey });
      return { status: "processed", note: `${decision.action === "fix" ? FIX_JOB : FOLLOW_UP_JOB} job ${job.id}${job.created ? " enqueued" : " already enqueued"}` };
    }
  }
}

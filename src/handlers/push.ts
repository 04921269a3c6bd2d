import { parseWith } from "../ingest/map.js";
import { attributeCommits } from "../outcomes/attribution.js";
import { branchOfRef, pushedCommitsFromPayload, pushPayloadSchema, WEBHOOK_PUSH_COMMIT_CAP } from "../outcomes/commits.js";
import { outcomeWindowDays } from "../outcomes/touches.js";
import { applyBranchCommits, OUTCOME_BACKFILL_JOB } from "../outcomes/track.js";
import { recordBranchHead, supersedeStaleFixJobs } from "../fix/supersede.js";
import type { HandlerResult, IngestContext } from "./types.js";

/**
 * push to a branch: reverts of merged fixes (by commit message) and downstream
 * touches of their files, then commit attribution. Reads and writes the store
 * only; a push too large for its webhook leaves the rest to an API backfill job.
 */
export async function recordPush(ctx: IngestContext): Promise<HandlerResult> {
  const push = parseWith(pushPayloadSchema, ctx.payload, "push payload");
  const branch = branchOfRef(push.ref);
  if (!branch) return { status: "ignored", note: `not a branch: ${push.ref}` };
  if (push.deleted) return { status: "processed", note: `branch ${branch} deleted` };
  const repo = push.repository.full_name;
  const commits = pushedCommitsFromPayload(ctx.payload);
  const now = new Date();
  const outcomes = await applyBranchCommits(ctx.store.db, {
    repo,
    branch,
    commits,
    pushHead: push.after ?? null,
    windowDays: outcomeWindowDays(),
    now,
  });
  await attributeCommits(ctx.store.db, { repo, branch, commits, now });

  const notes: string[] = [];
  if (push.after && !/^0+$/.test(push.after) && (await recordBranchHead(ctx.store.db, { repo, branch, sha: push.after, before: push.before ?? null }))) {
    const cancelled = await supersedeStaleFixJobs(ctx.store.db, { repo, branch, sha: push.after, why: `${branch} moved on` });
    if (cancelled.length > 0) notes.push(`superseded fix job(s) ${cancelled.join(", ")}`);
  }
  if (outcomes.reverted.length > 0) notes.push(`reverts fix PR ${outcomes.reverted.map((n) => `#${n}`).join(", ")}`);
  if (outcomes.touchesAdded > 0) notes.push(`${outcomes.touchesAdded} downstream touch(es)`);
  if ((push.commits?.length ?? 0) >= WEBHOOK_PUSH_COMMIT_CAP && ctx.queue) {
    const job = await ctx.queue.enqueue(OUTCOME_BACKFILL_JOB, { repo, branch }, { dedupKey: `${OUTCOME_BACKFILL_JOB}:${repo.toLowerCase()}:${branch}:${push.after ?? ""}` });
    notes.push(`push truncated at ${WEBHOOK_PUSH_COMMIT_CAP} commits: backfill job ${job.id}`);
  }
  return notes.length > 0 ? { status: "processed", note: notes.join("; ") } : { status: "processed" };
}

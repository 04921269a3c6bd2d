import { parseWith, pullRequestSchema, repositoryPayloadSchema, toPrOutcomeRow } from "../ingest/map.js";
import { outcomeWindowDays } from "../outcomes/touches.js";
import { trackPullRequest } from "../outcomes/track.js";
import { upsertPrOutcome } from "../store/records.js";
import { nowIso } from "../time.js";
import { supersedeStaleFixJobs } from "../fix/supersede.js";
import { upsertResult, type HandlerResult, type IngestContext } from "./types.js";

/** Every pull_request action: the PR row follows GitHub's latest state. */
export async function recordPullRequest(ctx: IngestContext): Promise<HandlerResult> {
  const { repository } = parseWith(repositoryPayloadSchema, ctx.payload, "pull_request payload");
  const pr = parseWith(pullRequestSchema, ctx.payload.pull_request, "pull_request.pull_request");
  const stored = upsertResult(await upsertPrOutcome(ctx.store.db, toPrOutcomeRow(repository.full_name, pr, nowIso())));
  await trackPullRequest({ ...ctx, windowDays: outcomeWindowDays() }, repository.full_name, pr.number);
  const before = ctx.payload.before;
  if (ctx.payload.action === "synchronize" && typeof before === "string" && before !== pr.head.sha) {
    const why = `the head of PR #${pr.number} moved on`;
    const cancelled = await supersedeStaleFixJobs(ctx.store.db, { repo: repository.full_name, fromSha: before, sha: pr.head.sha, why });
    if (cancelled.length > 0) return { status: "processed", note: `superseded fix job(s) ${cancelled.join(", ")}` };
  }
  return stored;
}

import { parseWith, pullRequestSchema, repositoryPayloadSchema, toPrOutcomeRow } from "../ingest/map.js";
import { upsertPrOutcome } from "../store/records.js";
import { nowIso } from "../time.js";
import { upsertResult, type HandlerResult, type IngestContext } from "./types.js";

/** Every pull_request action: the PR row follows GitHub's latest state. */
export async function recordPullRequest(ctx: IngestContext): Promise<HandlerResult> {
  const { repository } = parseWith(repositoryPayloadSchema, ctx.payload, "pull_request payload");
  const pr = parseWith(pullRequestSchema, ctx.payload.pull_request, "pull_request.pull_request");
  return upsertResult(await upsertPrOutcome(ctx.store.db, toPrOutcomeRow(repository.full_name, pr, nowIso())));
}

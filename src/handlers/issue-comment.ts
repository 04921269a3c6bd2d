import { z } from "zod";
import { parseCommand } from "../commands/parse.js";
import { COMMAND_JOB, commandJobKey, recordCommand } from "../commands/store.js";
import { parseWith } from "../ingest/map.js";
import { installationIdOf, type HandlerResult, type IngestContext } from "./types.js";

const issueCommentPayloadSchema = z
  .object({
    action: z.string(),
    repository: z.object({ full_name: z.string() }).passthrough(),
    issue: z
      .object({ number: z.number().int(), state: z.string(), pull_request: z.object({}).passthrough().nullish() })
      .passthrough(),
    comment: z
      .object({
        id: z.number().int(),
        body: z.string().nullish(),
        user: z.object({ login: z.string(), type: z.string().nullish() }).passthrough().nullable(),
      })
      .passthrough(),
  })
  .passthrough();

/** A bot account, fixloop itself included: commands are for people. */
function isBot(user: { login: string; type?: string | null } | null): boolean {
  return !user || user.type === "Bot" || user.login.endsWith("[bot]");
}

/**
 * issue_comment created on an open PR with a `/fixloop` command → one command
 * row (keyed by the comment id) and one command job. Who may command is
 * decided by the job, through the API: the payload's author_association is
 * not proof of write access.
 */
export async function recordIssueComment(ctx: IngestContext): Promise<HandlerResult> {
  const payload = parseWith(issueCommentPayloadSchema, ctx.payload, "issue_comment payload");
  if (payload.action !== "created") return { status: "ignored", note: `comment ${payload.action}: only new comments carry commands` };
  if (!payload.issue.pull_request) return { status: "ignored", note: "comment on an issue, not a pull request" };
  if (isBot(payload.comment.user)) return { status: "ignored", note: "comment from a bot" };
  const parsed = parseCommand(payload.comment.body);
  if (!parsed) return { status: "ignored", note: "no command" };
  if ("unknown" in parsed) return { status: "ignored", note: `unknown command "/fixloop ${parsed.unknown.slice(0, 40)}"` };
  if (payload.issue.state !== "open") return { status: "ignored", note: `/fixloop ${parsed.command} on a closed PR` };
  const repo = payload.repository.full_name;
  const created = await recordCommand(ctx.store.db, {
    commentId: payload.comment.id,
    repoSlug: repo,
    installationId: installationIdOf(ctx.payload),
    prNumber: payload.issue.number,
    author: payload.comment.user!.login,
    command: parsed.command,
    hint: parsed.hint,
    hintChars: "hintTooLong" in parsed ? parsed.hintTooLong : (parsed.hint?.length ?? 0),
    deliveryId: ctx.deliveryId,
  });
  if (!created) return { status: "processed", note: `comment ${payload.comment.id} was handled before: nothing done twice` };
  if (!ctx.queue) return { status: "processed", note: "no job queue: command recorded only" };
  const job = await ctx.queue.enqueue(COMMAND_JOB, { commentId: payload.comment.id }, { dedupKey: commandJobKey(payload.comment.id) });
  return { status: "processed", note: `/fixloop ${parsed.command}: command job ${job.id}${job.created ? " enqueued" : " already enqueued"}` };
}

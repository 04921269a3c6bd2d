import { z } from "zod";
import { parseWith, repositoryPayloadSchema } from "../ingest/map.js";
import { recordReviewComment, type ReviewText } from "../outcomes/comments.js";
import type { HandlerResult, IngestContext } from "./types.js";

const author = z.object({ login: z.string(), type: z.string().optional() }).passthrough().nullable().optional();
const prRefs = z
  .object({ number: z.number().int().positive(), head: z.object({ ref: z.string() }).passthrough(), base: z.object({ ref: z.string() }).passthrough() })
  .passthrough();

const reviewPayload = z
  .object({
    action: z.string(),
    pull_request: prRefs,
    review: z.object({ id: z.number().int(), body: z.string().nullable().optional(), state: z.string().nullable().optional(), user: author }).passthrough(),
  })
  .passthrough();

const reviewCommentPayload = z
  .object({
    action: z.string(),
    pull_request: prRefs,
    comment: z
      .object({
        id: z.number().int(),
        body: z.string().nullable().optional(),
        path: z.string().nullable().optional(),
        line: z.number().int().nullable().optional(),
        user: author,
      })
      .passthrough(),
  })
  .passthrough();

async function record(ctx: IngestContext, text: ReviewText): Promise<HandlerResult> {
  const result = await recordReviewComment(ctx.store.db, text);
  return result.recorded ? { status: "processed", note: result.created ? "review feedback recorded" : "review feedback already recorded" } : { status: "ignored", note: result.reason };
}

/** pull_request_review submitted with a body, on a fix PR → `comment` feedback for the fix's inference. */
export async function recordPullRequestReview(ctx: IngestContext): Promise<HandlerResult> {
  const { repository } = parseWith(repositoryPayloadSchema, ctx.payload, "pull_request_review payload");
  const payload = parseWith(reviewPayload, ctx.payload, "pull_request_review payload");
  if (payload.action !== "submitted") return { status: "ignored", note: `review ${payload.action}` };
  return record(ctx, {
    repo: repository.full_name,
    prNumber: payload.pull_request.number,
    headRef: payload.pull_request.head.ref,
    kind: "review",
    id: payload.review.id,
    body: payload.review.body ?? "",
    author: payload.review.user?.login ?? null,
    authorIsBot: payload.review.user?.type === "Bot",
    state: payload.review.state ?? null,
    path: null,
    line: null,
  });
}

/** pull_request_review_comment created on a fix PR → `comment` feedback for the fix's inference. */
export async function recordPullRequestReviewComment(ctx: IngestContext): Promise<HandlerResult> {
  const { repository } = parseWith(repositoryPayloadSchema, ctx.payload, "pull_request_review_comment payload");
  const payload = parseWith(reviewCommentPayload, ctx.payload, "pull_request_review_comment payload");
  if (payload.action !== "created") return { status: "ignored", note: `review comment ${payload.action}` };
  return record(ctx, {
    repo: repository.full_name,
    prNumber: payload.pull_request.number,
    headRef: payload.pull_request.head.ref,
    kind: "review-comment",
    id: payload.comment.id,
    body: payload.comment.body ?? "",
    author: payload.comment.user?.login ?? null,
    authorIsBot: payload.comment.user?.type === "Bot",
    state: null,
    path: payload.comment.path ?? null,
    line: payload.comment.line ?? null,
  });
}

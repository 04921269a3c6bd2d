import { parseWith, repositoryPayloadSchema, toWorkflowRunRow, workflowRunSchema } from "../ingest/map.js";
import { upsertCiRun } from "../store/records.js";
import { nowIso } from "../time.js";
import { reactToCompletedRun, triggerFromWorkflowRun } from "./fix-trigger.js";
import { upsertResult, type HandlerResult, type IngestContext } from "./types.js";

/** workflow_run requested / in_progress / completed → one ci_runs row per run id. */
export async function recordWorkflowRun(ctx: IngestContext): Promise<HandlerResult> {
  const { repository } = parseWith(repositoryPayloadSchema, ctx.payload, "workflow_run payload");
  const run = parseWith(workflowRunSchema, ctx.payload.workflow_run, "workflow_run.workflow_run");
  const source = ctx.bodyStored ? { deliveryId: ctx.deliveryId, path: "$.workflow_run" } : undefined;
  const stored = upsertResult(await upsertCiRun(ctx.store.db, toWorkflowRunRow(repository.full_name, run, nowIso()), source));
  if (ctx.payload.action !== "completed" || stored.note) return stored;
  return reactToCompletedRun(ctx, triggerFromWorkflowRun(ctx.payload, run));
}

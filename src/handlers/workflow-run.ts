import { parseWith, repositoryPayloadSchema, toWorkflowRunRow, workflowRunSchema } from "../ingest/map.js";
import { upsertCiRun } from "../store/records.js";
import { nowIso } from "../time.js";
import { upsertResult, type HandlerResult, type IngestContext } from "./types.js";

/** workflow_run requested / in_progress / completed → one ci_runs row per run id. */
export async function recordWorkflowRun(ctx: IngestContext): Promise<HandlerResult> {
  const { repository } = parseWith(repositoryPayloadSchema, ctx.payload, "workflow_run payload");
  const run = parseWith(workflowRunSchema, ctx.payload.workflow_run, "workflow_run.workflow_run");
  return upsertResult(await upsertCiRun(ctx.store.db, toWorkflowRunRow(repository.full_name, run, nowIso())));
}

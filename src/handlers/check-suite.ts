import { checkSuiteSchema, isActionsSuite, parseWith, repositoryPayloadSchema, toCheckSuiteRow } from "../ingest/map.js";
import { upsertCiRun } from "../store/records.js";
import { nowIso } from "../time.js";
import { reactToCompletedRun, triggerFromCheckSuite } from "./fix-trigger.js";
import { upsertResult, type HandlerResult, type IngestContext } from "./types.js";

/** check_suite of other CI apps (CircleCI, Buildkite, …); Actions suites are covered by workflow_run. */
export async function recordCheckSuite(ctx: IngestContext): Promise<HandlerResult> {
  const { repository } = parseWith(repositoryPayloadSchema, ctx.payload, "check_suite payload");
  const suite = parseWith(checkSuiteSchema, ctx.payload.check_suite, "check_suite.check_suite");
  if (isActionsSuite(suite)) return { status: "ignored", note: "GitHub Actions suite: recorded through workflow_run" };
  const source = ctx.bodyStored ? { deliveryId: ctx.deliveryId, path: "$.check_suite" } : undefined;
  const stored = upsertResult(await upsertCiRun(ctx.store.db, toCheckSuiteRow(repository.full_name, suite, nowIso()), source));
  if (ctx.payload.action !== "completed" || stored.note) return stored;
  return reactToCompletedRun(ctx, triggerFromCheckSuite(ctx.payload, suite));
}

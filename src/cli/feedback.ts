/** `fixloop feedback list|retry|drain`: look into the outbox to TensorZero, revive dead rows, send now. */
import { Option, type Command } from "commander";
import { pino } from "pino";
import { countDueFeedback, drainFeedbackOutbox } from "../outcomes/outbox.js";
import { feedbackCounts, getFeedback, listFeedback, retryFeedback } from "../outcomes/outbox-admin.js";
import type { FeedbackRow } from "../store/schema.js";
import type { FeedbackStatus } from "../store/feedback.js";
import { FEEDBACK_STATUSES } from "../store/schema.js";
import { gatewayConfigFromEnv } from "../tensorzero/gateway.js";
import { positiveInt } from "./parsers.js";
import { oneLine, printJson, printTable, withStore } from "./shared.js";

/**
 * One table cell from text we do not control (review comments, gateway errors):
 * one line, bounded, and without control characters a terminal would act on.
 */
export function cell(text: string | null | undefined, width: number): string | null {
  return oneLine(text?.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " "), width);
}

/** Ids are UUIDv7: the head is a timestamp shared by neighbours, the tail tells them apart. */
function shortTarget(row: FeedbackRow): string {
  const id = row.targetId.length > 12 ? `…${row.targetId.slice(-12)}` : row.targetId;
  return `${row.targetType} ${id}`;
}

/** Text values (comments, demonstrated diffs) as words, not JSON escapes; anything else as JSON. */
function shortValue(value: unknown): string | null {
  if (typeof value === "string") return `"${cell(value, 28)}"`;
  return cell(JSON.stringify(value) ?? "", 30);
}

export function feedbackRow(row: FeedbackRow): Record<string, unknown> {
  return {
    id: row.id,
    metric: row.dedupKey ? `${row.metricName}[${cell(row.dedupKey, 16)}]` : row.metricName,
    target: shortTarget(row),
    value: shortValue(row.value),
    status: row.status,
    tries: row.tries,
    // A sent or dead row has no next try; showing its last schedule would mislead.
    next_try: row.status === "pending" ? row.nextTryAt : null,
    // Every row is about /feedback: the rest of the message is what matters in a narrow column.
    last_error: cell(row.lastError?.replace(/^TensorZero \/feedback /, ""), 72),
    sent_at: row.sentAt,
  };
}

export const FEEDBACK_COLUMNS = ["id", "metric", "target", "value", "status", "tries", "next_try", "last_error", "sent_at"];

export function registerFeedbackCommand(program: Command): void {
  const command = program.command("feedback").description("Inspect the feedback outbox to TensorZero, retry dead rows, drain it now");

  command
    .command("list")
    .description("List feedback rows, most recent first")
    .addOption(new Option("--status <status>", "only rows with this status").choices(FEEDBACK_STATUSES))
    .option("--metric <name>", "only this metric (e.g. fixloop_ci_passed, demonstration, comment)")
    .option("--limit <n>", "at most this many rows", positiveInt, 100)
    .option("--json", "print JSON")
    .action(async (o: { status?: FeedbackStatus; metric?: string; limit: number; json?: boolean }) => {
      const status = o.status;
      const rows = await withStore((store) => listFeedback(store, { status, metric: o.metric, limit: o.limit }));
      if (o.json) return printJson(rows);
      printTable(rows.map(feedbackRow), FEEDBACK_COLUMNS);
    });

  command
    .command("retry")
    .description("Make dead and pending rows (or one, with --id) due now, with their tries reset; sent rows are never resent")
    .option("--id <n>", "only this row", positiveInt)
    .action(async (o: { id?: number }) => {
      const { changed, row } = await withStore(async (store) => {
        const row = o.id === undefined ? null : await getFeedback(store, o.id);
        return { changed: await retryFeedback(store, { id: o.id }), row };
      });
      if (o.id !== undefined) {
        if (!row) throw new Error(`no feedback row with id ${o.id}`);
        if (changed === 0) throw new Error(`feedback ${o.id} was already sent (${row.sentAt ?? "?"}, gateway id ${row.gatewayFeedbackId ?? "?"}); it is not sent twice`);
      }
      console.log(`${changed} feedback row${changed === 1 ? "" : "s"} due now`);
    });

  command
    .command("drain")
    .description("Send the due rows to the gateway at TENSORZERO_URL once, now")
    .option("--limit <n>", "try at most this many rows", positiveInt, 500)
    .option("--json", "print JSON")
    .action(async (o: { limit: number; json?: boolean }) => {
      const { result, gatewaySet, counts } = await withStore(async (store) => {
        // Read after withStore loaded .env.
        const gateway = gatewayConfigFromEnv();
        const log = pino({ level: process.env.LOG_LEVEL ?? "warn" }, pino.destination(2));
        const result = await drainFeedbackOutbox({ store, gateway, log, limit: o.limit });
        return { result, gatewaySet: gateway !== null, counts: { ...(await feedbackCounts(store)), due: await countDueFeedback(store) } };
      });
      if (o.json) return printJson({ ...result, gatewayConfigured: gatewaySet, counts });
      if (!gatewaySet) {
        console.log(`TENSORZERO_URL is not set: nothing sent; ${result.skipped} due row${result.skipped === 1 ? "" : "s"} wait in the outbox`);
        return;
      }
      console.log(`sent ${result.sent}, retrying ${result.retrying}, dead ${result.dead}, skipped ${result.skipped}`);
      console.log(`outbox now: ${counts.pending} pending (${counts.due} due), ${counts.sent} sent, ${counts.dead} dead`);
    });
}

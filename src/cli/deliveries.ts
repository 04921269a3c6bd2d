/** `fixloop deliveries list|show|replay`: the webhook inbox, read and replayed without SQL. */
import { Option, type Command } from "commander";
import { pino } from "pino";
import { createInbox } from "../inbox/index.js";
import { deliveryOutcomeLine } from "../inbox/lines.js";
import { createLibsqlQueue } from "../queue/index.js";
import { replayStoredDelivery } from "../replay/stored.js";
import { DELIVERY_STATUSES, getDelivery, listDeliveries, type DeliveryStatus } from "../store/delivery-queries.js";
import { parseSince } from "../time.js";
import { positiveInt } from "./parsers.js";
import { oneLine, printJson, printTable, withStore } from "./shared.js";

export function registerDeliveriesCommand(program: Command): void {
  const command = program.command("deliveries").description("List, show and replay recorded webhook deliveries");

  command
    .command("list")
    .description("List deliveries, newest first (no payloads)")
    .addOption(new Option("--status <status>", "only deliveries with this status").choices(DELIVERY_STATUSES))
    .option("--event <name>", "only this event, e.g. workflow_run")
    .option("--repo <owner/repo>", "only this repository")
    .option("--since <age|date>", "received since, e.g. 2h, 7d or 2024-05-01")
    .option("--limit <n>", "at most this many rows", positiveInt, 50)
    .option("--json", "print JSON")
    .action(async (o: { status?: DeliveryStatus; event?: string; repo?: string; since?: string; limit: number; json?: boolean }) => {
      const rows = await withStore((store) =>
        listDeliveries(store.db, {
          status: o.status,
          event: o.event,
          repo: o.repo,
          since: o.since ? parseSince(o.since) : undefined,
          limit: o.limit,
        }),
      );
      if (o.json) return printJson(rows);
      printTable(
        rows.map((r) => ({
          id: r.id,
          event: r.action ? `${r.event}.${r.action}` : r.event,
          repo: r.repoSlug,
          status: r.status,
          tries: r.attempts,
          received: r.receivedAt,
          "error / note": oneLine(r.error ?? r.note, 60),
        })),
        ["id", "event", "repo", "status", "tries", "received", "error / note"],
      );
    });

  command
    .command("show")
    .description("Show one delivery: every field, and the payload with --payload")
    .argument("<id>", "the delivery id (X-GitHub-Delivery)")
    .option("--payload", "print the stored payload too")
    .option("--json", "print JSON (payload included)")
    .action(async (id: string, o: { payload?: boolean; json?: boolean }) => {
      const row = await withStore((store) => getDelivery(store.db, id));
      if (!row) throw new Error(`no delivery ${id}`);
      if (o.json) return printJson(row);
      const fields: [string, unknown][] = [
        ["id", row.id],
        ["event", row.action ? `${row.event}.${row.action}` : row.event],
        ["repo", row.repoSlug],
        ["installation", row.installationId],
        ["status", row.status],
        ["error", row.error],
        ["note", row.note],
        ["tries", row.attempts],
        ["received", row.receivedAt],
        ["processed", row.processedAt],
        ["next try", row.nextAttemptAt],
      ];
      const width = Math.max(...fields.map(([name]) => name.length)) + 2;
      for (const [name, value] of fields) console.log(`${`${name}:`.padEnd(width)}${value === null || value === undefined ? "-" : String(value)}`);
      if (o.payload) console.log(`payload:\n${JSON.stringify(row.payload, null, 2)}`);
      else if (row.status === "failed") console.log(`\nreplay it with: fixloop deliveries replay ${row.id}`);
    });

  command
    .command("replay")
    .description("Process stored deliveries again through the inbox (a failed one is requeued and processed now; a processed one answers duplicate)")
    .argument("<ids...>", "delivery ids")
    .option("--json", "print JSON")
    .action(async (ids: string[], o: { json?: boolean }) => {
      const log = pino({ level: process.env.LOG_LEVEL ?? "warn" });
      const results = await withStore(async (store) => {
        const inbox = createInbox({ store, log, queue: createLibsqlQueue(store) });
        const out = [];
        for (const id of ids) out.push({ id, ...(await replayStoredDelivery({ store, inbox }, id)) });
        return out;
      });
      if (o.json) printJson(results);
      else for (const r of results) console.log(r.found ? deliveryOutcomeLine({ id: r.id, event: r.event, action: r.action, repo: r.repo }, r.answer) : `delivery ${r.id}: not found`);
      if (results.some((r) => !r.found || r.answer.status === "failed" || r.answer.status === "retry")) process.exitCode = 1;
    });
}

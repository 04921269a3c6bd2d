import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { fixloopApp } from "../app.js";
import { receiveWithAnswer } from "../http/answer-slot.js";
import { parseRecordedDeliveries, ReplayInputError } from "../replay/deliveries.js";
import { deliveryLabel, deliveryOutcomeLine } from "../inbox/lines.js";
import { inProcessProbot, printJson, withStore } from "./shared.js";

type Tally = Record<"processed" | "ignored" | "duplicate" | "queued" | "failed", number>;

const emptyTally = (): Tally => ({ processed: 0, ignored: 0, duplicate: 0, queued: 0, failed: 0 });
const describe = (t: Tally) =>
  `${t.processed} processed, ${t.ignored} ignored, ${t.duplicate} duplicate, ${t.failed} failed` + (t.queued ? `, ${t.queued} queued` : "");

export function registerReplayCommand(program: Command): void {
  program
    .command("replay")
    .description("Run recorded deliveries through the app in-process against DATABASE_URL")
    .argument("<files...>", "payload files (<event>.<action>[.x].json) or envelope files ({event|name, id, payload}, or an array)")
    .option("-e, --event <name>", "event name for bare payloads whose file name does not say it")
    .option("--json", "print the results as JSON")
    .action(async (files: string[], options: { event?: string; json?: boolean }) => {
      const results = await withStore(async (store) => {
        const probot = inProcessProbot();
        await probot.load(fixloopApp({ store }));
        const perFile: { file: string; deliveries: number; tally: Tally; errors: string[]; recorded: string[] }[] = [];
        for (const file of files) {
          const tally = emptyTally();
          const errors: string[] = [];
          const recorded: string[] = [];
          let count = 0;
          try {
            const deliveries = parseRecordedDeliveries(await readFile(file, "utf8"), file, options.event);
            count = deliveries.length;
            for (const delivery of deliveries) {
              const answer = await receiveWithAnswer(probot, delivery);
              // A failure the inbox will try again still failed here: say so, with when.
              tally[answer.status === "retry" ? "failed" : answer.status] += 1;
              if (answer.status === "failed") errors.push(`${delivery.name} ${delivery.id}: ${answer.error}`);
              else if (answer.status === "retry") errors.push(`${delivery.name} ${delivery.id}: ${answer.error} (stored; retried from ${answer.retryAt})`);
              else recorded.push(deliveryOutcomeLine(deliveryLabel(delivery.id, delivery.name, delivery.payload), answer));
            }
          } catch (error) {
            if (!(error instanceof ReplayInputError) && (error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
            tally.failed += 1;
            errors.push((error as Error).message);
          }
          perFile.push({ file, deliveries: count, tally, errors, recorded });
        }
        return perFile;
      });
      const total = results.reduce((sum, r) => {
        for (const key of Object.keys(sum) as (keyof Tally)[]) sum[key] += r.tally[key];
        return sum;
      }, emptyTally());
      const deliveries = results.reduce((n, r) => n + r.deliveries, 0);
      if (options.json) {
        printJson({ files: results, total: { files: results.length, deliveries, ...total } });
      } else {
        for (const r of results) {
          console.log(`${r.file}: ${r.deliveries} ${r.deliveries === 1 ? "delivery" : "deliveries"}: ${describe(r.tally)}`);
          for (const line of r.recorded) console.log(`  ${line}`);
          for (const e of r.errors) console.log(`  error: ${e}`);
        }
        console.log(`total: ${results.length} files, ${deliveries} deliveries: ${describe(total)}`);
      }
      if (total.failed > 0) process.exitCode = 1;
    });
}

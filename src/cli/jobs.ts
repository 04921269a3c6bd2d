/** `fixloop jobs list|show|retry`: look into the durable job queue and put failed work back in line. */
import { Option, type Command } from "commander";
import { getJob, jobReason, listJobs, retryJob } from "../queue/index.js";
import { JOB_STATUSES, type Job, type JobStatus } from "../store/schema.js";
import { positiveInt } from "./parsers.js";
import { oneLine as flatten, printJson, printTable, withStore } from "./shared.js";

const REASON_WIDTH = 60;

/** Errors can be long and multi-line; a table row gets their first words. */
export function oneLine(text: string | null, width = REASON_WIDTH): string | null {
  return flatten(text, width);
}

export function jobRow(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    attempts: `${job.attempts}/${job.maxAttempts}`,
    run_after: job.runAfter,
    reason: oneLine(jobReason(job)),
    updated: job.updatedAt,
  };
}

const JOB_COLUMNS = ["id", "kind", "status", "attempts", "run_after", "reason", "updated"];

function pretty(value: unknown): string {
  return value === null || value === undefined ? "-" : JSON.stringify(value, null, 2);
}

/** Every field of a job, JSON columns pretty-printed, for `jobs show`. */
export function describeJob(job: Job): string {
  const fields: [string, unknown][] = [
    ["id", job.id],
    ["kind", job.kind],
    ["status", job.status],
    ["reason", jobReason(job)],
    ["attempts", `${job.attempts} of ${job.maxAttempts}`],
    ["run after", job.runAfter],
    ["dedup key", job.dedupKey],
    ["lease owner", job.leaseOwner],
    ["lease expires", job.leaseExpiresAt],
    ["last error", job.lastError],
    ["created", job.createdAt],
    ["updated", job.updatedAt],
  ];
  const width = Math.max(...fields.map(([name]) => name.length));
  const lines = fields.map(([name, value]) => `${`${name}:`.padEnd(width + 2)}${value === null || value === undefined ? "-" : String(value)}`);
  return [...lines, "payload:", pretty(job.payload), "result:", pretty(job.result)].join("\n");
}

export function registerJobsCommand(program: Command): void {
  const jobs = program.command("jobs").description("Inspect the durable job queue and retry jobs");

  jobs
    .command("list")
    .description("List jobs, most recent first, with why each is where it is")
    .addOption(new Option("--status <status>", "only jobs with this status").choices(JOB_STATUSES))
    .option("--kind <kind>", "only jobs of this kind")
    .option("--limit <n>", "at most this many rows", positiveInt, 100)
    .option("--json", "print JSON")
    .action(async (o: { status?: JobStatus; kind?: string; limit: number; json?: boolean }) => {
      const status = o.status;
      const rows = await withStore((store) => listJobs(store, { status, kind: o.kind, limit: o.limit }));
      if (o.json) return printJson(rows);
      printTable(rows.map(jobRow), JOB_COLUMNS);
    });

  jobs
    .command("show")
    .description("Show one job: status, attempts, lease, errors, payload and result")
    .argument("<id>", "job id", positiveInt)
    .option("--json", "print JSON")
    .action(async (id: number, o: { json?: boolean }) => {
      const job = await withStore((store) => getJob(store, id));
      if (!job) throw new Error(`no job with id ${id}`);
      if (o.json) return printJson(job);
      console.log(describeJob(job));
    });

  jobs
    .command("retry")
    .description("Queue a job that finished (done, failed, dead, skipped) or is waiting to run now, with its attempts reset")
    .argument("<id>", "job id", positiveInt)
    .action(async (id: number) => {
      const { before, after } = await withStore(async (store) => {
        const before = await getJob(store, id);
        return { before, after: before ? await retryJob(store, id) : null };
      });
      if (!before) throw new Error(`no job with id ${id}`);
      if (!after) {
        const current = before.status === "running" ? before : null;
        const holder = current ? ` (lease held by ${current.leaseOwner ?? "?"} until ${current.leaseExpiresAt ?? "?"})` : "";
        throw new Error(`job ${id} is running${holder}; it cannot be retried until it finishes or its lease expires`);
      }
      const was = jobReason(before);
      console.log(
        `job ${id} (${after.kind}): ${before.status} → queued, due ${after.runAfter}, attempts reset to 0 of ${after.maxAttempts}` +
          (was ? `\n  was: ${oneLine(was, 200)}` : ""),
      );
    });
}

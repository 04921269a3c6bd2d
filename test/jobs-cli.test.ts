import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { oneLine, registerJobsCommand } from "../src/cli/jobs.js";
import { claimNextJob, createLibsqlQueue, createWorker, getJob, PermanentJobError } from "../src/queue/index.js";
import { createTempStore, type TempStore } from "./helpers.js";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;

let store: TempStore;
let savedUrl: string | undefined;
beforeEach(async () => {
  store = await createTempStore();
  savedUrl = process.env.DATABASE_URL;
  process.env.DATABASE_URL = `file:${join(store.dir, "fixloop.db")}`;
});
afterEach(() => {
  if (savedUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedUrl;
  vi.restoreAllMocks();
  store.dispose();
});

/** Runs `fixloop jobs …` in this process and returns what it printed. */
async function jobs(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerJobsCommand(program);
  let out = "";
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void (out += `${parts.join(" ")}\n`));
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(["jobs", ...args], { from: "user" });
  } finally {
    vi.restoreAllMocks();
  }
  return out;
}

/** A small queue with one job in each interesting state. */
async function seed() {
  const queue = createLibsqlQueue(store);
  const done = await queue.enqueue("fix", { run: 1 });
  const skipped = await queue.enqueue("fix", { run: 2 });
  const failed = await queue.enqueue("fix", { run: 3 });
  const feedback = await queue.enqueue("feedback", { metric: "ci_passed" });
  await createWorker({
    store,
    log: pino({ level: "silent" }),
    concurrency: 1,
    handlers: {
      fix: async (payload: { run: number }) => {
        if (payload.run === 2) return { status: "skipped", reason: "budget: daily model spend reached" };
        if (payload.run === 3) throw new PermanentJobError("run 3 is on a fork:\nsuggest in a comment instead");
        return { status: "done", result: { pr: 12 } };
      },
      feedback: async () => ({ status: "wait", delayMs: 60_000, reason: "gateway circuit breaker open" }),
    },
  }).runDue();
  return { done: done.id, skipped: skipped.id, failed: failed.id, feedback: feedback.id };
}

describe("fixloop jobs", () => {
  test("list shows every job with its attempts and why it is where it is; filters narrow it", async () => {
    const queue = createLibsqlQueue(store);
    const runningId = (await queue.enqueue("slow", { run: 0 })).id;
    await claimNextJob(store, "host:1:abc#1", 60_000);
    const ids = await seed();

    const table = await jobs("list");
    const lines = table.trim().split("\n");
    expect(lines[0].split(/\s+/)).toEqual(["id", "kind", "status", "attempts", "run_after", "reason", "updated"]);
    const row = (id: number) => lines.find((line) => line.startsWith(`${id} `))!;
    expect(row(ids.skipped)).toMatch(/fix\s+skipped\s+1\/5 .* budget: daily model spend reached /);
    expect(row(ids.failed)).toMatch(/fix\s+failed\s+1\/5 .* PermanentJobError: run 3 is on a fork: suggest in a comment… /);
    expect(row(ids.feedback)).toMatch(/feedback\s+queued\s+0\/5 .* waiting: gateway circuit breaker open /);
    expect(row(ids.done)).toMatch(/fix\s+done\s+1\/5 /);
    expect(row(runningId)).toMatch(/slow\s+running\s+1\/5 /);

    const skippedOnly = await jobs("list", "--status", "skipped");
    expect(skippedOnly.trim().split("\n").slice(1).map((line) => Number(line.split(" ")[0]))).toEqual([ids.skipped]);
    const fixJson = JSON.parse(await jobs("list", "--kind", "fix", "--limit", "2", "--json"));
    expect(fixJson.map((j: { id: number }) => j.id)).toEqual([ids.failed, ids.skipped]);
    expect(fixJson[1].result).toEqual({ reason: "budget: daily model spend reached" });
    expect(await jobs("list", "--kind", "nothing-here")).toBe("(none)\n");

    await expect(jobs("list", "--status", "stuck")).rejects.toThrow(/option '--status <status>' argument 'stuck' is invalid\. Allowed choices are queued, running, done, failed, dead, skipped/);
    await expect(jobs("list", "--limit", "0")).rejects.toThrow(/option '--limit <n>' argument '0' is invalid\. expected a positive integer/);
  });

  test("show prints every field with the payload and result pretty-printed; --json prints the row", async () => {
    const ids = await seed();
    const text = await jobs("show", String(ids.done));
    expect(text).toMatch(/^id: +\d+$/m);
    expect(text).toMatch(/^status: +done$/m);
    expect(text).toMatch(/^attempts: +1 of 5$/m);
    expect(text).toMatch(/^lease owner: +\S+#\w+$/m);
    expect(text).toContain('payload:\n{\n  "run": 1\n}\nresult:\n{\n  "pr": 12\n}');

    const skipped = await jobs("show", String(ids.skipped));
    expect(skipped).toMatch(/^reason: +budget: daily model spend reached$/m);

    const json = JSON.parse(await jobs("show", String(ids.failed), "--json"));
    expect(json).toMatchObject({ id: ids.failed, status: "failed", payload: { run: 3 }, lastError: "PermanentJobError: run 3 is on a fork:\nsuggest in a comment instead" });

    await expect(jobs("show", "999")).rejects.toThrow("no job with id 999");
    await expect(jobs("show", "abc")).rejects.toThrow(/'abc' is invalid for argument 'id'\. expected a positive integer/);
  });

  test("retry requeues a finished job and says what it did; a running job is refused", async () => {
    const ids = await seed();
    const out = await jobs("retry", String(ids.failed));
    expect(out).toMatch(new RegExp(`^job ${ids.failed} \\(fix\\): failed → queued, due \\S+, attempts reset to 0 of 5\\n  was: PermanentJobError: run 3 is on a fork: suggest in a comment instead\\n$`));
    expect(await getJob(store, ids.failed)).toMatchObject({ status: "queued", attempts: 0, lastError: null });

    // The requeued job is the one due first, so another worker picks it up.
    const claimed = (await claimNextJob(store, "other-host:7:abcd#1", 60_000))!.id;
    expect(claimed).toBe(ids.failed);
    await expect(jobs("retry", String(claimed))).rejects.toThrow(
      new RegExp(`^job ${claimed} is running \\(lease held by other-host:7:abcd#1 until \\S+\\); it cannot be retried until it finishes or its lease expires$`),
    );
    await expect(jobs("retry", "4242")).rejects.toThrow("no job with id 4242");
  });

  test("oneLine flattens and trims long errors for table cells", () => {
    expect(oneLine("a\n  b\tc")).toBe("a b c");
    expect(oneLine("x".repeat(80), 10)).toBe(`${"x".repeat(9)}…`);
    expect(oneLine(null)).toBeNull();
  });

  test("the real command, through src/cli/index.ts: exit 1 and a clear message for an unknown id", async () => {
    const result = await run(join(root, "node_modules/.bin/tsx"), [join(root, "src/cli/index.ts"), "jobs", "retry", "77"], {
      cwd: store.dir,
      env: { ...process.env, DATABASE_URL: `file:${join(store.dir, "fixloop.db")}` },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("fixloop: no job with id 77");
  });
});

import { join } from "node:path";
import { Command } from "commander";
import nock from "nock";
import { v7 } from "uuid";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { registerFeedbackCommand } from "../src/cli/feedback.js";
import { COMMENT_METRIC, recordFeedback } from "../src/store/feedback.js";
import { drainFeedbackOutbox } from "../src/outcomes/outbox.js";
import { getFeedback } from "../src/outcomes/outbox-admin.js";
import { METRICS } from "../src/tensorzero/metrics.js";
import { createTempStore, silentLog, type TempStore } from "./helpers.js";

const GATEWAY = "http://tensorzero.test";
const ENV_KEYS = ["DATABASE_URL", "TENSORZERO_URL", "TENSORZERO_API_KEY", "LOG_LEVEL"] as const;

let store: TempStore;
// Probot narrows some ProcessEnv keys (LOG_LEVEL); this test only saves and restores strings.
const env = process.env as Record<string, string | undefined>;
let savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>>;
beforeEach(async () => {
  store = await createTempStore();
  savedEnv = Object.fromEntries(ENV_KEYS.map((key) => [key, env[key]]));
  for (const key of ENV_KEYS) delete env[key];
  process.env.DATABASE_URL = `file:${join(store.dir, "fixloop.db")}`;
  process.env.LOG_LEVEL = "silent";
});
afterEach(() => {
  for (const key of ENV_KEYS) {
    if (savedEnv[key] === undefined) delete env[key];
    else env[key] = savedEnv[key];
  }
  vi.restoreAllMocks();
  store.dispose();
});

/** Runs `fixloop feedback …` in this process and returns what it printed. */
async function feedback(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerFeedbackCommand(program);
  let out = "";
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void (out += `${parts.join(" ")}\n`));
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(["feedback", ...args], { from: "user" });
  } finally {
    vi.restoreAllMocks();
  }
  return out;
}

/** One sent, one dead, one pending (with a hostile comment). */
async function seed() {
  const at = new Date("2025-03-01T12:00:00.000Z");
  const sentTarget = v7();
  const deadTarget = v7();
  const pendingTarget = v7();
  const sent = await recordFeedback(store.db, { attemptId: "a1", metricName: METRICS.ciPassed, target: { type: "inference", id: sentTarget }, value: true }, at);
  const dead = await recordFeedback(store.db, { attemptId: "a1", metricName: METRICS.prMerged, target: { type: "episode", id: deadTarget }, value: false }, at);
  nock(GATEWAY).post("/feedback", { metric_name: "fixloop_ci_passed", inference_id: sentTarget, value: true }).reply(200, { feedback_id: "0192-feedback-1" });
  nock(GATEWAY).post("/feedback", { metric_name: "fixloop_pr_merged", episode_id: deadTarget, value: false }).reply(400, { error: "Unknown metric\nfixloop_pr_merged" });
  await drainFeedbackOutbox({ store, gateway: { url: GATEWAY }, log: silentLog(), now: () => at });
  const pending = await recordFeedback(
    store.db,
    { attemptId: "a1", metricName: COMMENT_METRIC, target: { type: "inference", id: pendingTarget }, value: "\u001b[2J\u001b]0;pwned\u0007 looks good \u009b31m", dedupKey: "review:9" },
    at,
  );
  return { sent: sent.id, dead: dead.id, pending: pending.id, sentTarget, deadTarget, pendingTarget };
}

describe("fixloop feedback", () => {
  test("list shows every row with its target, value, status and error; filters narrow it; --json gives rows", async () => {
    const ids = await seed();
    const table = await feedback("list");
    const lines = table.trim().split("\n");
    expect(lines[0].split(/\s+/)).toEqual(["id", "metric", "target", "value", "status", "tries", "next_try", "last_error", "sent_at"]);
    const row = (id: number) => lines.find((line) => line.startsWith(`${id} `))!;
    expect(row(ids.sent)).toMatch(new RegExp(`fixloop_ci_passed\\s+inference …${ids.sentTarget.slice(-12)}\\s+true\\s+sent\\s+1\\s+-\\s+-\\s+2025-03-01T12:00:00.000Z$`));
    expect(row(ids.dead)).toMatch(new RegExp(`fixloop_pr_merged\\s+episode …${ids.deadTarget.slice(-12)}\\s+false\\s+dead\\s+1\\s+-\\s+400: Unknown metric fixloop_pr_merged\\s+-$`));
    expect(row(ids.pending)).toMatch(/comment\[review:9\]\s+inference …\S+\s+".*looks good.*"\s+pending\s+0\s+2025-03-01T12:00:00.000Z/);
    // Review text is untrusted: no escape sequence reaches the terminal.
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(lines.map((line) => Number(line.split(/\s+/)[0])).slice(1)).toEqual([ids.pending, ids.dead, ids.sent]);

    const dead = (await feedback("list", "--status", "dead")).trim().split("\n");
    expect(dead).toHaveLength(2);
    expect(dead[1].startsWith(`${ids.dead} `)).toBe(true);
    const comments = (await feedback("list", "--metric", "comment")).trim().split("\n");
    expect(comments.slice(1).map((line) => Number(line.split(/\s+/)[0]))).toEqual([ids.pending]);
    expect((await feedback("list", "--limit", "1")).trim().split("\n")).toHaveLength(2);

    const json = JSON.parse(await feedback("list", "--json", "--status", "sent")) as { id: number; gatewayFeedbackId: string }[];
    expect(json.map((r) => [r.id, r.gatewayFeedbackId])).toEqual([[ids.sent, "0192-feedback-1"]]);

    await expect(feedback("list", "--status", "sending")).rejects.toThrow(/argument 'sending' is invalid\. Allowed choices are pending, sent, dead/);
  });

  test("retry makes dead and pending rows due now and never touches sent ones; --id picks one", async () => {
    const ids = await seed();
    expect(await feedback("retry", "--id", String(ids.dead))).toBe("1 feedback row due now\n");
    expect(await getFeedback(store, ids.dead)).toMatchObject({ status: "pending", tries: 0 });
    await expect(feedback("retry", "--id", String(ids.sent))).rejects.toThrow(/already sent .*0192-feedback-1.*not sent twice/);
    await expect(feedback("retry", "--id", "999")).rejects.toThrow(/no feedback row with id 999/);
    expect(await feedback("retry")).toBe("2 feedback rows due now\n");
    expect(await getFeedback(store, ids.sent)).toMatchObject({ status: "sent", tries: 1 });
  });

  test("drain sends the due rows to TENSORZERO_URL, and without it sends nothing and says what waits", async () => {
    const ids = await seed();
    await feedback("retry", "--id", String(ids.dead));

    expect(await feedback("drain")).toBe("TENSORZERO_URL is not set: nothing sent; 2 due rows wait in the outbox\n");

    process.env.TENSORZERO_URL = GATEWAY;
    process.env.TENSORZERO_API_KEY = "sk-t0-test";
    const scope = nock(GATEWAY, { reqheaders: { authorization: "Bearer sk-t0-test" } })
      .post("/feedback", (body: { metric_name: string }) => body.metric_name === "fixloop_pr_merged" || body.metric_name === "comment")
      .times(2)
      .reply(200, () => ({ feedback_id: v7() }));
    const out = await feedback("drain");
    expect(out).toBe("sent 2, retrying 0, dead 0, skipped 0\noutbox now: 0 pending (0 due), 3 sent, 0 dead\n");
    expect(scope.isDone()).toBe(true);

    const json = JSON.parse(await feedback("drain", "--json")) as Record<string, unknown>;
    expect(json).toEqual({ sent: 0, retrying: 0, dead: 0, skipped: 0, gatewayConfigured: true, counts: { pending: 0, sent: 3, dead: 0, due: 0 } });
    expect(await getFeedback(store, ids.pending)).toMatchObject({ status: "sent" });
  });
});

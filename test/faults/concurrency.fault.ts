/**
 * Fault: a flood of redeliveries. 1000 signed red `workflow_run` deliveries
 * with 100 distinct delivery ids (10 copies of each, shuffled) hit the live
 * server 50 at a time. 60 ids are 60 different runs; the other 40 carry a run
 * already sent under another id (GitHub re-sending an event). Expected: one
 * delivery row per id, one ci_runs row per run, one fix job per (run, attempt).
 */
import { Agent } from "node:http";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ciRuns, deliveries, jobs } from "../../src/store/schema.js";
import { sign, startTestServer, type TestServer } from "../helpers.js";
import { rawRequest } from "./support/http.js";
import { mapLimited, redRunPayload, report, shaOf, shuffled } from "./support/scenario.js";

const DISTINCT_IDS = 100;
const DISTINCT_RUNS = 60;
const COPIES = 10;
const IN_FLIGHT = 50;

let server: TestServer;
let agent: Agent;

beforeAll(async () => {
  server = await startTestServer();
  agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
});

afterAll(async () => {
  agent?.destroy();
  await server?.close();
});

async function post(body: string, deliveryId: string): Promise<{ status: number; answer: { status?: string; note?: string } }> {
  const response = await rawRequest(server.url, {
    method: "POST",
    path: "/api/github/webhooks",
    agent,
    headers: {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "x-github-event": "workflow_run",
      "x-github-delivery": deliveryId,
      "x-hub-signature-256": sign(body),
    },
    body,
  });
  return { status: response.status, answer: JSON.parse(response.body.toString("utf8") || "{}") };
}

test("1000 deliveries, 100 ids, 50 in flight: 100 delivery rows, one job per run attempt, no duplicates", async () => {
  const runIds = Array.from({ length: DISTINCT_RUNS }, (_, i) => 9_200_000_000 + i);
  const bodies = runIds.map((runId, i) => JSON.stringify(redRunPayload({ runId, headSha: shaOf(0xfade0000 + i) })));
  // Ids 0–59 are the 60 runs; ids 60–99 re-send runs 0–39 under new ids.
  const ids = Array.from({ length: DISTINCT_IDS }, (_, i) => ({ deliveryId: `flood-${i.toString().padStart(3, "0")}`, run: i % DISTINCT_RUNS }));
  const sends = shuffled(
    ids.flatMap((id) => Array.from({ length: COPIES }, () => id)),
    20240502,
  );

  // The processor runs while the flood comes in, as in the server: appends and processing interleave.
  server.inbox.processor.start();
  const started = performance.now();
  const answers = await mapLimited(sends, IN_FLIGHT, (send) => post(bodies[send.run], send.deliveryId));
  const elapsedMs = performance.now() - started;
  await server.inbox.processor.stop();
  const leftAfterFlood = await server.inbox.processor.drain();

  const statuses = new Map<number, number>();
  const kinds = new Map<string, number>();
  for (const { status, answer } of answers) {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    kinds.set(String(answer.status), (kinds.get(String(answer.status)) ?? 0) + 1);
  }
  const acceptedIds = new Set(answers.flatMap((a, i) => (a.answer.status === "accepted" ? [sends[i].deliveryId] : [])));

  const db = server.store.db;
  const [deliveryRows] = await db.select({ n: sql<number>`count(*)`, ids: sql<number>`count(distinct ${deliveries.id})`, processed: sql<number>`sum(${deliveries.status} = 'processed')`, attempts: sql<number>`max(${deliveries.attempts})` }).from(deliveries);
  const notes = (await db.select({ note: deliveries.note }).from(deliveries)).map((r) => r.note ?? "");
  const enqueuedNotes = notes.filter((note) => /^fix job \d+ enqueued$/.test(note)).length;
  const alreadyNotes = notes.filter((note) => /^fix job \d+ already enqueued$/.test(note)).length;
  const [runRows] = await db.select({ n: sql<number>`count(*)`, runs: sql<number>`count(distinct ${ciRuns.runId})` }).from(ciRuns);
  const jobRows = await db.select({ id: jobs.id, kind: jobs.kind, dedupKey: jobs.dedupKey, payload: jobs.payload }).from(jobs);
  const jobRunAttempts = new Set(jobRows.map((j) => `${(j.payload as { runId: string }).runId}#${(j.payload as { runAttempt: number }).runAttempt}`));
  const duplicateJobs = jobRows.length - new Set(jobRows.map((j) => j.dedupKey)).size;

  report(
    "flood",
    `${sends.length} sent (${DISTINCT_IDS} ids × ${COPIES}, ${IN_FLIGHT} in flight, processor running) in ${Math.round(elapsedMs)} ms; HTTP ${JSON.stringify(Object.fromEntries(statuses))}; answers ${JSON.stringify(Object.fromEntries(kinds))}; ` +
      `left to process when the flood ended ${leftAfterFlood}; rows: deliveries ${deliveryRows.n} (${deliveryRows.ids} distinct ids, ${deliveryRows.processed} processed, max tries ${deliveryRows.attempts}), ci_runs ${runRows.n} (${runRows.runs} runs), jobs ${jobRows.length} for ${jobRunAttempts.size} distinct run attempts; duplicate jobs ${duplicateJobs}; ` +
      `notes: ${enqueuedNotes} "enqueued", ${alreadyNotes} "already enqueued"`,
  );

  expect(Object.fromEntries(statuses)).toEqual({ 202: DISTINCT_IDS, 200: sends.length - DISTINCT_IDS });
  expect(kinds.get("accepted")).toBe(DISTINCT_IDS);
  expect(kinds.get("duplicate")).toBe(sends.length - DISTINCT_IDS);
  expect(acceptedIds.size).toBe(DISTINCT_IDS);
  expect(Number(deliveryRows.n)).toBe(DISTINCT_IDS);
  expect(Number(deliveryRows.ids)).toBe(DISTINCT_IDS);
  expect(Number(deliveryRows.processed)).toBe(DISTINCT_IDS);
  // No delivery was ever processed twice.
  expect(Number(deliveryRows.attempts)).toBe(1);
  expect(Number(runRows.n)).toBe(DISTINCT_RUNS);
  expect(Number(runRows.runs)).toBe(DISTINCT_RUNS);
  expect(jobRows).toHaveLength(DISTINCT_RUNS);
  expect(jobRows.every((j) => j.kind === "fix")).toBe(true);
  expect(jobRunAttempts.size).toBe(DISTINCT_RUNS);
  expect(duplicateJobs).toBe(0);
  // Each run's job was created by exactly one of the deliveries naming it.
  expect(enqueuedNotes).toBe(DISTINCT_RUNS);
  expect(alreadyNotes).toBe(DISTINCT_IDS - DISTINCT_RUNS);
});
